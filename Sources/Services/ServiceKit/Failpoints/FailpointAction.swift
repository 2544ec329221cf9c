/// What a failpoint does when it fires.
public enum FailpointAction: Sendable, Equatable, CustomStringConvertible {
    /// The process dies on the spot (SIGKILL to itself: no cleanup, no flush, as `kill -9`).
    case crash
    /// The code path throws `FailpointError.injected`.
    case error(String)
    /// The code path is held up for the duration, then goes on.
    case delay(Duration)

    public var description: String {
        switch self {
        case .crash: "crash"
        case let .error(message): message.isEmpty ? "error" : "error(\(message))"
        case let .delay(duration): "delay(\(duration.milliseconds)ms)"
        }
    }
}

/// A failpoint's configuration: its action and when it fires.
public struct FailpointSpec: Sendable, Equatable, CustomStringConvertible {
    public var action: FailpointAction
    /// Hits let through before the first firing (fires on hit `after + 1`).
    public var after: Int
    /// Firings at most; nil = every hit from then on.
    public var times: Int?

    public init(action: FailpointAction, after: Int = 0, times: Int? = nil) {
        self.action = action
        self.after = after
        self.times = times
    }

    public var description: String {
        var text = action.description
        if after > 0 { text += ",after=\(after)" }
        if let times { text += ",times=\(times)" }
        return text
    }

    /// Parses `ACTION[,after=N][,times=M]` where ACTION is `crash`, `error`, `error(message)`
    /// or `delay(MS)` (milliseconds).
    public static func parse(_ text: String) throws(FailpointError) -> FailpointSpec {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard let head = parts.first, !head.isEmpty else { throw .invalidSpec(text, "no action") }
        var spec = FailpointSpec(action: try parseAction(head, in: text))
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let value = Int(pair[1]), value >= 0 else {
                throw .invalidSpec(text, "option '\(option)' is not NAME=COUNT")
            }
            switch pair[0] {
            case "after": spec.after = value
            case "times": spec.times = value
            default: throw .invalidSpec(text, "unknown option '\(pair[0])' (after, times)")
            }
        }
        return spec
    }

    private static func parseAction(_ head: String, in text: String) throws(FailpointError) -> FailpointAction {
        if head == "crash" { return .crash }
        if head == "error" { return .error("") }
        func argument(_ prefix: String) -> String? {
            guard head.hasPrefix(prefix + "("), head.hasSuffix(")") else { return nil }
            return String(head.dropFirst(prefix.count + 1).dropLast())
        }
        if let message = argument("error") { return .error(message) }
        if let ms = argument("delay") {
            guard let value = Int(ms.hasSuffix("ms") ? String(ms.dropLast(2)) : ms), value >= 0 else {
                throw .invalidSpec(text, "delay takes milliseconds, e.g. delay(250)")
            }
            return .delay(.milliseconds(value))
        }
        throw .invalidSpec(text, "unknown action '\(head)' (crash, error, error(MESSAGE), delay(MS))")
    }
}

public enum FailpointError: Error, Equatable, CustomStringConvertible {
    /// Thrown where an `error` failpoint fired.
    case injected(name: String, message: String)
    case invalidSpec(String, String)
    case unknownFailpoint(String, known: [String])

    public var description: String {
        switch self {
        case let .injected(name, message): "failpoint \(name) injected an error" + (message.isEmpty ? "" : ": \(message)")
        case let .invalidSpec(text, why): "invalid failpoint spec '\(text)': \(why)"
        case let .unknownFailpoint(name, known): "unknown failpoint '\(name)'; this service has: \(known.joined(separator: ", "))"
        }
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Which way bytes travel through a route.
public enum ProxyDirection: String, Sendable, CaseIterable {
    /// Client to server (requests).
    case upstream
    /// Server to client (responses).
    case downstream
}

/// A network or protocol fault on one route. Active until removed; `reset` and `down` act on
/// the connections present when they are set.
public struct Fault: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Holds each chunk for `ms` ± `jitterMs` (order preserved).
        case latency(ms: Int, jitterMs: Int)
        /// Swallows the bytes: nothing reaches the other side, nothing answers.
        case blackhole
        /// Aborts every open connection of the route with a TCP RST (one-shot).
        case reset
        /// Refuses new connections (the listener closes) and cuts the open ones, until `up`.
        case down
        /// Closes a connection after this many bytes have passed in the direction.
        case closeAfter(bytes: Int)
        /// Writes in pieces of `bytes` with `delayMs` between them.
        case slice(bytes: Int, delayMs: Int)
        /// Limits the direction to `bytesPerSecond` per connection: bytes leave in pieces paced
        /// so that the rate over any interval of ~10 ms or more stays under the limit.
        case bandwidth(bytesPerSecond: Int)
        /// Fails a command/API: RESP answers `-ERR message` without forwarding; MySQL answers
        /// an ERR packet (code 1105) without forwarding; Kafka answers the request with a well-formed
        /// error response of its API and version (the message names the error: `NOT_LEADER_OR_FOLLOWER`
        /// or `6`; see `KafkaErrorResponse` for the APIs answered), other Kafka APIs close the connection.
        case fail(command: String, message: String)
        /// Delays frames of one command/API by `ms`.
        case delay(command: String, ms: Int)
    }

    public var kind: Kind
    /// Nil: both directions (for the kinds where direction matters).
    public var direction: ProxyDirection?

    public init(_ kind: Kind, direction: ProxyDirection? = nil) {
        self.kind = kind
        self.direction = direction
    }

    public func applies(to direction: ProxyDirection) -> Bool {
        self.direction == nil || self.direction == direction
    }

    public var kindName: String {
        switch kind {
        case .latency: return "latency"
        case .blackhole: return "blackhole"
        case .reset: return "reset"
        case .down: return "down"
        case .closeAfter: return "close-after"
        case .slice: return "slice"
        case .bandwidth: return "bandwidth"
        case .fail: return "fail"
        case .delay: return "delay"
        }
    }

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("kind", .string(kindName))]
        pairs.append(("direction", .string(direction?.rawValue ?? "both")))
        switch kind {
        case let .latency(ms, jitter): pairs += [("ms", .int(Int64(ms))), ("jitter", .int(Int64(jitter)))]
        case let .closeAfter(bytes): pairs.append(("bytes", .int(Int64(bytes))))
        case let .slice(bytes, delay): pairs += [("bytes", .int(Int64(bytes))), ("ms", .int(Int64(delay)))]
        case let .bandwidth(rate): pairs.append(("rate", .int(Int64(rate))))
        case let .fail(command, message): pairs += [("command", .string(command)), ("message", .string(message))]
        case let .delay(command, ms): pairs += [("command", .string(command)), ("ms", .int(Int64(ms)))]
        case .blackhole, .reset, .down: break
        }
        return .object(pairs)
    }

    /// Builds a fault from admin query parameters: `kind` plus `ms`, `jitter`, `bytes`,
    /// `command`, `message`, `rate` (bytes/s), `direction` (upstream|downstream|both).
    public static func parse(_ parameters: [String: String]) throws(ProxyError) -> Fault {
        func int(_ name: String, default value: Int? = nil) throws(ProxyError) -> Int {
            if let raw = parameters[name] {
                guard let parsed = Int(raw), parsed >= 0 else { throw .invalid("\(name) must be a non-negative integer, got \(raw)") }
                return parsed
            }
            if let value { return value }
            throw .invalid("missing parameter \(name)")
        }
        func text(_ name: String) throws(ProxyError) -> String {
            guard let value = parameters[name], !value.isEmpty else { throw .invalid("missing parameter \(name)") }
            return value
        }
        var direction: ProxyDirection?
        if let raw = parameters["direction"], raw != "both" {
            guard let parsed = ProxyDirection(rawValue: raw) else { throw .invalid("direction must be upstream, downstream or both") }
            direction = parsed
        }
        guard let kind = parameters["kind"] else { throw .invalid("missing parameter kind") }
        switch kind {
        case "latency": return Fault(.latency(ms: try int("ms"), jitterMs: try int("jitter", default: 0)), direction: direction)
        case "blackhole": return Fault(.blackhole, direction: direction)
        case "reset": return Fault(.reset, direction: direction)
        case "down": return Fault(.down, direction: direction)
        case "close-after", "close_after": return Fault(.closeAfter(bytes: try int("bytes")), direction: direction)
        case "slice": return Fault(.slice(bytes: max(1, try int("bytes", default: 1)), delayMs: try int("ms", default: 1)), direction: direction)
        case "bandwidth":
            let rate = try int("rate")
            guard rate > 0 else { throw .invalid("rate must be at least 1 byte/s") }
            return Fault(.bandwidth(bytesPerSecond: rate), direction: direction)
        case "fail":
            return Fault(.fail(command: try text("command"), message: parameters["message"] ?? "injected by lab proxy"), direction: direction)
        case "delay": return Fault(.delay(command: try text("command"), ms: try int("ms")), direction: direction)
        default: throw .invalid("unknown fault kind \(kind) (latency, blackhole, reset, down, close-after, slice, bandwidth, fail, delay)")
        }
    }
}

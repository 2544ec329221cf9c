import WireCore

/// An error reply from the server, classified by its error code (the first word of the
/// message), with the redirect target parsed for MOVED and ASK.
public struct RedisServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case moved(slot: UInt16, host: String, port: Int)
        case ask(slot: UInt16, host: String, port: Int)
        case crossSlot
        case tryAgain
        case clusterDown
        case noScript
        case wrongType
        case noAuth
        case wrongPass
        case noPermission
        case readOnly
        case loading
        case busy
        case execAbort
        case masterDown
        case noProto
        case outOfMemory
        case noReplicas
        case generic(code: String)
    }

    public let kind: Kind
    /// The full error text as the server sent it.
    public let message: String

    public init(message: String) {
        self.message = message
        let code = message.prefix { $0 != " " }
        switch code {
        case "MOVED", "ASK":
            let parts = message.split(separator: " ")
            if parts.count >= 3, let slot = UInt16(parts[1]), let (host, port) = RedisServerError.parseEndpoint(parts[2]) {
                kind = code == "MOVED" ? .moved(slot: slot, host: host, port: port) : .ask(slot: slot, host: host, port: port)
            } else {
                kind = .generic(code: String(code))
            }
        case "CROSSSLOT": kind = .crossSlot
        case "TRYAGAIN": kind = .tryAgain
        case "CLUSTERDOWN": kind = .clusterDown
        case "NOSCRIPT": kind = .noScript
        case "WRONGTYPE": kind = .wrongType
        case "NOAUTH": kind = .noAuth
        case "WRONGPASS": kind = .wrongPass
        case "NOPERM": kind = .noPermission
        case "READONLY": kind = .readOnly
        case "LOADING": kind = .loading
        case "BUSY": kind = .busy
        case "EXECABORT": kind = .execAbort
        case "MASTERDOWN": kind = .masterDown
        case "NOPROTO": kind = .noProto
        case "OOM": kind = .outOfMemory
        case "NOREPLICAS": kind = .noReplicas
        default: kind = .generic(code: String(code))
        }
    }

    /// Parses "host:port", "[v6]:port" and the bare ":port" Redis sends when it does not know
    /// its own address (the caller substitutes the host it connected to).
    static func parseEndpoint(_ text: Substring) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    public var description: String { message }
}

/// Everything a Redis operation can fail with.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply.
    case server(RedisServerError)
    /// The connection failed (refused, reset, closed, timed out, TLS).
    case connection(WireError)
    /// The server sent bytes that are not valid RESP; the connection was closed.
    case protocolViolation(WireDecodingError)
    /// No reply within the command timeout; the connection was closed because the reply
    /// stream can no longer be matched to requests.
    case timedOut(command: String, after: Duration)
    /// A reply of an unexpected shape for the typed helper that read it.
    case unexpectedReply(command: String, reply: String)
    /// The cluster client refused a multi-key command whose keys live in different slots.
    case crossSlot(command: String, keys: [String], slots: [UInt16])
    /// Redirects or retries exceeded their bound.
    case retriesExhausted(command: String, attempts: Int, lastError: String)
    /// No node could provide the cluster topology.
    case topologyUnavailable(String)
    /// The request was invalid before reaching the server (bad URL, argument).
    case invalidRequest(String)

    public var description: String {
        switch self {
        case let .server(error): return "server error: \(error.message)"
        case let .connection(error): return error.description
        case let .protocolViolation(error): return "protocol violation: \(error)"
        case let .timedOut(command, after): return "\(command) timed out after \(after.formattedMilliseconds)"
        case let .unexpectedReply(command, reply): return "unexpected reply to \(command): \(reply)"
        case let .crossSlot(command, keys, slots):
            return "CROSSSLOT (client-side check): \(command) keys \(keys) hash to slots \(slots); use a {hash tag} to colocate them"
        case let .retriesExhausted(command, attempts, lastError):
            return "\(command) failed after \(attempts) attempts: \(lastError)"
        case let .topologyUnavailable(reason): return "cluster topology unavailable: \(reason)"
        case let .invalidRequest(reason): return "invalid request: \(reason)"
        }
    }

    /// The server error kind, if this is an error reply.
    public var serverKind: RedisServerError.Kind? {
        if case let .server(error) = self { return error.kind }
        return nil
    }
}

extension RESPValue {
    /// The error carried by an error reply, or nil for any other value.
    public var redisError: RedisServerError? {
        switch self {
        case let .simpleError(message): return RedisServerError(message: message)
        case let .bulkError(bytes): return RedisServerError(message: String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }
}

import WireCore

/// Failures of a broker connection, below the level of Kafka error codes.
public enum KafkaConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    case connection(WireError)
    case timedOut(api: String, broker: String, after: Duration)
    /// The broker sent a frame this client cannot parse; the connection was closed.
    case protocolViolation(String)
    /// The request could not be encoded at the negotiated version.
    case encoding(String)

    public var description: String {
        switch self {
        case let .connection(error): return error.description
        case let .timedOut(api, broker, after): return "\(api) request to \(broker) timed out after \(after.formattedMilliseconds)"
        case let .protocolViolation(reason): return "protocol violation: \(reason)"
        case let .encoding(reason): return "cannot encode request: \(reason)"
        }
    }

    /// True when the request never reached the broker, so resending cannot duplicate it.
    public var wasNotSent: Bool {
        switch self {
        case .connection(.closed), .connection(.connectionRefused), .connection(.hostNotFound), .encoding: return true
        default: return false
        }
    }
}

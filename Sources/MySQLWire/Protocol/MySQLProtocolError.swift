import WireCore

/// Why bytes from the peer are not a valid MySQL protocol exchange. Decoders throw this (never
/// trap); `message` names the packet being decoded.
public enum MySQLProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field of `message` was truncated or malformed.
    case decoding(message: String, WireDecodingError)
    /// A packet arrived that the current protocol state does not allow.
    case unexpectedPacket(state: String, firstByte: UInt8?, length: Int)
    /// The packet sequence id is not the one the protocol requires next.
    case sequenceMismatch(expected: UInt8, received: UInt8)
    /// A logical payload larger than the configured limit.
    case payloadTooLarge(size: Int, limit: Int)
    /// The peer asked for something this implementation does not speak.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .decoding(message, error): return "malformed \(message) packet: \(error)"
        case let .unexpectedPacket(state, firstByte, length):
            let head = firstByte.map { "0x" + String($0, radix: 16) } ?? "empty"
            return "unexpected packet (\(head), \(length) bytes) while \(state)"
        case let .sequenceMismatch(expected, received):
            return "packet sequence id \(received), expected \(expected)"
        case let .payloadTooLarge(size, limit): return "payload of \(size) bytes exceeds the limit of \(limit)"
        case let .unsupported(what): return "unsupported: \(what)"
        }
    }
}

/// Runs a decoding body that reports field errors as `WireDecodingError` and wraps them,
/// naming the message.
@inlinable
func decodingMessage<T>(
    _ message: String, _ body: () throws(WireDecodingError) -> T
) throws(MySQLProtocolError) -> T {
    do {
        return try body()
    } catch {
        throw .decoding(message: message, error)
    }
}

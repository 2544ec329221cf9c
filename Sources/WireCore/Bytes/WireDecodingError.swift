/// Why a decoder refused a byte sequence. Every decoder in the project reports malformed,
/// truncated or hostile input with this type (or wraps it) instead of trapping.
public enum WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended before a field was complete. For incremental decoders this means
    /// "wait for more bytes"; for a complete frame it means the frame was truncated.
    case truncated(field: String, needed: Int, available: Int, offset: Int)
    /// The bytes are present but are not a valid encoding of `field`.
    case malformed(field: String, reason: String, offset: Int)
    /// A length or count field exceeds what the decoder is willing to allocate.
    case limitExceeded(field: String, value: Int, limit: Int, offset: Int)

    public var description: String {
        switch self {
        case let .truncated(field, needed, available, offset):
            return "truncated \(field) at offset \(offset): needed \(needed) bytes, \(available) available"
        case let .malformed(field, reason, offset):
            return "malformed \(field) at offset \(offset): \(reason)"
        case let .limitExceeded(field, value, limit, offset):
            return "\(field) at offset \(offset) is \(value), above the limit of \(limit)"
        }
    }

    /// The same error with its offset moved by `delta`: for a payload decoded inside a larger
    /// buffer (where it was received), `shifted(by: -start)` makes the offset count from the
    /// payload's first byte again.
    public func shifted(by delta: Int) -> WireDecodingError {
        switch self {
        case let .truncated(field, needed, available, offset):
            return .truncated(field: field, needed: needed, available: available, offset: offset + delta)
        case let .malformed(field, reason, offset):
            return .malformed(field: field, reason: reason, offset: offset + delta)
        case let .limitExceeded(field, value, limit, offset):
            return .limitExceeded(field: field, value: value, limit: limit, offset: offset + delta)
        }
    }

    public var isTruncation: Bool {
        if case .truncated = self { return true }
        return false
    }
}

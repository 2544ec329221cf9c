import WireCore

/// A Kafka message body that could not be decoded: which message, at which version, and
/// what was wrong (the underlying error names the field and the offset).
public enum KafkaDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The version is outside the message's `validVersions`.
    case unsupportedVersion(message: String, version: Int16)
    /// A field was truncated, malformed or above a limit.
    case invalidField(message: String, version: Int16, error: WireDecodingError)
    /// The frame held bytes after the last field.
    case trailingBytes(message: String, version: Int16, count: Int)
    /// A header named an API key this codec does not know.
    case unknownApiKey(Int16)

    public var description: String {
        switch self {
        case let .unsupportedVersion(message, version):
            return "\(message) v\(version) is not a version this codec speaks"
        case let .invalidField(message, version, error):
            return "\(message) v\(version): \(error)"
        case let .trailingBytes(message, version, count):
            return "\(message) v\(version): \(count) bytes after the last field"
        case let .unknownApiKey(key):
            return "unknown API key \(key)"
        }
    }

    /// True when more bytes could complete the message.
    public var isTruncation: Bool {
        if case let .invalidField(_, _, error) = self { return error.isTruncation }
        return false
    }
}

/// A value that the requested version cannot carry; the encoder refuses it rather than
/// silently dropping data (as the Java client's UnsupportedVersionException does).
public enum KafkaEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedVersion(message: String, version: Int16)
    /// `field` holds a non-default value but does not exist at `version`.
    case fieldNotInVersion(message: String, field: String, version: Int16)
    /// `field` is nil but is not nullable at `version`.
    case nullNotAllowed(message: String, field: String, version: Int16)
    /// A string, byte string or array longer than its length prefix can express.
    case tooLong(message: String, field: String, count: Int, limit: Int)

    public var description: String {
        switch self {
        case let .unsupportedVersion(message, version):
            return "\(message) v\(version) is not a version this codec speaks"
        case let .fieldNotInVersion(message, field, version):
            return "\(message).\(field) has a non-default value but does not exist in v\(version)"
        case let .nullNotAllowed(message, field, version):
            return "\(message).\(field) is null but is not nullable in v\(version)"
        case let .tooLong(message, field, count, limit):
            return "\(message).\(field) has length \(count), above the limit \(limit)"
        }
    }
}

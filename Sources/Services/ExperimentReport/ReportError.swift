/// Why a report file could not be produced.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWrite(String, String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, why): "cannot write \(path): \(why)"
        case let .invalidInput(why): "invalid report input: \(why)"
        }
    }
}

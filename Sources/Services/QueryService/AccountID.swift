import ServiceKit

/// A valid account id: 1–64 characters of `[A-Za-z0-9_-]` (the `account_view.account_id`
/// column is VARCHAR(64), and the id is embedded in Redis keys and URL paths).
public struct AccountID: Sendable, Hashable, CustomStringConvertible {
    public static let maximumLength = 64

    public let value: String

    public init(validating text: String) throws(ServiceError) {
        guard !text.isEmpty else { throw .invalidInput("the account id is empty") }
        let length = text.unicodeScalars.count
        guard length <= Self.maximumLength else {
            throw .invalidInput("the account id has \(length) characters; at most \(Self.maximumLength) are allowed")
        }
        if let bad = text.unicodeScalars.first(where: { !Self.isAllowed($0) }) {
            throw .invalidInput("the account id may contain only A-Z, a-z, 0-9, '_' and '-' (found \(bad.escaped(asASCII: true)))")
        }
        value = text
    }

    public var description: String { value }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }
}

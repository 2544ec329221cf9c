import RESP

// Literals keep the test tables readable. They are deliberately not part of the library:
// there, `reply == "OK"` would compile and silently compare against a bulk string, never
// matching the simple string `+OK` a server sends.

extension RESPValue: ExpressibleByStringLiteral {
    /// A bulk string, the type of command arguments and most replies.
    public init(stringLiteral value: String) {
        self = .bulkString(Array(value.utf8))
    }
}

extension RESPValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension RESPValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: RESPValue...) {
        self = .array(elements)
    }
}

extension RESPValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) {
        self = .boolean(value)
    }
}

/// One RESP2 or RESP3 value, as a server sends it or a client's command is built from.
///
/// The cases mirror the wire types one to one, so encoding and decoding are exact inverses.
/// RESP2's null bulk string (`$-1`) and null array (`*-1`) decode to `.null`, like RESP3's `_`.
///
/// Only `.attribute` is stored indirectly: the other recursive cases hold arrays, which are
/// already references, and keeping scalars inline spares a heap box per integer or simple
/// string in a reply (the decoder builds millions of these per second).
public enum RESPValue: Sendable {
    /// `+OK`: a short text without CR or LF.
    case simpleString(String)
    /// `-ERR message`: a short error text without CR or LF.
    case simpleError(String)
    /// `:1000`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello`: binary-safe bytes.
    case bulkString([UInt8])
    /// `_`, and RESP2's `$-1` and `*-1`.
    case null
    /// `*2 …`
    case array([RESPValue])
    /// `#t` / `#f`
    case boolean(Bool)
    /// `,3.14`, `,inf`, `,-inf`, `,nan`.
    case double(Double)
    /// `(123…`: an optional `-` or `+` followed by decimal digits, kept as text.
    case bigNumber(String)
    /// `!21 SYNTAX invalid syntax`: a binary-safe error.
    case bulkError([UInt8])
    /// `=15 txt:Some string`: text with a 3-byte format such as `txt` or `mkd`.
    case verbatimString(format: String, text: [UInt8])
    /// `%2 …`: key/value pairs in the order the server sent them (keys may repeat on the wire).
    case map([RESPPair])
    /// `~3 …`: an unordered collection, kept in wire order.
    case set([RESPValue])
    /// `|1 …` followed by a value: out-of-band metadata (the pairs) annotating the value.
    indirect case attribute([RESPPair], RESPValue)
    /// `>3 …`: an out-of-band message (pub/sub, client-side caching invalidation).
    case push([RESPValue])
}

/// One entry of a RESP3 map or attribute. A struct rather than a dictionary entry because
/// RESP maps are ordered on the wire and any value (even an aggregate) may be a key.
public struct RESPPair: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    @inlinable
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

// MARK: - Equality

/// Equality is structural, with one deliberate difference from `Double`'s: every NaN equals
/// every other NaN, because all of them are the single wire value `nan`. Without this a
/// decoded `,nan` would not equal itself and round-trip checks could not hold.
extension RESPValue: Hashable {
    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case let (.simpleString(a), .simpleString(b)): return a == b
        case let (.simpleError(a), .simpleError(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.bulkString(a), .bulkString(b)): return a == b
        case (.null, .null): return true
        case let (.array(a), .array(b)): return a == b
        case let (.boolean(a), .boolean(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bigNumber(a), .bigNumber(b)): return a == b
        case let (.bulkError(a), .bulkError(b)): return a == b
        case let (.verbatimString(formatA, textA), .verbatimString(formatB, textB)):
            return formatA == formatB && textA == textB
        case let (.map(a), .map(b)): return a == b
        case let (.set(a), .set(b)): return a == b
        case let (.attribute(attributesA, valueA), .attribute(attributesB, valueB)):
            return attributesA == attributesB && valueA == valueB
        case let (.push(a), .push(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .simpleString(let text): hasher.combine(0 as UInt8); hasher.combine(text)
        case .simpleError(let text): hasher.combine(1 as UInt8); hasher.combine(text)
        case .integer(let number): hasher.combine(2 as UInt8); hasher.combine(number)
        case .bulkString(let bytes): hasher.combine(3 as UInt8); hasher.combine(bytes)
        case .null: hasher.combine(4 as UInt8)
        case .array(let elements): hasher.combine(5 as UInt8); hasher.combine(elements)
        case .boolean(let flag): hasher.combine(6 as UInt8); hasher.combine(flag)
        case .double(let number):
            hasher.combine(7 as UInt8)
            // One hash for all NaNs, matching `==`.
            hasher.combine(number.isNaN ? Double.nan : number)
        case .bigNumber(let digits): hasher.combine(8 as UInt8); hasher.combine(digits)
        case .bulkError(let bytes): hasher.combine(9 as UInt8); hasher.combine(bytes)
        case let .verbatimString(format, text):
            hasher.combine(10 as UInt8); hasher.combine(format); hasher.combine(text)
        case .map(let pairs): hasher.combine(11 as UInt8); hasher.combine(pairs)
        case .set(let elements): hasher.combine(12 as UInt8); hasher.combine(elements)
        case let .attribute(attributes, value):
            hasher.combine(13 as UInt8); hasher.combine(attributes); hasher.combine(value)
        case .push(let elements): hasher.combine(14 as UInt8); hasher.combine(elements)
        }
    }
}

// MARK: - Convenience accessors

extension RESPValue {
    /// The text of a simple string, bulk string or verbatim string (attributes looked
    /// through). Bytes that are not valid UTF-8 are repaired with U+FFFD; use `bytes` for
    /// binary data.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let text): return String(decoding: text, as: UTF8.self)
        case .attribute(_, let value): return value.string
        default: return nil
        }
    }

    /// The raw bytes of a simple, bulk or verbatim string (without the `xxx:` format).
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let text): return Array(text.utf8)
        case .bulkString(let bytes): return bytes
        case .verbatimString(_, let text): return text
        case .attribute(_, let value): return value.bytes
        default: return nil
        }
    }

    /// The value of an integer reply. Numbers sent as strings are not converted: a reply
    /// whose type differs from what the command documents is a protocol surprise the caller
    /// should see.
    public var int: Int64? {
        switch self {
        case .integer(let number): return number
        case .attribute(_, let value): return value.int
        default: return nil
        }
    }

    /// The value of a double reply.
    public var double: Double? {
        switch self {
        case .double(let number): return number
        case .attribute(_, let value): return value.double
        default: return nil
        }
    }

    /// The value of a boolean reply.
    public var bool: Bool? {
        switch self {
        case .boolean(let flag): return flag
        case .attribute(_, let value): return value.bool
        default: return nil
        }
    }

    /// The elements of an array, set or push, which RESP2 servers all send as arrays.
    public var array: [RESPValue]? {
        switch self {
        case .array(let elements), .set(let elements), .push(let elements): return elements
        case .attribute(_, let value): return value.array
        default: return nil
        }
    }

    /// The pairs of a map.
    public var pairs: [RESPPair]? {
        switch self {
        case .map(let pairs): return pairs
        case .attribute(_, let value): return value.pairs
        default: return nil
        }
    }

    /// The message of a simple or bulk error.
    public var errorMessage: String? {
        switch self {
        case .simpleError(let text): return text
        case .bulkError(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .attribute(_, let value): return value.errorMessage
        default: return nil
        }
    }

    public var isError: Bool { errorMessage != nil }

    public var isNull: Bool {
        switch self {
        case .null: return true
        case .attribute(_, let value): return value.isNull
        default: return false
        }
    }

    /// The attribute pairs annotating this value, if it carries any at the top level.
    public var attributes: [RESPPair]? {
        if case .attribute(let attributes, _) = self { return attributes }
        return nil
    }

    /// The same value with every attribute removed, at any depth. Replies rarely carry
    /// attributes, so a value without any is returned as is, without copying.
    public var withoutAttributes: RESPValue {
        strippingAttributes() ?? self
    }

    /// The value without attributes, or nil when there were none to strip (so unchanged
    /// subtrees are shared, not rebuilt).
    private func strippingAttributes() -> RESPValue? {
        switch self {
        case .attribute(_, let value):
            return value.strippingAttributes() ?? value
        case .array(let elements):
            return Self.strippingAttributes(elements).map { .array($0) }
        case .set(let elements):
            return Self.strippingAttributes(elements).map { .set($0) }
        case .push(let elements):
            return Self.strippingAttributes(elements).map { .push($0) }
        case .map(let pairs):
            var stripped: [RESPPair]?
            for (index, pair) in pairs.enumerated() {
                let key = pair.key.strippingAttributes()
                let value = pair.value.strippingAttributes()
                if key == nil && value == nil && stripped == nil { continue }
                if stripped == nil { stripped = Array(pairs[..<index]) }
                stripped?.append(RESPPair(key: key ?? pair.key, value: value ?? pair.value))
            }
            return stripped.map { .map($0) }
        default:
            return nil
        }
    }

    private static func strippingAttributes(_ elements: [RESPValue]) -> [RESPValue]? {
        var stripped: [RESPValue]?
        for (index, element) in elements.enumerated() {
            let replacement = element.strippingAttributes()
            if replacement == nil && stripped == nil { continue }
            if stripped == nil { stripped = Array(elements[..<index]) }
            stripped?.append(replacement ?? element)
        }
        return stripped
    }
}

// MARK: - Descriptions

extension RESPValue: CustomStringConvertible {
    /// The value as `redis-cli` shows it: quoted bulk strings, `(integer) 1`, `(nil)`,
    /// numbered aggregates with nested ones indented under their parent's index.
    public var description: String {
        var output = ""
        appendDescription(to: &output, indent: 0)
        return output
    }

    /// Appends this value's lines; the first continues the current line, later ones are
    /// indented by `indent` columns so nested aggregates line up under their index.
    private func appendDescription(to output: inout String, indent: Int) {
        switch self {
        case .simpleString(let text):
            output += text
        case .simpleError(let text):
            output += "(error) " + text
        case .integer(let number):
            output += "(integer) \(number)"
        case .bulkString(let bytes):
            output += Self.quoted(bytes)
        case .null:
            output += "(nil)"
        case .array(let elements):
            Self.appendList(elements, marker: ")", emptyName: "array", to: &output, indent: indent)
        case .boolean(let flag):
            output += flag ? "(true)" : "(false)"
        case .double(let number):
            output += "(double) " + RESPEncoder.doubleText(number)
        case .bigNumber(let digits):
            output += "(big number) " + digits
        case .bulkError(let bytes):
            output += "(error) " + String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let text):
            output += String(decoding: text, as: UTF8.self)
        case .map(let pairs):
            Self.appendPairs(pairs, to: &output, indent: indent)
        case .set(let elements):
            Self.appendList(elements, marker: "~", emptyName: "set", to: &output, indent: indent)
        case let .attribute(attributes, value):
            output += "|"
            Self.appendPairs(attributes, to: &output, indent: indent + 1)
            output += "\n" + String(repeating: " ", count: indent)
            value.appendDescription(to: &output, indent: indent)
        case .push(let elements):
            output += "(push) "
            Self.appendList(elements, marker: ")", emptyName: "push", to: &output, indent: indent + 7)
        }
    }

    private static func appendList(
        _ elements: [RESPValue], marker: String, emptyName: String, to output: inout String, indent: Int
    ) {
        guard !elements.isEmpty else {
            output += "(empty \(emptyName))"
            return
        }
        let width = String(elements.count).count
        for (offset, element) in elements.enumerated() {
            if offset > 0 { output += "\n" + String(repeating: " ", count: indent) }
            let label = label(offset + 1, width: width, marker: marker)
            output += label
            element.appendDescription(to: &output, indent: indent + label.count)
        }
    }

    private static func appendPairs(_ pairs: [RESPPair], to output: inout String, indent: Int) {
        guard !pairs.isEmpty else {
            output += "(empty map)"
            return
        }
        let width = String(pairs.count).count
        for (offset, pair) in pairs.enumerated() {
            if offset > 0 { output += "\n" + String(repeating: " ", count: indent) }
            let label = label(offset + 1, width: width, marker: "#")
            output += label
            var key = ""
            pair.key.appendDescription(to: &key, indent: indent + label.count)
            output += key + " => "
            // A one-line key lets the value's continuation lines align after the arrow.
            let valueIndent = key.contains("\n") ? indent + label.count : indent + label.count + key.count + 4
            pair.value.appendDescription(to: &output, indent: valueIndent)
        }
    }

    private static func label(_ number: Int, width: Int, marker: String) -> String {
        let digits = String(number)
        return String(repeating: " ", count: width - digits.count) + digits + marker + " "
    }

    /// Bytes quoted the way redis-cli shows them: printable ASCII as is, common control
    /// characters as C escapes, everything else as `\xHH`.
    static func quoted(_ bytes: [UInt8]) -> String {
        var result = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): result += "\\\\"
            case UInt8(ascii: "\""): result += "\\\""
            case UInt8(ascii: "\n"): result += "\\n"
            case UInt8(ascii: "\r"): result += "\\r"
            case UInt8(ascii: "\t"): result += "\\t"
            case 0x07: result += "\\a"
            case 0x08: result += "\\b"
            case 0x20...0x7E: result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                result += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result + "\""
    }
}

extension RESPValue: CustomDebugStringConvertible {
    /// A one-line, Swift-like rendering (`.array([.bulkString("a"), .integer(1)])`) for test
    /// failures and logs, where redis-cli's multi-line layout would be hard to read.
    public var debugDescription: String {
        switch self {
        case .simpleString(let text): return ".simpleString(\(Self.quoted(Array(text.utf8))))"
        case .simpleError(let text): return ".simpleError(\(Self.quoted(Array(text.utf8))))"
        case .integer(let number): return ".integer(\(number))"
        case .bulkString(let bytes): return ".bulkString(\(Self.quoted(bytes)))"
        case .null: return ".null"
        case .array(let elements): return ".array(\(Self.debugList(elements)))"
        case .boolean(let flag): return ".boolean(\(flag))"
        case .double(let number): return ".double(\(RESPEncoder.doubleText(number)))"
        case .bigNumber(let digits): return ".bigNumber(\(digits))"
        case .bulkError(let bytes): return ".bulkError(\(Self.quoted(bytes)))"
        case let .verbatimString(format, text):
            return ".verbatimString(format: \(Self.quoted(Array(format.utf8))), text: \(Self.quoted(text)))"
        case .map(let pairs): return ".map(\(Self.debugPairs(pairs)))"
        case .set(let elements): return ".set(\(Self.debugList(elements)))"
        case let .attribute(attributes, value):
            return ".attribute(\(Self.debugPairs(attributes)), \(value.debugDescription))"
        case .push(let elements): return ".push(\(Self.debugList(elements)))"
        }
    }

    private static func debugList(_ elements: [RESPValue]) -> String {
        "[" + elements.map(\.debugDescription).joined(separator: ", ") + "]"
    }

    private static func debugPairs(_ pairs: [RESPPair]) -> String {
        if pairs.isEmpty { return "[:]" }
        return "[" + pairs.map { "\($0.key.debugDescription): \($0.value.debugDescription)" }
            .joined(separator: ", ") + "]"
    }
}

extension RESPPair: CustomDebugStringConvertible {
    public var debugDescription: String {
        "\(key.debugDescription): \(value.debugDescription)"
    }
}

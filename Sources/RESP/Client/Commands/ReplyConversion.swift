/// Reading typed results out of replies, failing with `.unexpectedReply` (naming the
/// command) when the shape is not the documented one.
extension RESPValue {
    func integer(for command: String) throws(RedisError) -> Int64 {
        guard let value = withoutAttributes.int else { throw .unexpectedReply(command: command, reply: description) }
        return value
    }

    func optionalBytes(for command: String) throws(RedisError) -> [UInt8]? {
        let value = withoutAttributes
        if value.isNull { return nil }
        guard let bytes = value.bytes else { throw .unexpectedReply(command: command, reply: description) }
        return bytes
    }

    func elements(for command: String) throws(RedisError) -> [RESPValue] {
        switch withoutAttributes {
        case let .array(items), let .set(items), let .push(items): return items
        case .null: return []
        default: throw .unexpectedReply(command: command, reply: description)
        }
    }

    /// A map reply (RESP3) or the flat key/value array RESP2 sends for the same command.
    func pairs(for command: String) throws(RedisError) -> [(RESPValue, RESPValue)] {
        switch withoutAttributes {
        case let .map(pairs): return pairs.map { ($0.key, $0.value) }
        case let .array(items):
            guard items.count % 2 == 0 else { throw .unexpectedReply(command: command, reply: description) }
            return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
        case .null: return []
        default: throw .unexpectedReply(command: command, reply: description)
        }
    }

    /// A double that RESP3 sends as a double and RESP2 as a bulk string.
    func optionalDouble(for command: String) throws(RedisError) -> Double? {
        let value = withoutAttributes
        switch value {
        case .null: return nil
        case let .double(number): return number
        case let .integer(number): return Double(number)
        default:
            guard let text = value.string, let number = Double(text) ?? RESPValue.parseInfinity(text) else {
                throw .unexpectedReply(command: command, reply: description)
            }
            return number
        }
    }

    static func parseInfinity(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        default: return nil
        }
    }

    /// True for +OK; anything else is unexpected.
    func expectOK(for command: String) throws(RedisError) {
        guard withoutAttributes.string == "OK" else { throw .unexpectedReply(command: command, reply: description) }
    }
}

import WireCore

/// ProtocolText::ResultsetRow: each column a length-encoded string, or 0xFB for NULL.
public struct TextResultRow: Sendable, Hashable {
    public var values: [[UInt8]?]

    public init(values: [[UInt8]?]) { self.values = values }

    public func encode(into writer: inout ByteWriter) {
        for value in values {
            if let value { writer.writeLengthEncodedBytes(value) } else { writer.writeUInt8(0xfb) }
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8], columnCount: Int) throws(MySQLProtocolError) -> TextResultRow {
        try decodingMessage("text row") { () throws(WireDecodingError) -> TextResultRow in
            var reader = ByteReader(payload)
            var values: [[UInt8]?] = []
            values.reserveCapacity(columnCount)
            for index in 0..<columnCount {
                if reader.peekUInt8() == 0xfb {
                    reader.readerIndex += 1
                    values.append(nil)
                } else {
                    values.append(try reader.readLengthEncodedBytes("column \(index)"))
                }
            }
            guard reader.isAtEnd else {
                throw .malformed(field: "text row", reason: "\(reader.remaining) bytes after \(columnCount) columns", offset: reader.readerIndex)
            }
            return TextResultRow(values: values)
        }
    }

    /// Decodes a row straight to values, typed by the column definitions.
    public static func decodeValues(_ payload: [UInt8], columns: [ColumnDefinition41]) throws(MySQLProtocolError) -> [MySQLValue] {
        try decodeValues(payload, from: 0, to: payload.count, columns: columns)
    }

    /// The row whose payload is `bytes[start..<end]` (decoded where it was received); error
    /// offsets count from the start of `bytes`.
    public static func decodeValues(
        _ bytes: [UInt8], from start: Int, to end: Int, columns: [ColumnDefinition41]
    ) throws(MySQLProtocolError) -> [MySQLValue] {
        try decodingMessage("text row") { () throws(WireDecodingError) -> [MySQLValue] in
            var reader = ByteReader(bytes, from: start, to: end)
            var values: [MySQLValue] = []
            values.reserveCapacity(columns.count)
            // By index, reading only the fields needed: iterating the definitions would copy
            // each one (six strings retained and released per column and row).
            for index in columns.indices {
                if reader.peekUInt8() == 0xfb {
                    reader.readerIndex += 1
                    values.append(.null)
                    continue
                }
                let start = reader.readerIndex
                let count = try reader.readLengthEncodedLength(columns[index].name)
                let slice = try reader.readSlice(count, columns[index].name)
                values.append(try MySQLValue(
                    text: slice, type: columns[index].type, unsigned: columns[index].isUnsigned,
                    binaryCharset: columns[index].isBinary, field: columns[index].name, offset: start
                ))
            }
            guard reader.isAtEnd else {
                throw .malformed(field: "text row", reason: "\(reader.remaining) bytes after \(columns.count) columns", offset: reader.readerIndex)
            }
            return values
        }
    }

    /// Encodes values in the text protocol's spelling (for fake servers and round-trip tests).
    public static func encode(values: [MySQLValue], into writer: inout ByteWriter) {
        for value in values {
            if let text = value.textEncoding { writer.writeLengthEncodedBytes(text) } else { writer.writeUInt8(0xfb) }
        }
    }
}

extension MySQLValue {
    /// Parses the text protocol's spelling of a value of `column`'s type.
    public init(text: ArraySlice<UInt8>, column: ColumnDefinition41, offset: Int = 0) throws(WireDecodingError) {
        try self.init(
            text: text, type: column.type, unsigned: column.isUnsigned, binaryCharset: column.isBinary, field: column.name, offset: offset
        )
    }

    /// Parses the text protocol's spelling of a value of type `type`; `field` names the column
    /// in an error.
    init(
        text: ArraySlice<UInt8>, type: MySQLColumnType, unsigned: Bool, binaryCharset: Bool,
        field: @autoclosure () -> String, offset: Int
    ) throws(WireDecodingError) {
        func fail(_ what: String) -> WireDecodingError {
            .malformed(field: field(), reason: "\(what) \"\(String(decoding: text.prefix(40), as: UTF8.self))\"", offset: offset)
        }
        switch type {
        case .tiny, .short, .long, .int24, .longlong, .year:
            if unsigned {
                guard let v = parseUnsigned(text) else { throw fail("not an unsigned integer:") }
                self = .uint(v)
            } else {
                guard let v = parseSigned(text) else { throw fail("not an integer:") }
                self = .int(v)
            }
        case .float:
            guard let v = Float(String(decoding: text, as: UTF8.self)) else { throw fail("not a float:") }
            self = .float(v)
        case .double:
            guard let v = Double(String(decoding: text, as: UTF8.self)) else { throw fail("not a double:") }
            self = .double(v)
        case .decimal, .newdecimal:
            guard let v = MySQLDecimal(String(decoding: text, as: UTF8.self)) else { throw fail("not a decimal:") }
            self = .decimal(v)
        case .date, .newdate:
            guard let v = parseDate(text) else { throw fail("not a date:") }
            self = .date(v)
        case .datetime, .timestamp, .datetime2, .timestamp2:
            guard let v = parseDateTime(text) else { throw fail("not a datetime:") }
            self = .datetime(v)
        case .time, .time2:
            guard let v = parseTime(text) else { throw fail("not a time:") }
            self = .time(v)
        case .bit:
            guard text.count <= 8 else { throw fail("BIT wider than 64 bits:") }
            self = .bit(text.reduce(0) { $0 << 8 | UInt64($1) })
        case .json:
            self = .json(String(decoding: text, as: UTF8.self))
        case .null:
            self = .null
        case .geometry:
            self = .bytes(Array(text))
        default:
            self = binaryCharset ? .bytes(Array(text)) : .string(String(decoding: text, as: UTF8.self))
        }
    }

    /// The text protocol's spelling; nil for NULL.
    public var textEncoding: [UInt8]? {
        switch self {
        case .null: return nil
        case let .bytes(b): return b
        case let .bit(v):
            var bytes: [UInt8] = []
            var rest = v
            repeat {
                bytes.insert(UInt8(truncatingIfNeeded: rest), at: 0)
                rest >>= 8
            } while rest != 0
            return bytes
        case let .float(v): return Array(String(v).utf8)
        case let .double(v): return Array(String(v).utf8)
        default: return Array(description.utf8)
        }
    }
}

// Parsers for the text protocol: no Foundation, no allocation beyond the result, and never
// trapping on hostile digits (overflow is a parse failure).

func parseUnsigned(_ text: ArraySlice<UInt8>) -> UInt64? {
    guard !text.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in text {
        guard byte >= 48 && byte <= 57 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(byte - 48))
        if o1 || o2 { return nil }
        value = a
    }
    return value
}

func parseSigned(_ text: ArraySlice<UInt8>) -> Int64? {
    if text.first == UInt8(ascii: "-") {
        guard let magnitude = parseUnsigned(text.dropFirst()) else { return nil }
        if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
        guard let v = Int64(exactly: magnitude) else { return nil }
        return -v
    }
    guard let v = parseUnsigned(text) else { return nil }
    return Int64(exactly: v)
}

private func fixedDigits(_ text: ArraySlice<UInt8>, _ start: Int, _ count: Int) -> Int? {
    guard start >= text.startIndex, start + count <= text.endIndex else { return nil }
    var value = 0
    for byte in text[start..<(start + count)] {
        guard byte >= 48 && byte <= 57 else { return nil }
        value = value * 10 + Int(byte - 48)
    }
    return value
}

/// ".ffffff" (1–6 digits) → microseconds; empty → 0.
private func parseFraction(_ text: ArraySlice<UInt8>) -> UInt32? {
    if text.isEmpty { return 0 }
    guard text.first == UInt8(ascii: "."), text.count >= 2, text.count <= 7 else { return nil }
    var value: UInt32 = 0
    var digits = 0
    for byte in text.dropFirst() {
        guard byte >= 48 && byte <= 57 else { return nil }
        value = value * 10 + UInt32(byte - 48)
        digits += 1
    }
    while digits < 6 { value *= 10; digits += 1 }
    return value
}

func parseDate(_ text: ArraySlice<UInt8>) -> MySQLDate? {
    let s = text.startIndex
    guard text.count == 10, text[s + 4] == UInt8(ascii: "-"), text[s + 7] == UInt8(ascii: "-"),
          let y = fixedDigits(text, s, 4), let m = fixedDigits(text, s + 5, 2), let d = fixedDigits(text, s + 8, 2)
    else { return nil }
    return MySQLDate(year: UInt16(y), month: UInt8(m), day: UInt8(d))
}

func parseDateTime(_ text: ArraySlice<UInt8>) -> MySQLDateTime? {
    let s = text.startIndex
    guard text.count >= 19, let date = parseDate(text[s..<(s + 10)]), text[s + 10] == UInt8(ascii: " "),
          text[s + 13] == UInt8(ascii: ":"), text[s + 16] == UInt8(ascii: ":"),
          let h = fixedDigits(text, s + 11, 2), let mi = fixedDigits(text, s + 14, 2), let se = fixedDigits(text, s + 17, 2),
          let micro = parseFraction(text[(s + 19)...])
    else {
        if text.count == 10, let date = parseDate(text) {
            return MySQLDateTime(year: date.year, month: date.month, day: date.day)
        }
        return nil
    }
    return MySQLDateTime(year: date.year, month: date.month, day: date.day, hour: UInt8(h), minute: UInt8(mi), second: UInt8(se), microsecond: micro)
}

func parseTime(_ text: ArraySlice<UInt8>) -> MySQLTime? {
    var rest = text
    var negative = false
    if rest.first == UInt8(ascii: "-") {
        negative = true
        rest = rest.dropFirst()
    }
    guard let firstColon = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
    let hoursText = rest[rest.startIndex..<firstColon]
    guard hoursText.count >= 1, hoursText.count <= 4, let hours = parseUnsigned(hoursText) else { return nil }
    let s = firstColon + 1
    guard rest.endIndex - s >= 5, rest[s + 2] == UInt8(ascii: ":"),
          let m = fixedDigits(rest, s, 2), let sec = fixedDigits(rest, s + 3, 2),
          let micro = parseFraction(rest[(s + 5)...])
    else { return nil }
    return MySQLTime(isNegative: negative, days: UInt32(hours / 24), hour: UInt8(hours % 24), minute: UInt8(m), second: UInt8(sec), microsecond: micro)
}

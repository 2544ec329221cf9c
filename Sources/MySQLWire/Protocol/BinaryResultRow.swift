import WireCore

/// ProtocolBinary::ResultsetRow: 0x00, a NULL bitmap with a 2-bit offset, then the non-NULL
/// values in their binary encodings.
public enum BinaryResultRow {
    public static func decodeValues(_ payload: [UInt8], columns: [ColumnDefinition41]) throws(MySQLProtocolError) -> [MySQLValue] {
        try decodeValues(payload, from: 0, to: payload.count, columns: columns)
    }

    /// The row whose payload is `bytes[start..<end]` (decoded where it was received); error
    /// offsets count from the start of `bytes`.
    public static func decodeValues(
        _ bytes: [UInt8], from start: Int, to end: Int, columns: [ColumnDefinition41]
    ) throws(MySQLProtocolError) -> [MySQLValue] {
        try decodingMessage("binary row") { () throws(WireDecodingError) -> [MySQLValue] in
            var reader = ByteReader(bytes, from: start, to: end)
            let header = try reader.readUInt8("header")
            guard header == 0x00 else {
                throw .malformed(field: "header", reason: "0x\(String(header, radix: 16)), expected 0x00", offset: start)
            }
            let bitmapLength = (columns.count + 7 + 2) / 8
            let bitmapStart = reader.readerIndex
            try reader.skip(bitmapLength, field: "NULL bitmap")
            var values: [MySQLValue] = []
            values.reserveCapacity(columns.count)
            // By index, reading only the fields needed (iterating would copy each definition).
            for index in columns.indices {
                let bit = index + 2
                if bytes[bitmapStart + bit / 8] & (1 << UInt8(bit % 8)) != 0 {
                    values.append(.null)
                    continue
                }
                values.append(try MySQLValue.decodeBinary(
                    &reader, type: columns[index].type, unsigned: columns[index].isUnsigned,
                    binaryCharset: columns[index].isBinary, field: columns[index].name
                ))
            }
            guard reader.isAtEnd else {
                throw .malformed(field: "binary row", reason: "\(reader.remaining) bytes after \(columns.count) columns", offset: reader.readerIndex)
            }
            return values
        }
    }

    public static func encode(values: [MySQLValue], columns: [ColumnDefinition41], into writer: inout ByteWriter) {
        writer.writeUInt8(0x00)
        var bitmap = [UInt8](repeating: 0, count: (values.count + 7 + 2) / 8)
        for (index, value) in values.enumerated() where value.isNull {
            bitmap[(index + 2) / 8] |= 1 << UInt8((index + 2) % 8)
        }
        writer.writeBytes(bitmap)
        for (index, value) in values.enumerated() where !value.isNull {
            value.encodeBinary(into: &writer, as: index < columns.count ? columns[index].type : value.binaryType.type)
        }
    }

    public static func encoded(values: [MySQLValue], columns: [ColumnDefinition41]) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        encode(values: values, columns: columns, into: &writer)
        return writer.bytes
    }
}

extension MySQLValue {
    /// The type (and unsigned flag) a parameter of this value is sent as.
    public var binaryType: (type: MySQLColumnType, unsigned: Bool) {
        switch self {
        case .null: return (.null, false)
        case .int: return (.longlong, false)
        case .uint, .bit: return (.longlong, true)
        case .float: return (.float, false)
        case .double: return (.double, false)
        case .decimal: return (.newdecimal, false)
        case .string, .json: return (.varString, false)
        case .bytes: return (.blob, false)
        case .date: return (.date, false)
        case .datetime: return (.datetime, false)
        case .time: return (.time, false)
        }
    }

    /// Appends the binary encoding of this (non-NULL) value as `type`.
    public func encodeBinary(into writer: inout ByteWriter, as type: MySQLColumnType) {
        switch type {
        case .tiny: writer.writeUInt8(UInt8(truncatingIfNeeded: integerBits))
        case .short, .year: writer.writeLittleEndian(UInt16(truncatingIfNeeded: integerBits))
        case .long, .int24: writer.writeLittleEndian(UInt32(truncatingIfNeeded: integerBits))
        case .longlong: writer.writeLittleEndian(integerBits)
        case .float: writer.writeLittleEndian(Float(double ?? 0).bitPattern)
        case .double: writer.writeLittleEndian((double ?? 0).bitPattern)
        case .date, .newdate, .datetime, .timestamp, .datetime2, .timestamp2:
            let dt: MySQLDateTime
            switch self {
            case let .date(d): dt = MySQLDateTime(year: d.year, month: d.month, day: d.day)
            case let .datetime(v): dt = v
            default: dt = MySQLDateTime(year: 0, month: 0, day: 0)
            }
            let timeIsZero = dt.hour == 0 && dt.minute == 0 && dt.second == 0
            if dt.year == 0 && dt.month == 0 && dt.day == 0 && timeIsZero && dt.microsecond == 0 {
                writer.writeUInt8(0)
                return
            }
            let length: UInt8 = dt.microsecond != 0 ? 11 : (timeIsZero ? 4 : 7)
            writer.writeUInt8(length)
            writer.writeLittleEndian(dt.year)
            writer.writeUInt8(dt.month)
            writer.writeUInt8(dt.day)
            if length >= 7 {
                writer.writeUInt8(dt.hour)
                writer.writeUInt8(dt.minute)
                writer.writeUInt8(dt.second)
            }
            if length == 11 { writer.writeLittleEndian(dt.microsecond) }
        case .time, .time2:
            let t: MySQLTime
            if case let .time(v) = self { t = v } else { t = MySQLTime() }
            // The 0-length form is positive zero: a negative zero keeps its sign byte, so it
            // decodes as it was encoded (found by the mysql-resultset-decoder fuzzer).
            if !t.isNegative && t.days == 0 && t.hour == 0 && t.minute == 0 && t.second == 0 && t.microsecond == 0 {
                writer.writeUInt8(0)
                return
            }
            let length: UInt8 = t.microsecond != 0 ? 12 : 8
            writer.writeUInt8(length)
            writer.writeUInt8(t.isNegative ? 1 : 0)
            writer.writeLittleEndian(t.days)
            writer.writeUInt8(t.hour)
            writer.writeUInt8(t.minute)
            writer.writeUInt8(t.second)
            if length == 12 { writer.writeLittleEndian(t.microsecond) }
        case .null:
            return
        default:
            writer.writeLengthEncodedBytes(textEncoding ?? [])
        }
    }

    /// Two's-complement bits of an integer value (for the fixed-width integer encodings).
    private var integerBits: UInt64 {
        switch self {
        case let .int(v): return UInt64(bitPattern: v)
        case let .uint(v), let .bit(v): return v
        case let .float(v): return UInt64(bitPattern: Int64(exactly: v.rounded()) ?? 0)
        case let .double(v): return UInt64(bitPattern: Int64(exactly: v.rounded()) ?? 0)
        default: return UInt64(bitPattern: int64 ?? 0)
        }
    }

    /// Reads one binary-encoded value of `type`.
    public static func decodeBinary(
        _ reader: inout ByteReader, type: MySQLColumnType, unsigned: Bool, binaryCharset: Bool, field: String
    ) throws(WireDecodingError) -> MySQLValue {
        switch type {
        case .tiny:
            let raw = try reader.readUInt8(field)
            return unsigned ? .uint(UInt64(raw)) : .int(Int64(Int8(bitPattern: raw)))
        case .short, .year:
            let raw = try reader.readLittleEndian(UInt16.self, field)
            return unsigned ? .uint(UInt64(raw)) : .int(Int64(Int16(bitPattern: raw)))
        case .long, .int24:
            let raw = try reader.readLittleEndian(UInt32.self, field)
            return unsigned ? .uint(UInt64(raw)) : .int(Int64(Int32(bitPattern: raw)))
        case .longlong:
            let raw = try reader.readLittleEndian(UInt64.self, field)
            return unsigned ? .uint(raw) : .int(Int64(bitPattern: raw))
        case .float:
            return .float(Float(bitPattern: try reader.readLittleEndian(UInt32.self, field)))
        case .double:
            return .double(Double(bitPattern: try reader.readLittleEndian(UInt64.self, field)))
        case .date, .newdate, .datetime, .timestamp, .datetime2, .timestamp2:
            let start = reader.readerIndex
            let length = try reader.readUInt8(field)
            guard length == 0 || length == 4 || length == 7 || length == 11 else {
                throw .malformed(field: field, reason: "temporal length \(length), expected 0, 4, 7 or 11", offset: start)
            }
            var dt = MySQLDateTime(year: 0, month: 0, day: 0)
            if length >= 4 {
                dt.year = try reader.readLittleEndian(UInt16.self, field)
                dt.month = try reader.readUInt8(field)
                dt.day = try reader.readUInt8(field)
            }
            if length >= 7 {
                dt.hour = try reader.readUInt8(field)
                dt.minute = try reader.readUInt8(field)
                dt.second = try reader.readUInt8(field)
            }
            if length == 11 { dt.microsecond = try reader.readLittleEndian(UInt32.self, field) }
            if type == .date || type == .newdate { return .date(dt.date) }
            return .datetime(dt)
        case .time, .time2:
            let start = reader.readerIndex
            let length = try reader.readUInt8(field)
            guard length == 0 || length == 8 || length == 12 else {
                throw .malformed(field: field, reason: "time length \(length), expected 0, 8 or 12", offset: start)
            }
            var t = MySQLTime()
            if length >= 8 {
                t.isNegative = try reader.readUInt8(field) != 0
                t.days = try reader.readLittleEndian(UInt32.self, field)
                t.hour = try reader.readUInt8(field)
                t.minute = try reader.readUInt8(field)
                t.second = try reader.readUInt8(field)
            }
            if length == 12 { t.microsecond = try reader.readLittleEndian(UInt32.self, field) }
            return .time(t)
        case .null:
            return .null
        default:
            let start = reader.readerIndex
            let count = try reader.readLengthEncodedLength(field)
            let slice = try reader.readSlice(count, field)
            return try MySQLValue(text: slice, type: type, unsigned: unsigned, binaryCharset: binaryCharset, field: field, offset: start)
        }
    }
}

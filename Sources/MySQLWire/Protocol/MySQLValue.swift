/// A value in a result row or a statement parameter. Text and binary protocol decode to the
/// same values, so a row reads the same whichever protocol carried it.
public enum MySQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case int(Int64)
    case uint(UInt64)
    case float(Float)
    case double(Double)
    case decimal(MySQLDecimal)
    case string(String)
    /// Binary strings: BINARY, VARBINARY, BLOB, GEOMETRY.
    case bytes([UInt8])
    case date(MySQLDate)
    case datetime(MySQLDateTime)
    case time(MySQLTime)
    /// A column of type JSON (MySQL; MariaDB reports JSON columns as LONGTEXT strings).
    case json(String)
    /// A BIT(n) column, big-endian bytes as an integer.
    case bit(UInt64)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var int64: Int64? {
        switch self {
        case let .int(v): return v
        case let .uint(v): return Int64(exactly: v)
        case let .bit(v): return Int64(exactly: v)
        case let .string(s): return Int64(s)
        case let .decimal(d): return Int64(d.description)
        default: return nil
        }
    }

    public var int: Int? { int64.flatMap { Int(exactly: $0) } }

    public var uint64: UInt64? {
        switch self {
        case let .int(v): return UInt64(exactly: v)
        case let .uint(v): return v
        case let .bit(v): return v
        case let .string(s): return UInt64(s)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case let .double(v): return v
        case let .float(v): return Double(v)
        case let .int(v): return Double(v)
        case let .uint(v): return Double(v)
        case let .decimal(d): return Double(d.description)
        case let .string(s): return Double(s)
        default: return nil
        }
    }

    public var string: String? {
        switch self {
        case let .string(s), let .json(s): return s
        case let .bytes(b): return String(validating: b, as: UTF8.self)
        case .null: return nil
        default: return description
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case let .bytes(b): return b
        case let .string(s), let .json(s): return Array(s.utf8)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case let .int(v): return String(v)
        case let .uint(v): return String(v)
        case let .float(v): return String(v)
        case let .double(v): return String(v)
        case let .decimal(v): return v.description
        case let .string(v): return v
        case let .bytes(v): return "0x" + v.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case let .date(v): return v.description
        case let .datetime(v): return v.description
        case let .time(v): return v.description
        case let .json(v): return v
        case let .bit(v): return "b'" + String(v, radix: 2) + "'"
        }
    }
}

extension MySQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}

/// An exact decimal number as the server spells it ("-12.340"): DECIMAL keeps its scale and
/// must not pass through floating point.
public struct MySQLDecimal: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    public let description: String

    /// Accepts `[-+]digits[.digits]`; returns nil for anything else.
    public init?(_ text: String) {
        var utf8 = Array(text.utf8)[...]
        if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        guard !utf8.isEmpty else { return nil }
        var sawDot = false
        var digitsBefore = 0
        var digitsAfter = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
            } else if byte >= 48 && byte <= 57 {
                if sawDot { digitsAfter += 1 } else { digitsBefore += 1 }
            } else {
                return nil
            }
        }
        guard digitsBefore > 0, !sawDot || digitsAfter > 0 else { return nil }
        description = text
    }

    public init(_ value: Int) { description = String(value) }

    /// Digits after the decimal point.
    public var scale: Int {
        guard let dot = description.firstIndex(of: ".") else { return 0 }
        return description.distance(from: dot, to: description.endIndex) - 1
    }
}

public struct MySQLDate: Sendable, Hashable, CustomStringConvertible {
    public var year: UInt16
    public var month: UInt8
    public var day: UInt8

    public init(year: UInt16, month: UInt8, day: UInt8) {
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String {
        pad(Int(year), 4) + "-" + pad(Int(month), 2) + "-" + pad(Int(day), 2)
    }
}

public struct MySQLDateTime: Sendable, Hashable, CustomStringConvertible {
    public var year: UInt16
    public var month: UInt8
    public var day: UInt8
    public var hour: UInt8
    public var minute: UInt8
    public var second: UInt8
    public var microsecond: UInt32

    public init(year: UInt16, month: UInt8, day: UInt8, hour: UInt8 = 0, minute: UInt8 = 0, second: UInt8 = 0, microsecond: UInt32 = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
    }

    public var date: MySQLDate { MySQLDate(year: year, month: month, day: day) }

    public var description: String {
        var text = date.description + " " + pad(Int(hour), 2) + ":" + pad(Int(minute), 2) + ":" + pad(Int(second), 2)
        if microsecond != 0 { text += "." + pad(Int(microsecond), 6) }
        return text
    }
}

/// TIME: a signed duration of up to 838:59:59.999999 (binary protocol: days + hours).
public struct MySQLTime: Sendable, Hashable, CustomStringConvertible {
    public var isNegative: Bool
    public var days: UInt32
    public var hour: UInt8
    public var minute: UInt8
    public var second: UInt8
    public var microsecond: UInt32

    public init(isNegative: Bool = false, days: UInt32 = 0, hour: UInt8 = 0, minute: UInt8 = 0, second: UInt8 = 0, microsecond: UInt32 = 0) {
        self.isNegative = isNegative
        self.days = days
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
    }

    public var totalHours: Int { Int(days) * 24 + Int(hour) }

    public var description: String {
        var text = (isNegative ? "-" : "") + pad(totalHours, 2) + ":" + pad(Int(minute), 2) + ":" + pad(Int(second), 2)
        if microsecond != 0 { text += "." + pad(Int(microsecond), 6) }
        return text
    }
}

@usableFromInline
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Column / parameter type codes (enum_field_types). A struct, not an enum, so an unknown
/// code from a newer server decodes (and is reported) instead of failing the whole packet.
public struct MySQLColumnType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let decimal = MySQLColumnType(rawValue: 0)
    public static let tiny = MySQLColumnType(rawValue: 1)
    public static let short = MySQLColumnType(rawValue: 2)
    public static let long = MySQLColumnType(rawValue: 3)
    public static let float = MySQLColumnType(rawValue: 4)
    public static let double = MySQLColumnType(rawValue: 5)
    public static let null = MySQLColumnType(rawValue: 6)
    public static let timestamp = MySQLColumnType(rawValue: 7)
    public static let longlong = MySQLColumnType(rawValue: 8)
    public static let int24 = MySQLColumnType(rawValue: 9)
    public static let date = MySQLColumnType(rawValue: 10)
    public static let time = MySQLColumnType(rawValue: 11)
    public static let datetime = MySQLColumnType(rawValue: 12)
    public static let year = MySQLColumnType(rawValue: 13)
    public static let newdate = MySQLColumnType(rawValue: 14)
    public static let varchar = MySQLColumnType(rawValue: 15)
    public static let bit = MySQLColumnType(rawValue: 16)
    public static let timestamp2 = MySQLColumnType(rawValue: 17)
    public static let datetime2 = MySQLColumnType(rawValue: 18)
    public static let time2 = MySQLColumnType(rawValue: 19)
    public static let json = MySQLColumnType(rawValue: 245)
    public static let newdecimal = MySQLColumnType(rawValue: 246)
    public static let `enum` = MySQLColumnType(rawValue: 247)
    public static let set = MySQLColumnType(rawValue: 248)
    public static let tinyBlob = MySQLColumnType(rawValue: 249)
    public static let mediumBlob = MySQLColumnType(rawValue: 250)
    public static let longBlob = MySQLColumnType(rawValue: 251)
    public static let blob = MySQLColumnType(rawValue: 252)
    public static let varString = MySQLColumnType(rawValue: 253)
    public static let string = MySQLColumnType(rawValue: 254)
    public static let geometry = MySQLColumnType(rawValue: 255)

    public var description: String {
        switch self {
        case .decimal: return "DECIMAL"
        case .tiny: return "TINY"
        case .short: return "SHORT"
        case .long: return "LONG"
        case .float: return "FLOAT"
        case .double: return "DOUBLE"
        case .null: return "NULL"
        case .timestamp: return "TIMESTAMP"
        case .longlong: return "LONGLONG"
        case .int24: return "INT24"
        case .date: return "DATE"
        case .time: return "TIME"
        case .datetime: return "DATETIME"
        case .year: return "YEAR"
        case .newdate: return "NEWDATE"
        case .varchar: return "VARCHAR"
        case .bit: return "BIT"
        case .json: return "JSON"
        case .newdecimal: return "NEWDECIMAL"
        case .enum: return "ENUM"
        case .set: return "SET"
        case .tinyBlob: return "TINY_BLOB"
        case .mediumBlob: return "MEDIUM_BLOB"
        case .longBlob: return "LONG_BLOB"
        case .blob: return "BLOB"
        case .varString: return "VAR_STRING"
        case .string: return "STRING"
        case .geometry: return "GEOMETRY"
        default: return "TYPE(\(rawValue))"
        }
    }
}

/// Column definition flags.
public struct MySQLColumnFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let notNull = MySQLColumnFlags(rawValue: 1)
    public static let primaryKey = MySQLColumnFlags(rawValue: 2)
    public static let uniqueKey = MySQLColumnFlags(rawValue: 4)
    public static let multipleKey = MySQLColumnFlags(rawValue: 8)
    public static let blob = MySQLColumnFlags(rawValue: 16)
    public static let unsigned = MySQLColumnFlags(rawValue: 32)
    public static let zerofill = MySQLColumnFlags(rawValue: 64)
    public static let binary = MySQLColumnFlags(rawValue: 128)
    public static let `enum` = MySQLColumnFlags(rawValue: 256)
    public static let autoIncrement = MySQLColumnFlags(rawValue: 512)
    public static let timestamp = MySQLColumnFlags(rawValue: 1024)
    public static let set = MySQLColumnFlags(rawValue: 2048)
}

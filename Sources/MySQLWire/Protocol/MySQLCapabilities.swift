/// Capability flags exchanged in the handshake (the lower 32 bits; MariaDB's extended
/// capabilities travel separately).
public struct MySQLCapabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let longPassword = MySQLCapabilities(rawValue: 1 << 0)
    public static let foundRows = MySQLCapabilities(rawValue: 1 << 1)
    public static let longFlag = MySQLCapabilities(rawValue: 1 << 2)
    public static let connectWithDB = MySQLCapabilities(rawValue: 1 << 3)
    public static let noSchema = MySQLCapabilities(rawValue: 1 << 4)
    public static let compress = MySQLCapabilities(rawValue: 1 << 5)
    public static let odbc = MySQLCapabilities(rawValue: 1 << 6)
    public static let localFiles = MySQLCapabilities(rawValue: 1 << 7)
    public static let ignoreSpace = MySQLCapabilities(rawValue: 1 << 8)
    public static let protocol41 = MySQLCapabilities(rawValue: 1 << 9)
    public static let interactive = MySQLCapabilities(rawValue: 1 << 10)
    public static let ssl = MySQLCapabilities(rawValue: 1 << 11)
    public static let ignoreSigpipe = MySQLCapabilities(rawValue: 1 << 12)
    public static let transactions = MySQLCapabilities(rawValue: 1 << 13)
    public static let reserved = MySQLCapabilities(rawValue: 1 << 14)
    public static let secureConnection = MySQLCapabilities(rawValue: 1 << 15)
    public static let multiStatements = MySQLCapabilities(rawValue: 1 << 16)
    public static let multiResults = MySQLCapabilities(rawValue: 1 << 17)
    public static let psMultiResults = MySQLCapabilities(rawValue: 1 << 18)
    public static let pluginAuth = MySQLCapabilities(rawValue: 1 << 19)
    public static let connectAttrs = MySQLCapabilities(rawValue: 1 << 20)
    public static let pluginAuthLengthEncodedClientData = MySQLCapabilities(rawValue: 1 << 21)
    public static let canHandleExpiredPasswords = MySQLCapabilities(rawValue: 1 << 22)
    public static let sessionTrack = MySQLCapabilities(rawValue: 1 << 23)
    public static let deprecateEOF = MySQLCapabilities(rawValue: 1 << 24)
    public static let optionalResultsetMetadata = MySQLCapabilities(rawValue: 1 << 25)
    public static let queryAttributes = MySQLCapabilities(rawValue: 1 << 27)
    public static let sslVerifyServerCert = MySQLCapabilities(rawValue: 1 << 30)

    /// What this client asks for (intersected with what the server offers).
    public static let clientDefault: MySQLCapabilities = [
        .longPassword, .foundRows, .longFlag, .connectWithDB, .protocol41, .transactions,
        .secureConnection, .multiStatements, .multiResults, .psMultiResults, .pluginAuth,
        .pluginAuthLengthEncodedClientData, .deprecateEOF,
    ]

    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// MariaDB's extended capabilities (bits 32–63 of the capability set): sent in the last 4 of
/// the reserved bytes of the greeting and of the client's SSLRequest / HandshakeResponse41,
/// when CLIENT_MYSQL (`.longPassword`) is clear on both sides.
public enum MariaDBCapability {
    public static let progress: UInt32 = 1 << 0
    public static let stmtBulkOperations: UInt32 = 1 << 2
    public static let extendedMetadata: UInt32 = 1 << 3
    /// A column count is followed by a "metadata follows" byte, and an execute whose result
    /// columns the client already has (from the prepare or an earlier execute) skips them.
    public static let cacheMetadata: UInt32 = 1 << 4
}

/// Server status flags (OK/EOF packets, handshake).
public struct MySQLServerStatus: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let inTransaction = MySQLServerStatus(rawValue: 0x0001)
    public static let autocommit = MySQLServerStatus(rawValue: 0x0002)
    public static let moreResultsExist = MySQLServerStatus(rawValue: 0x0008)
    public static let noGoodIndexUsed = MySQLServerStatus(rawValue: 0x0010)
    public static let noIndexUsed = MySQLServerStatus(rawValue: 0x0020)
    public static let cursorExists = MySQLServerStatus(rawValue: 0x0040)
    public static let lastRowSent = MySQLServerStatus(rawValue: 0x0080)
    public static let databaseDropped = MySQLServerStatus(rawValue: 0x0100)
    public static let noBackslashEscapes = MySQLServerStatus(rawValue: 0x0200)
    public static let metadataChanged = MySQLServerStatus(rawValue: 0x0400)
    public static let queryWasSlow = MySQLServerStatus(rawValue: 0x0800)
    public static let psOutParams = MySQLServerStatus(rawValue: 0x1000)
    public static let inReadOnlyTransaction = MySQLServerStatus(rawValue: 0x2000)
    public static let sessionStateChanged = MySQLServerStatus(rawValue: 0x4000)
}

/// Character set ids used in the handshake.
public enum MySQLCharacterSet {
    public static let utf8mb4GeneralCI: UInt8 = 45
    public static let binary: UInt16 = 63
}

/// An error reported by the server (an ERR packet), with named codes for the ones the lab's
/// experiments and retry policies tell apart.
public struct MySQLServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public init(_ rawValue: UInt16) { self.rawValue = rawValue }
        public var description: String { String(rawValue) }

        public static let tooManyConnections = Code(1040)
        public static let handshakeError = Code(1043)
        public static let databaseAccessDenied = Code(1044)
        public static let accessDenied = Code(1045)
        public static let noDatabaseSelected = Code(1046)
        public static let unknownDatabase = Code(1049)
        public static let tableExists = Code(1050)
        public static let badField = Code(1054)
        public static let duplicateEntry = Code(1062)
        public static let parseError = Code(1064)
        public static let noSuchTable = Code(1146)
        public static let lockWaitTimeout = Code(1205)
        public static let deadlock = Code(1213)
        public static let queryInterrupted = Code(1317)
        public static let unknownStatement = Code(1243)
        public static let dataTooLong = Code(1406)
        public static let noReferencedRow = Code(1452)
        public static let rowIsReferenced = Code(1451)
        public static let readOnlyTransaction = Code(1792)
        public static let statementTimeout = Code(1969)   // MariaDB max_statement_time
        public static let maxExecutionTimeExceeded = Code(3024)  // MySQL max_execution_time
        public static let serverShutdown = Code(1053)
        public static let connectionKilled = Code(1927)  // MariaDB ER_CONNECTION_KILLED
    }

    public var code: Code
    public var sqlState: String?
    public var message: String

    public init(code: Code, sqlState: String?, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    public var isDuplicateKey: Bool { code == .duplicateEntry }
    public var isDeadlock: Bool { code == .deadlock }
    public var isLockWaitTimeout: Bool { code == .lockWaitTimeout }
    /// Deadlocks and lock-wait timeouts roll back (all or part of) the transaction: the whole
    /// transaction may be retried.
    public var isTransactionRetriable: Bool { code == .deadlock || code == .lockWaitTimeout }

    public var description: String {
        "MySQL error \(code.rawValue)\(sqlState.map { " (\($0))" } ?? ""): \(message)"
    }
}

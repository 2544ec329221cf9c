/// One result of a statement: rows and their columns (a SELECT), or the counts of a
/// statement without rows (both are ended by an OK packet's fields).
public struct MySQLResultSet: Sendable, Hashable {
    public var columns: [ColumnDefinition41]
    public var rows: [[MySQLValue]]
    public var affectedRows: UInt64
    public var lastInsertID: UInt64
    public var warnings: UInt16
    public var statusFlags: MySQLServerStatus
    public var info: String

    public init(
        columns: [ColumnDefinition41] = [], rows: [[MySQLValue]] = [], affectedRows: UInt64 = 0, lastInsertID: UInt64 = 0,
        warnings: UInt16 = 0, statusFlags: MySQLServerStatus = [], info: String = ""
    ) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
        self.warnings = warnings
        self.statusFlags = statusFlags
        self.info = info
    }

    /// Index of the column called `name`, if any.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

/// Everything a query returned: one result set per statement (multi-statements, stored
/// procedures). The convenience accessors read the first one.
///
/// There is always at least one result set. The first is stored apart from the others: most
/// statements return exactly one, which then costs no array.
public struct MySQLResult: Sendable, Hashable {
    public var first: MySQLResultSet
    /// The result sets after the first.
    public var more: [MySQLResultSet]

    public init(first: MySQLResultSet, more: [MySQLResultSet] = []) {
        self.first = first
        self.more = more
    }

    public var resultSets: [MySQLResultSet] { [first] + more }
    public var columns: [ColumnDefinition41] { first.columns }
    public var rows: [[MySQLValue]] { first.rows }
    public var affectedRows: UInt64 { first.affectedRows }
    public var lastInsertID: UInt64 { first.lastInsertID }
    public var warnings: UInt16 { first.warnings }
}

/// A statement prepared on one connection.
public struct MySQLPreparedStatement: Sendable, Hashable {
    public let id: UInt32
    public let sql: String
    public let parameters: [ColumnDefinition41]
    public let columns: [ColumnDefinition41]
    /// Identity of the connection that owns it (statements are per connection).
    public let connectionID: UInt32

    public init(id: UInt32, sql: String, parameters: [ColumnDefinition41], columns: [ColumnDefinition41], connectionID: UInt32) {
        self.id = id
        self.sql = sql
        self.parameters = parameters
        self.columns = columns
        self.connectionID = connectionID
    }
}

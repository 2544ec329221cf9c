/// The result columns the server believes this connection holds for each prepared statement
/// (MariaDB's cache-metadata capability: an execute then skips sending them).
///
/// The statement used last sits in front of the dictionary: a connection usually executes
/// one statement again and again, and comparing an id costs a few instructions where hashing
/// it costs about two hundred, on every execute.
struct StatementColumnCache: Sendable {
    private struct Entry: Sendable {
        var statementID: UInt32
        var columns: [ColumnDefinition41]
    }

    private var byStatement: [UInt32: [ColumnDefinition41]] = [:]
    private var recent: Entry?

    subscript(statementID: UInt32) -> [ColumnDefinition41]? {
        mutating get {
            if let recent, recent.statementID == statementID { return recent.columns }
            guard let columns = byStatement[statementID] else { return nil }
            recent = Entry(statementID: statementID, columns: columns)
            return columns
        }
        set {
            byStatement[statementID] = newValue
            if let newValue {
                recent = Entry(statementID: statementID, columns: newValue)
            } else if recent?.statementID == statementID {
                recent = nil
            }
        }
    }

    mutating func removeAll() {
        byStatement.removeAll()
        recent = nil
    }
}

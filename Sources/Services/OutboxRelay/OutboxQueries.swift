import Foundation
import MySQLWire

/// The relay's SQL, with the optional aggregate-id prefix filter applied the same way to
/// the poll and to the backlog metric.
struct OutboxQueries: Sendable {
    let aggregateIDPrefix: String?

    /// `AND aggregate_id LIKE CONCAT(?, '%')` when filtering, with LIKE's own wildcards in
    /// the prefix escaped so that they match themselves.
    private var filter: (sql: String, parameters: [MySQLValue]) {
        guard let prefix = aggregateIDPrefix else { return ("", []) }
        let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return (" AND aggregate_id LIKE CONCAT(?, '%')", [.string(escaped)])
    }

    /// The oldest unsent rows, locked; rows another relay holds are skipped, not waited for.
    func poll(limit: Int) -> (sql: String, parameters: [MySQLValue]) {
        let filter = self.filter
        return ("""
            SELECT id, event_id, aggregate_id, type, payload FROM outbox
            WHERE sent_at IS NULL\(filter.sql) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
            """, filter.parameters + [.int(Int64(limit))])
    }

    func markSent(ids: [Int64]) -> (sql: String, parameters: [MySQLValue]) {
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return ("UPDATE outbox SET sent_at = NOW(6) WHERE id IN (\(placeholders))", ids.map { .int($0) })
    }

    /// Unsent rows and the age of the oldest, in seconds (0 when there is none).
    func backlog() -> (sql: String, parameters: [MySQLValue]) {
        let filter = self.filter
        return ("""
            SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(6)), 0)
            FROM outbox WHERE sent_at IS NULL\(filter.sql)
            """, filter.parameters)
    }
}

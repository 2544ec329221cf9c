import MySQLWire
import ServiceKit

/// What the outbox-relay suite adds to ServicesTestKit: the outbox rows a test wrote.
enum OutboxTestKit {
    /// The outbox rows of aggregates starting with `prefix`, in id order.
    static func outboxRows(_ database: ServiceDatabase, aggregatePrefix prefix: String) async throws -> [(id: Int64, eventID: String, aggregateID: String, sent: Bool)] {
        try await database.query(
            "SELECT id, event_id, aggregate_id, sent_at IS NOT NULL FROM outbox WHERE LEFT(aggregate_id, CHAR_LENGTH(?)) = ? ORDER BY id",
            [.string(prefix), .string(prefix)]
        ).rows.map { ($0[0].int64 ?? -1, $0[1].string ?? "", $0[2].string ?? "", $0[3].int64 == 1) }
    }
}

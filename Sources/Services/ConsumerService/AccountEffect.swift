import MySQLWire
import ServiceKit

/// The account handler's effect: a ledger row and the read model moved by the deposit.
/// Deliberately not idempotent by itself (no unique key on the ledger, `balance += amount`):
/// applied twice, it shows as an extra ledger row and a wrong balance — what `processed_event`
/// is there to prevent.
enum AccountEffect {
    static func apply(_ event: AccountDeposited, on connection: MySQLConnection) async throws {
        _ = try await connection.query(
            "INSERT INTO ledger_entry (event_id, account_id, amount_cents, applied_at) VALUES (?, ?, ?, NOW(6))",
            [.string(event.eventId), .string(event.accountId), .int(event.amountCents)])
        _ = try await connection.query("""
            INSERT INTO account_view (account_id, balance_cents, version, applied_events, updated_at)
            VALUES (?, ?, ?, 1, NOW(6))
            ON DUPLICATE KEY UPDATE
                balance_cents = balance_cents + VALUES(balance_cents),
                version = GREATEST(version, VALUES(version)),
                applied_events = applied_events + 1,
                updated_at = VALUES(updated_at)
            """, [.string(event.accountId), .int(event.amountCents), .int(event.version)])
    }
}

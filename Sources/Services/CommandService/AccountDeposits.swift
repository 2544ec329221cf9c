import CoreMetrics
import Foundation
import KafkaWire
import Logging
import MySQLWire
import ServiceKit

/// A deposit the source of truth accepted.
struct DepositReceipt: Encodable, Sendable {
    var eventId: String
    var accountId: String
    var amountCents: Int64
    var balanceCents: Int64
    var version: Int64
    var mode: String
}

/// Why a deposit failed, and so which status answers it.
enum DepositFailure: Error, CustomStringConvertible {
    /// Nothing was committed (the database failed, or a failpoint before COMMIT).
    case notCommitted(String, injected: Bool)
    /// Direct mode: the deposit is committed, but its event never reached Kafka.
    case committedNotPublished(eventID: String, String)

    var description: String {
        switch self {
        case let .notCommitted(why, _): "deposit not recorded: \(why)"
        case let .committedNotPublished(eventID, why):
            "deposit committed (event \(eventID)) but its event was not published: \(why)"
        }
    }
}

/// The deposit command: one transaction that changes the account, records the deposit and
/// (outbox mode) writes the event to the outbox.
struct AccountDeposits: Sendable {
    let database: ServiceDatabase
    let publisher: EventPublisher
    let failpoints: Failpoints
    let mode: CommandService.Mode
    let topic: String
    let logger: Logger

    // A new account starts at version 1; each deposit adds one. The row lock the upsert
    // takes holds until COMMIT, so the SELECT after it reads this deposit's own result.
    static let upsertAccount = """
        INSERT INTO account (id, balance_cents, version, updated_at) VALUES (?, ?, 1, NOW(6))
        ON DUPLICATE KEY UPDATE balance_cents = balance_cents + VALUES(balance_cents), version = version + 1, updated_at = NOW(6)
        """
    static let readAccount = "SELECT balance_cents, version FROM account WHERE id = ?"
    static let insertDeposit = """
        INSERT INTO deposit (event_id, account_id, amount_cents, version, created_at) VALUES (?, ?, ?, ?, NOW(6))
        """
    static let insertOutbox = """
        INSERT INTO outbox (event_id, aggregate_type, aggregate_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, NOW(6))
        """

    func deposit(accountID: String, amountCents: Int64) async throws(DepositFailure) -> DepositReceipt {
        let eventID = UUID().uuidString.lowercased()
        let occurredAt = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let mode = self.mode
        let failpoints = self.failpoints
        let event: AccountDeposited
        do {
            event = try await database.transaction { connection in
                _ = try await connection.query(Self.upsertAccount, [.string(accountID), .int(amountCents)])
                guard let row = try await connection.query(Self.readAccount, [.string(accountID)]).rows.first,
                      row.count == 2, let balance = row[0].int64, let version = row[1].int64
                else { throw ServiceError.dependency("account \(accountID) unreadable right after its upsert") }
                let event = AccountDeposited(
                    eventId: eventID, accountId: accountID, amountCents: amountCents, balanceCents: balance,
                    version: version, occurredAt: occurredAt)
                _ = try await connection.query(
                    Self.insertDeposit, [.string(eventID), .string(accountID), .int(amountCents), .int(version)])
                if mode == .outbox {
                    _ = try await connection.query(Self.insertOutbox, [
                        .string(eventID), .string(AccountDeposited.aggregateType), .string(accountID),
                        .string(AccountDeposited.type), .string(String(decoding: EventCoding.encode(event), as: UTF8.self)),
                    ])
                }
                try await failpoints.hit(CommandService.FailpointName.beforeCommit)
                return event
            }
        } catch let error as FailpointError {
            throw .notCommitted("\(error)", injected: true)
        } catch {
            logger.error("deposit failed", metadata: ["account": "\(accountID)", "error": "\(error)"])
            throw .notCommitted("database: \(error)", injected: false)
        }

        if mode == .outbox {
            // The same point in outbox mode: committed, not yet answered. A crash here loses
            // nothing — the event row committed with the deposit, and the relay publishes it.
            // (E-002 arms this failpoint in both modes to compare them under the same fault.)
            do {
                try await failpoints.hit(CommandService.FailpointName.afterCommitBeforeProduce)
            } catch {
                throw .committedNotPublished(eventID: eventID, "\(error) (the outbox row is committed; the relay will publish it)")
            }
        }
        if mode == .direct {
            // The dual write: the deposit is durable now, its event is not. A crash here
            // (this failpoint, or a real one) loses the event for good.
            do {
                try await failpoints.hit(CommandService.FailpointName.afterCommitBeforeProduce)
                _ = try await publisher.publish([EventPublisher.record(
                    topic: topic, key: accountID, eventID: eventID, type: AccountDeposited.type, value: EventCoding.encode(event))])
            } catch {
                logger.error("deposit committed but not published", metadata: [
                    "account": "\(accountID)", "event": "\(eventID)", "error": "\(error)",
                ])
                Counter(label: "lab_command_deposits_total", dimensions: [("mode", mode.rawValue)]).increment()
                throw .committedNotPublished(eventID: eventID, "\(error)")
            }
        }
        Counter(label: "lab_command_deposits_total", dimensions: [("mode", mode.rawValue)]).increment()
        return DepositReceipt(
            eventId: eventID, accountId: accountID, amountCents: amountCents, balanceCents: event.balanceCents,
            version: event.version, mode: mode.rawValue)
    }

    /// The account as the source of truth has it, or nil.
    func account(_ accountID: String) async throws -> AccountSnapshot? {
        guard let row = try await database.query(Self.readAccount, [.string(accountID)]).rows.first, row.count == 2,
              let balance = row[0].int64, let version = row[1].int64 else { return nil }
        return AccountSnapshot(accountId: accountID, balanceCents: balance, version: version)
    }
}

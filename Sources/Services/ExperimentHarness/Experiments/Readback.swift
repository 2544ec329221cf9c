import Foundation
import KafkaWire
import MySQLWire
import ServiceKit

/// What the experiments read back from the database and the topics to check invariants:
/// always what is there, never what the load intended.
public struct Readback: Sendable {
    let run: ExperimentRun

    public init(_ run: ExperimentRun) { self.run = run }

    /// Event ids of every record on `topic` (the `id` header, else the value's eventId), with
    /// how often each occurs.
    public func eventIDs(on topic: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for record in try await run.inspector.readAll(topic) {
            counts[record.eventID ?? "<record without an event id at \(record.partition):\(record.offset)>", default: 0] += 1
        }
        return counts
    }

    public func records(on topic: String) async throws -> [ConsumerRecord] {
        try await run.inspector.readAll(topic)
    }

    /// Records on `topic` (sum of high watermarks).
    public func recordCount(_ topic: String) async throws -> Int64 {
        try await run.inspector.highWatermarks(topic).values.reduce(0, +)
    }

    /// Event ids of the deposits committed at the source of truth for accounts starting with `prefix`.
    public func committedDeposits(prefix: String) async throws -> Set<String> {
        let rows = try await run.database.query("SELECT event_id FROM deposit WHERE account_id LIKE ?", [.string(prefix + "%")]).rows
        return Set(rows.compactMap { $0.first?.string })
    }

    /// Ledger rows (applied effects) per event id, for accounts starting with `prefix`.
    public func appliedEffects(prefix: String) async throws -> [String: Int] {
        let rows = try await run.database.query(
            "SELECT event_id, COUNT(*) FROM ledger_entry WHERE account_id LIKE ? GROUP BY event_id", [.string(prefix + "%")]).rows
        var counts: [String: Int] = [:]
        for row in rows { if let id = row[0].string { counts[id] = row[1].int ?? 0 } }
        return counts
    }

    public struct AccountState: Sendable, Equatable, CustomStringConvertible {
        public var balanceCents: Int64
        public var version: Int64
        public var description: String { "balance \(balanceCents) v\(version)" }
    }

    /// The source of truth (`account`) per account id starting with `prefix`.
    public func accounts(prefix: String) async throws -> [String: AccountState] {
        try await states("SELECT id, balance_cents, version FROM account WHERE id LIKE ?", prefix)
    }

    /// The read model (`account_view`) per account id starting with `prefix`.
    public func readModel(prefix: String) async throws -> [String: AccountState] {
        try await states("SELECT account_id, balance_cents, version FROM account_view WHERE account_id LIKE ?", prefix)
    }

    private func states(_ sql: String, _ prefix: String) async throws -> [String: AccountState] {
        var result: [String: AccountState] = [:]
        for row in try await run.database.query(sql, [.string(prefix + "%")]).rows {
            guard let id = row[0].string else { continue }
            result[id] = AccountState(balanceCents: row[1].int64 ?? 0, version: row[2].int64 ?? 0)
        }
        return result
    }

    /// Unsent outbox rows.
    public func outboxBacklog() async throws -> Int64 {
        try await run.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
    }

    /// Waits until `group` has committed everything on `topics` (lag 0); returns the last lag seen.
    public func waitLagZero(group: String, topics: [String], timeout: Duration) async throws -> Int64 {
        var lag: Int64 = -1
        _ = try await run.wait("group \(group) lag 0", timeout: timeout, interval: .seconds(1)) {
            lag = (try? await run.inspector.lag(group: group, topics: topics)) ?? -1
            return lag == 0
        }
        return lag
    }
}

/// Produces events straight to a topic (for experiments about the consuming side), each
/// acknowledged (acks=all, idempotent) before it counts as produced.
public enum EventPublisher {
    public static func deposits(
        _ run: ExperimentRun, topic: String, accounts: [String], count: Int
    ) async throws -> [AccountDeposited] {
        let producer = try KafkaProducer(bootstrapServers: run.configuration.kafkaBootstrap, clientID: "lab-harness-publisher")
        var balances: [String: Int64] = [:]
        var versions: [String: Int64] = [:]
        var events: [AccountDeposited] = []
        for index in 0..<count {
            let account = accounts[index % accounts.count]
            let amount = Int64(100 * (1 + index % 7))
            balances[account, default: 0] += amount
            versions[account, default: 0] += 1
            let event = AccountDeposited(
                eventId: UUID().uuidString.lowercased(), accountId: account, amountCents: amount,
                balanceCents: balances[account]!, version: versions[account]!, occurredAt: Int64(Date().timeIntervalSince1970 * 1000))
            events.append(event)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for event in events {
                group.addTask {
                    run.record("publisher", "produce", .invoke, key: event.eventId)
                    _ = try await producer.send(ProducerRecord(
                        topic: topic, key: Array(event.accountId.utf8), value: EventCoding.encode(event),
                        headers: [RecordHeader(key: EventHeaders.id, value: EventHeaders.string(event.eventId)),
                                  RecordHeader(key: EventHeaders.type, value: EventHeaders.string(AccountDeposited.type))]))
                    run.record("publisher", "produce", .ok, key: event.eventId)
                }
            }
            try await group.waitForAll()
        }
        await producer.close()
        return events
    }
}

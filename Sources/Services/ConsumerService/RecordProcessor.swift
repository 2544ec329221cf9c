import KafkaWire
import Logging
import RESP
import ServiceKit

/// Applies one record by the consumption mode: in `idempotent` (and `commit-first`) mode the
/// `processed_event` row and the effect share one transaction, so an event is applied at
/// most once per group however often it is delivered; in `naive` mode the effect runs alone.
struct RecordProcessor: Sendable {
    enum Outcome: Sendable { case applied, duplicate }

    let handler: ConsumerHandler
    let mode: ConsumptionMode
    /// The `consumer_group` recorded in `processed_event`: the main group, for every tier.
    let group: String
    let database: ServiceDatabase
    let failpoints: Failpoints
    let invalidator: AccountCacheInvalidator?
    let poisonRule: PoisonRule
    let poisonHold: Duration
    let metrics: ConsumerMetrics
    let logger: Logger

    func process(_ record: ConsumerRecord) async throws -> Outcome {
        let event = try ConsumedEvent(record, handler: handler)
        // The Debezium `id` header names the event when present; the payload's id otherwise.
        let eventID = record.headerString(EventHeaders.id) ?? event.eventID
        try await failpoints.hit(ConsumerFailpoints.beforeEffect)
        let outcome = try await database.transaction { connection -> Outcome in
            if mode != .naive {
                let claimed = try await connection.query(
                    "INSERT IGNORE INTO processed_event (consumer_group, event_id, processed_at) VALUES (?, ?, NOW(6))",
                    [.string(group), .string(eventID)])
                if claimed.affectedRows == 0 { return .duplicate }
            }
            switch event {
            case let .account(deposit):
                try await AccountEffect.apply(deposit, on: connection)
                return .applied
            case let .secondScenario(scenario):
                let saved = try await SecondScenarioEffect.apply(
                    scenario, poisonRule: poisonRule, poisonHold: poisonHold, on: connection)
                return saved == .saved ? .applied : .duplicate
            }
        }
        try await failpoints.hit(ConsumerFailpoints.afterEffectBeforeCommit)
        if case let .account(deposit) = event {
            // A duplicate invalidates too: the first delivery may have died between its
            // commit and its invalidation, and both invalidations are safe to repeat.
            await invalidate(deposit)
        }
        return outcome
    }

    /// After the commit, so an invalidation never announces data that is not there yet. A
    /// Redis failure does not fail the record (the change is committed; the cache entry
    /// lives until its TTL): it is logged and counted.
    private func invalidate(_ deposit: AccountDeposited) async {
        guard let invalidator else { return }
        do {
            try await invalidator.invalidate(accountID: deposit.accountId, version: deposit.version)
        } catch {
            metrics.cacheInvalidationFailed()
            logger.warning("cache invalidation failed", metadata: [
                "account": "\(deposit.accountId)", "version": "\(deposit.version)", "error": "\(error)",
            ])
        }
    }
}

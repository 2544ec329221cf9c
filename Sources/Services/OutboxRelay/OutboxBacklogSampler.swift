import CoreMetrics
import Logging
import ServiceKit

/// Samples the outbox backlog (`lab_outbox_backlog`: unsent rows) and its oldest unsent
/// row's age (`lab_outbox_oldest_age_seconds`, 0 when none) twice a second, with the relay's
/// own prefix filter. A failed sample keeps the last values (and is logged once per streak).
struct OutboxBacklogSampler: Sendable {
    static let interval: Duration = .milliseconds(500)

    let database: ServiceDatabase
    let queries: OutboxQueries
    let logger: Logger

    func run() async throws {
        let backlog = Gauge(label: "lab_outbox_backlog")
        let oldestAge = Gauge(label: "lab_outbox_oldest_age_seconds")
        var failing = false
        while !Task.isCancelled {
            do {
                let query = queries.backlog()
                let row = try await database.query(query.sql, query.parameters).rows.first ?? []
                backlog.record(row.first?.int64 ?? 0)
                let micros = row.count > 1 ? (row[1].double ?? 0) : 0
                oldestAge.record(max(0, micros) / 1_000_000)
                if failing { logger.info("outbox backlog sampling recovered") }
                failing = false
            } catch {
                if !failing { logger.warning("outbox backlog sampling failed", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try await Task.sleep(for: Self.interval)
        }
    }
}

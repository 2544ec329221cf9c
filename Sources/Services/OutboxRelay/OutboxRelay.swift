import CoreMetrics
import KafkaWire
import Logging
import MySQLWire
import ServiceKit

/// Publishes the transactional outbox to Kafka: polls unsent rows in id order, publishes
/// them with the idempotent producer (key = aggregate id, so one aggregate's events share a
/// partition and keep their order), and marks them sent only after Kafka acknowledged them.
/// Headless; its admin HTTP has /health, /metrics and /failpoints.
///
/// Several relays are safe together (`FOR UPDATE SKIP LOCKED`: each takes different rows),
/// but only one relay keeps per-aggregate order strictly (see `OutboxBatchRelay`).
public struct OutboxRelay: Sendable {
    /// Failpoints this service declares.
    public enum FailpointName {
        /// After a batch's records were acknowledged, before its rows are marked sent.
        public static let afterPublishBeforeMark = OutboxBatchRelay.afterPublishBeforeMark
        public static let all = [afterPublishBeforeMark]
    }

    /// The retry pause after a failed batch: doubling from `initialBackoff` up to `maxBackoff`.
    static let initialBackoff: Duration = .milliseconds(100)
    static let maxBackoff: Duration = .seconds(2)

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run() async throws {
        guard options.batchSize >= 1 else { throw ServiceError.invalidConfiguration("batch size must be ≥ 1") }
        let runtime = try ServiceRuntime(name: "outbox-relay", port: options.port, failpoints: FailpointName.all)
        let logger = runtime.logger
        let database = try ServiceDatabase(
            url: options.mysqlURL, poolName: "outbox-relay",
            pool: ConnectionPoolConfiguration(maximumPoolSize: options.poolSize, connectionTimeout: .seconds(5)),
            logger: logger)
        defer { database.shutdown() }
        let applied = try await Migrations.applyBundled(database)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["versions": "\(applied)"]) }
        try await ServiceKafka.ensureTopics(
            bootstrap: options.kafkaBootstrap, [options.topic], partitions: options.topicPartitions, logger: logger)
        let producer = try KafkaProducer(
            bootstrapServers: options.kafkaBootstrap, clientID: "outbox-relay",
            configuration: KafkaProducerConfiguration(
                acks: .all, idempotent: true, deliveryTimeout: options.deliveryTimeout,
                requestTimeout: min(options.deliveryTimeout, .seconds(10))))

        let queries = OutboxQueries(aggregateIDPrefix: options.aggregateIDPrefix)
        let publishedCounter = Counter(label: "lab_outbox_published_total")
        let batches = OutboxBatchRelay(
            database: database, publisher: OrderedPublisher(producer: producer), queries: queries,
            failpoints: runtime.failpoints, topic: options.topic, batchSize: options.batchSize,
            published: { publishedCounter.increment(by: $0) })
        let sampler = OutboxBacklogSampler(database: database, queries: queries, logger: logger)
        let health = RelayHealth()
        let pollInterval = options.pollInterval
        logger.info("outbox-relay ready", metadata: [
            "topic": "\(options.topic)", "batchSize": "\(options.batchSize)",
            "aggregatePrefix": "\(options.aggregateIDPrefix ?? "(all)")",
        ])

        do {
            try await runtime.run(
                health: { health.reason },
                loops: [
                    { try await Self.relayLoop(batches, health: health, pollInterval: pollInterval, logger: logger) },
                    { try await sampler.run() },
                ])
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    /// Relays batch after batch; sleeps `pollInterval` only when a batch came back empty, and
    /// backs off (doubling, capped) after a failure. Stops between batches when cancelled: a
    /// batch in hand is finished first (in its own task, which cancellation does not reach),
    /// so a clean stop does not leave published-but-unmarked rows behind.
    static func relayLoop(_ batches: OutboxBatchRelay, health: RelayHealth, pollInterval: Duration, logger: Logger) async throws {
        var backoff = initialBackoff
        while !Task.isCancelled {
            let outcome = await Task { () -> Result<Int, OutboxBatchRelay.Failure> in
                do throws(OutboxBatchRelay.Failure) {
                    return .success(try await batches.relayOnce())
                } catch {
                    return .failure(error)
                }
            }.value
            switch outcome {
            case let .success(count):
                if health.reason != nil { logger.info("outbox relay recovered") }
                health.succeeded()
                backoff = initialBackoff
                if count == 0 { try await Task.sleep(for: pollInterval) }
            case let .failure(failure):
                health.failed(failure.stage, failure.error)
                logger.warning("outbox batch failed; rolled back, will retry", metadata: [
                    "stage": "\(failure.stage.rawValue)", "error": "\(failure.error)", "backoff": "\(backoff)",
                ])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, maxBackoff)
            }
        }
    }
}

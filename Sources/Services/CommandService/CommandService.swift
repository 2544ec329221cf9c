import Foundation
import KafkaWire
import Logging
import MySQLWire
import ServiceKit

/// The write side: accepts deposits into accounts (the source of truth in MySQL) and the
/// seed's burst endpoint. In `outbox` mode the event is written to the outbox in the same
/// transaction as the domain change and published later by the outbox-relay; in `direct`
/// mode it commits first and then produces to Kafka itself — the dual write that E-002
/// shows losing events when the process dies between the two.
///
/// HTTP (besides /health, /metrics, /failpoints):
/// - `POST /accounts/{id}/deposits` `{"amountCents": N}` → 201 the deposit's event
/// - `GET /accounts/{id}` → 200 `{"accountId","balanceCents","version"}` or 404
/// - `POST /events/second-scenario` `{"message": "…"}` → 201 `{"eventIds": [3 ids]}`
/// Errors answer `{"error": "<reason>"}`.
public struct CommandService: Sendable {
    /// How a deposit's event reaches Kafka.
    public enum Mode: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Outbox row in the deposit's transaction; the relay publishes it (the standard).
        case outbox
        /// COMMIT, then produce from the request (the misuse of E-002).
        case direct

        public var description: String { rawValue }
    }

    /// Failpoints this service declares.
    public enum FailpointName {
        /// Direct mode, after the deposit committed and before its event is produced.
        public static let afterCommitBeforeProduce = "command.after_commit_before_produce"
        /// Inside the deposit's transaction, just before COMMIT.
        public static let beforeCommit = "command.before_commit"
        public static let all = [afterCommitBeforeProduce, beforeCommit]
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Applies migrations, makes sure the topics exist, opens the pool and the producer, then
    /// serves HTTP until SIGTERM/SIGINT.
    public func run() async throws {
        let runtime = try ServiceRuntime(name: "command-service", port: options.port, failpoints: FailpointName.all)
        let logger = runtime.logger
        let database = try ServiceDatabase(
            url: options.mysqlURL, poolName: "command-service",
            pool: ConnectionPoolConfiguration(maximumPoolSize: options.poolSize, connectionTimeout: options.connectionTimeout),
            logger: logger)
        defer { database.shutdown() }
        let applied = try await Migrations.applyBundled(database)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["versions": "\(applied)"]) }
        try await ServiceKafka.ensureTopics(
            bootstrap: options.kafkaBootstrap, [options.accountTopic, options.scenarioTopic],
            partitions: options.topicPartitions, logger: logger)

        let producer = try KafkaProducer(
            bootstrapServers: options.kafkaBootstrap, clientID: "command-service",
            configuration: KafkaProducerConfiguration(
                acks: .all, idempotent: true, deliveryTimeout: options.produceTimeout,
                requestTimeout: min(options.produceTimeout, .seconds(5))))
        let publisher = EventPublisher(producer: producer)
        let deposits = AccountDeposits(
            database: database, publisher: publisher, failpoints: runtime.failpoints, mode: options.mode,
            topic: options.accountTopic, logger: logger)
        let scenario = SecondScenarioPublisher(publisher: publisher, topic: options.scenarioTopic)
        logger.info("command-service ready", metadata: [
            "mode": "\(options.mode)", "accountTopic": "\(options.accountTopic)", "scenarioTopic": "\(options.scenarioTopic)",
        ])

        do {
            try await runtime.run(routes: { router in
                CommandRoutes.add(to: router, deposits: deposits, scenario: scenario)
            })
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }
}

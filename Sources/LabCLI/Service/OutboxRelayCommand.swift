import ArgumentParser
import OutboxRelay
import ServiceKit

/// `lab service outbox-relay`: publishes the transactional outbox to Kafka.
struct OutboxRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox-relay",
        abstract: "Run the outbox-relay: publish unsent outbox rows to Kafka, mark them sent after the acks.",
        discussion: """
            Per batch, in one transaction: SELECT the oldest unsent rows
            FOR UPDATE SKIP LOCKED, produce them in id order (key = aggregate
            id, headers id and type), wait for every acknowledgement, mark
            them sent, COMMIT. A failure rolls back and retries after a
            doubling backoff (cap 2 s). A crash between publish and mark
            re-publishes the batch (at-least-once). Several relays are safe
            together, but only one keeps per-aggregate order strictly.

            Admin HTTP on 127.0.0.1:PORT: GET /health (503 with the reason
            while batches fail), GET /metrics, GET|PUT|DELETE /failpoints.
            Failpoint: relay.after_publish_before_mark.
            Metrics: lab_outbox_backlog, lab_outbox_oldest_age_seconds,
              lab_outbox_published_total, hikaricp_* (pool "outbox-relay").
            """
    )

    @Option(help: "Admin HTTP port on 127.0.0.1.")
    var port: Int = ServicePorts.outboxRelay

    @Option(name: .customLong("mysql-url"), help: "mysql://USER:PASS@HOST:PORT/DB (default: $LAB_MYSQL_URL, else mysql://lab:lab@127.0.0.1:13306/lab).")
    var mysqlURL: String?

    @Option(name: .customLong("kafka-bootstrap"), help: "HOST:PORT[,…] (default: $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP, else 127.0.0.1:19092).")
    var kafkaBootstrap: String?

    @Option(help: "Topic the outbox's events are published to.")
    var topic: String = "account-events.v1"

    @Option(name: .customLong("topic-partitions"), help: "Partitions of the topic when the relay creates it.")
    var topicPartitions: Int32 = 6

    @Option(name: .customLong("batch-size"), help: "Outbox rows per transaction.")
    var batchSize: Int = 100

    @Option(name: .customLong("poll-interval-ms"), help: "Pause after a poll that found nothing.")
    var pollIntervalMs: Int = 100

    @Option(name: .customLong("pool-size"), help: "MySQL pool size.")
    var poolSize: Int = 4

    @Option(name: .customLong("aggregate-prefix"), help: "Relay only rows whose aggregate_id starts with this (side-by-side tests and experiments).")
    var aggregatePrefix: String?

    @Option(name: .customLong("delivery-timeout-ms"), help: "How long a batch waits for its acknowledgements before it is rolled back and retried.")
    var deliveryTimeoutMs: Int = 15_000

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port: want 1…65535") }
        guard !topic.isEmpty else { throw ValidationError("--topic must not be empty") }
        guard topicPartitions >= 1 else { throw ValidationError("--topic-partitions: must be ≥ 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size: must be ≥ 1") }
        guard pollIntervalMs >= 0 else { throw ValidationError("--poll-interval-ms: must be ≥ 0") }
        guard poolSize >= 2 else { throw ValidationError("--pool-size: must be ≥ 2 (one for batches, one for the backlog metric)") }
        guard deliveryTimeoutMs >= 1 else { throw ValidationError("--delivery-timeout-ms: must be ≥ 1") }
        if let aggregatePrefix, aggregatePrefix.isEmpty { throw ValidationError("--aggregate-prefix must not be empty") }
    }

    func run() async throws {
        let environment = ServiceEnvironment()
        let options = OutboxRelay.Options(
            port: port, mysqlURL: mysqlURL ?? environment.mysqlURL, kafkaBootstrap: kafkaBootstrap ?? environment.kafkaBootstrap,
            topic: topic, topicPartitions: topicPartitions, batchSize: batchSize, pollInterval: .milliseconds(pollIntervalMs),
            poolSize: poolSize, aggregateIDPrefix: aggregatePrefix, deliveryTimeout: .milliseconds(deliveryTimeoutMs))
        try await OutboxRelay(options: options).run()
    }
}

import ArgumentParser
import ConsumerService
import KafkaWire
import Logging
import MySQLWire
import ServiceKit

/// `lab service consumer`: the consumer-service (headless; admin HTTP only).
struct ConsumerServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer",
        abstract: "The consumer-service: consume a topic into MySQL, with retry topics and a dead-letter topic.",
        discussion: """
            One consumer per topic: the main topic (group --group) and each retry tier
            TOPIC-retry-N (group GROUP-retry-N), all sharing one connection pool. A poll
            batch is split into --workers lanes by key hash (per-key order kept); its
            offsets are committed after the whole batch, once every failed record was
            acknowledged on its next topic (TOPIC-retry-N, then TOPIC-dlt). A retry tier
            holds a record until its retry_topic-backoff-timestamp header.

            Modes: idempotent (processed_event + effect in one transaction), naive
            (effect only: a redelivered record is applied twice, E-003), commit-first
            (offsets committed before processing, E-004).

            HTTP on 127.0.0.1:--port: /health (unhealthy until every listener joined its
            group and while one cannot poll), /metrics, /failpoints. Failpoints:
            consumer.before_effect, consumer.after_effect_before_commit,
            consumer.after_offset_commit.

            Examples:
              lab service consumer --handler second-scenario \\
                --poison-rule random-value-mod-10
              lab service consumer --mode naive --port 28083
            """
    )

    @Option(help: "Admin HTTP port.")
    var port: Int = ServicePorts.consumerService

    @Option(help: "MySQL URL (default: LAB_MYSQL_URL).")
    var mysqlURL: String = ServiceEnvironment().mysqlURL

    @Option(help: "Kafka bootstrap servers (default: LAB_KAFKA_BOOTSTRAP, else LAB_KAFKA_TANSU_BOOTSTRAP).")
    var kafkaBootstrap: String = ServiceEnvironment().kafkaBootstrap

    @Option(help: "Redis URL for cache invalidation (default: LAB_REDIS_URL).")
    var redisURL: String = ServiceEnvironment().redisURL

    @Option(help: "What records are: account (AccountDeposited) or second-scenario (SecondScenarioEvent).")
    var handler: String = ConsumerHandler.account.rawValue

    @Option(help: "Main topic (default: account-events.v1, or second-scenario.v1 for that handler).")
    var topic: String?

    @Option(help: "Consumer group of the main topic (retry tier N: GROUP-retry-N).")
    var group: String = "consumer-service"

    @Option(help: "idempotent, naive or commit-first.")
    var mode: String = ConsumptionMode.idempotent.rawValue

    @Option(help: "Lanes a poll batch is split into (concurrent processing).")
    var workers: Int = 10

    @Option(help: "Connection pool name (the `pool` label of hikaricp_* metrics).")
    var poolName: String = "consumer"

    @Option(help: "Connection pool size (maximumPoolSize; the pool is fixed-size).")
    var poolSize: Int = 20

    @Option(help: "How long a record waits for a pooled connection before it fails (ms).")
    var poolConnectionTimeoutMs: Int = 2000

    @Option(help: "How long a connection liveness check may take (ms).")
    var poolValidationTimeoutMs: Int = 1000

    @Option(help: "Connections are retired after this long (ms).")
    var poolMaxLifetimeMs: Int = 600_000

    @Option(help: "Idle connections are pinged this often (ms).")
    var poolKeepaliveMs: Int = 30_000

    @Option(help: "Retry tier delays in ms, comma-separated, or none (failures go straight to TOPIC-dlt).")
    var retryTiers: String = "1000,2000,10000"

    @Option(help: "none, or random-value-mod-10 (second-scenario: randomValue % 10 == 0 fails on purpose).")
    var poisonRule: String = PoisonRule.none.rawValue

    @Option(help: "How long a poison record holds its connection before failing (ms).")
    var poisonHoldMs: Int = 3000

    @Option(help: "Account handler's cache invalidation after commit: none, del or versioned.")
    var cacheInvalidation: String = CacheInvalidationMode.versioned.rawValue

    @Option(help: "Records per poll at most.")
    var maxPollRecords: Int = 100

    @Option(help: "Where a group without a committed offset starts: earliest or latest.")
    var autoOffsetReset: String = OffsetResetStrategy.earliest.rawValue

    @Option(help: "Partitions of the topics created at start (existing topics are left as they are).")
    var topicPartitions: Int32 = 6

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func options() throws -> ConsumerService.Options {
        guard let handler = ConsumerHandler(rawValue: handler) else {
            throw ValidationError("--handler: want \(ConsumerHandler.allCases.map(\.rawValue).joined(separator: " or ")), got '\(handler)'")
        }
        var options = ConsumerService.Options(handler: handler, topic: topic)
        options.port = port
        options.mysqlURL = mysqlURL
        options.kafkaBootstrap = kafkaBootstrap
        options.redisURL = redisURL
        options.group = group
        guard let mode = ConsumptionMode(rawValue: mode) else {
            throw ValidationError("--mode: want \(ConsumptionMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'")
        }
        options.mode = mode
        options.workers = workers
        options.poolName = poolName
        for (flag, value) in [("--pool-connection-timeout-ms", poolConnectionTimeoutMs), ("--pool-validation-timeout-ms", poolValidationTimeoutMs),
                              ("--pool-max-lifetime-ms", poolMaxLifetimeMs), ("--pool-keepalive-ms", poolKeepaliveMs)] where value <= 0 {
            throw ValidationError("\(flag): must be > 0 ms (got \(value))")
        }
        options.pool = ConnectionPoolConfiguration(
            maximumPoolSize: poolSize, connectionTimeout: .milliseconds(poolConnectionTimeoutMs),
            validationTimeout: .milliseconds(poolValidationTimeoutMs), maxLifetime: .milliseconds(poolMaxLifetimeMs),
            keepaliveTime: .milliseconds(poolKeepaliveMs))
        do {
            options.retryTiers = try ConsumerService.Options.parseRetryTiers(retryTiers)
        } catch {
            throw ValidationError("--retry-tiers: \(error)")
        }
        guard let poisonRule = PoisonRule(rawValue: poisonRule) else {
            throw ValidationError("--poison-rule: want \(PoisonRule.allCases.map(\.rawValue).joined(separator: " or ")), got '\(poisonRule)'")
        }
        options.poisonRule = poisonRule
        guard poisonHoldMs >= 0 else { throw ValidationError("--poison-hold-ms: must be ≥ 0") }
        options.poisonHold = .milliseconds(poisonHoldMs)
        guard let invalidation = CacheInvalidationMode(rawValue: cacheInvalidation) else {
            throw ValidationError("--cache-invalidation: want none, del or versioned, got '\(cacheInvalidation)'")
        }
        options.cacheInvalidation = invalidation
        options.maxPollRecords = maxPollRecords
        guard let reset = OffsetResetStrategy(rawValue: autoOffsetReset), reset != .none else {
            throw ValidationError("--auto-offset-reset: want earliest or latest, got '\(autoOffsetReset)'")
        }
        options.autoOffsetReset = reset
        options.topicPartitions = topicPartitions
        do {
            try options.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return options
    }

    func validate() throws {
        _ = try options()
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
    }

    func run() async throws {
        try await ConsumerService(options: try options()).run(logLevel: Logger.Level(rawValue: logLevel) ?? .info)
    }
}

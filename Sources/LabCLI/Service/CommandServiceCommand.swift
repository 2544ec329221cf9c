import ArgumentParser
import CommandService
import ServiceKit

/// `lab service command`: the command-service (deposits, the seed's burst endpoint).
struct CommandServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Run the command-service: deposits into accounts (outbox or direct produce) and the burst endpoint.",
        discussion: """
            HTTP on 127.0.0.1:PORT (errors answer {"error": "<reason>"}):
              POST /accounts/{id}/deposits  {"amountCents": 1…100000000}
                → 201 {"eventId","accountId","amountCents","balanceCents",
                       "version","mode"}
              GET  /accounts/{id}
                → 200 {"accountId","balanceCents","version"} | 404
              POST /events/second-scenario  {"message": "<1–200 chars>"}
                → 201 {"eventIds": [3 ids]} (3 SecondScenarioEvents)
              GET /health, GET /metrics, GET|PUT|DELETE /failpoints[/NAME]

            --mode outbox (the standard): the event is written to the outbox
            table in the deposit's transaction; `lab service outbox-relay`
            publishes it. --mode direct (the misuse of E-002): COMMIT, then
            produce from the request; a crash in between loses the event.

            Failpoints: command.before_commit,
              command.after_commit_before_produce (direct mode).
            Metrics: lab_events_published_total{topic},
              lab_command_deposits_total{mode}, hikaricp_* (pool
              "command-service"), HTTP request counts and latencies.
            """
    )

    @Option(help: "HTTP port on 127.0.0.1.")
    var port: Int = ServicePorts.commandService

    @Option(name: .customLong("mysql-url"), help: "mysql://USER:PASS@HOST:PORT/DB (default: $LAB_MYSQL_URL, else mysql://lab:lab@127.0.0.1:13306/lab).")
    var mysqlURL: String?

    @Option(name: .customLong("kafka-bootstrap"), help: "HOST:PORT[,…] (default: $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP, else 127.0.0.1:19092).")
    var kafkaBootstrap: String?

    @Option(help: "How deposits' events reach Kafka: outbox or direct.")
    var mode: String = CommandService.Mode.outbox.rawValue

    @Option(name: .customLong("account-topic"), help: "Topic of AccountDeposited events (direct mode produces to it).")
    var accountTopic: String = "account-events.v1"

    @Option(name: .customLong("scenario-topic"), help: "Topic of the burst endpoint's SecondScenarioEvents.")
    var scenarioTopic: String = "second-scenario.v1"

    @Option(name: .customLong("topic-partitions"), help: "Partitions of the topics when this service creates them.")
    var topicPartitions: Int32 = 6

    @Option(name: .customLong("pool-size"), help: "MySQL pool size (the seed's producer app: 10).")
    var poolSize: Int = 10

    @Option(name: .customLong("connection-timeout-ms"), help: "How long a request waits for a pooled connection (the seed's: 2000).")
    var connectionTimeoutMs: Int = 2000

    @Option(name: .customLong("produce-timeout-ms"), help: "How long a produce may wait for its acknowledgement before the request fails.")
    var produceTimeoutMs: Int = 10_000

    func validate() throws {
        guard CommandService.Mode(rawValue: mode) != nil else { throw ValidationError("--mode: want outbox or direct, got '\(mode)'") }
        guard (1...65535).contains(port) else { throw ValidationError("--port: want 1…65535") }
        guard topicPartitions >= 1 else { throw ValidationError("--topic-partitions: must be ≥ 1") }
        guard poolSize >= 1 else { throw ValidationError("--pool-size: must be ≥ 1") }
        guard connectionTimeoutMs >= 1 else { throw ValidationError("--connection-timeout-ms: must be ≥ 1") }
        guard produceTimeoutMs >= 1 else { throw ValidationError("--produce-timeout-ms: must be ≥ 1") }
        guard !accountTopic.isEmpty, !scenarioTopic.isEmpty else { throw ValidationError("topic names must not be empty") }
    }

    func run() async throws {
        let environment = ServiceEnvironment()
        let options = CommandService.Options(
            port: port, mysqlURL: mysqlURL ?? environment.mysqlURL, kafkaBootstrap: kafkaBootstrap ?? environment.kafkaBootstrap,
            mode: CommandService.Mode(rawValue: mode) ?? .outbox, accountTopic: accountTopic, scenarioTopic: scenarioTopic,
            topicPartitions: topicPartitions, poolSize: poolSize, connectionTimeout: .milliseconds(connectionTimeoutMs),
            produceTimeout: .milliseconds(produceTimeoutMs))
        try await CommandService(options: options).run()
    }
}

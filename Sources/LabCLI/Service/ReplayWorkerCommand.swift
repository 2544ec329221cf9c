import ArgumentParser
import Foundation
import Logging
import ReplayWorker
import ServiceKit

/// `lab service replay-worker`: replays dead-letter topics, over HTTP or once.
struct ReplayWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-worker",
        abstract: "The replay-worker: replay a dead-letter topic to the original topics, each event once.",
        discussion: """
            Serves POST /replays on 127.0.0.1:--port with a JSON body
              {"dltTopic": "T-dlt", "key": "…", "fromTimestampMs": N,
               "toTimestampMs": N, "ratePerSecond": N, "targetTopic": "…"}
            (all but dltTopic optional)
            and answers, once the replay is done,
            {"scanned","replayed","skippedAlreadyReplayed","filteredOut"}. A replay
            reads the topic from its beginning to the end offsets it has at the start;
            an event id already in replay_log is skipped; a record goes to targetTopic,
            else to its kafka_dlt-original-topic header, without the retry/DLT headers
            and with lab-replayed-from = DLT@PARTITION:OFFSET. Also /health, /metrics,
            /failpoints (replay.after_produce_before_record).

            With --once: one replay, its summary JSON on stdout, exit 0 (logs on
            stderr).

            Examples:
              lab service replay-worker
              lab service replay-worker --once --dlt-topic T-dlt --rate 500
            """
    )

    @Option(help: "HTTP port.")
    var port: Int = ServicePorts.replayWorker

    @Option(help: "MySQL URL (default: LAB_MYSQL_URL).")
    var mysqlURL: String = ServiceEnvironment().mysqlURL

    @Option(help: "Kafka bootstrap servers (default: LAB_KAFKA_BOOTSTRAP, else LAB_KAFKA_TANSU_BOOTSTRAP).")
    var kafkaBootstrap: String = ServiceEnvironment().kafkaBootstrap

    @Option(help: "Records per second when a request does not give ratePerSecond.")
    var defaultRate: Double = 200

    @Flag(help: "Run one replay (--dlt-topic …), print its summary JSON and exit.")
    var once = false

    @Option(help: "With --once: the dead-letter topic.")
    var dltTopic: String?

    @Option(help: "With --once: only records with this key.")
    var key: String?

    @Option(help: "With --once: only records with timestamp ≥ this (ms since the epoch).")
    var fromMs: Int64?

    @Option(help: "With --once: only records with timestamp ≤ this (ms since the epoch).")
    var toMs: Int64?

    @Option(help: "With --once: records per second (default: --default-rate).")
    var rate: Double?

    @Option(help: "With --once: send every record here instead of its kafka_dlt-original-topic.")
    var targetTopic: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    var options: ReplayWorker.Options {
        var options = ReplayWorker.Options()
        options.port = port
        options.mysqlURL = mysqlURL
        options.kafkaBootstrap = kafkaBootstrap
        options.defaultRatePerSecond = defaultRate
        return options
    }

    var request: ReplayRequest? {
        dltTopic.map {
            ReplayRequest(dltTopic: $0, key: key, fromTimestampMs: fromMs, toTimestampMs: toMs, ratePerSecond: rate, targetTopic: targetTopic)
        }
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        do {
            try options.validate()
            if once {
                guard let request else { throw ValidationError("--once needs --dlt-topic") }
                try request.validate()
            } else if dltTopic != nil || key != nil || fromMs != nil || toMs != nil || rate != nil || targetTopic != nil {
                throw ValidationError("--dlt-topic, --key, --from-ms, --to-ms, --rate and --target-topic go with --once")
            }
        } catch let error as ServiceError {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let worker = ReplayWorker(options: options)
        guard once, let request else {
            try await worker.run(logLevel: level)
            return
        }
        let summary = try await worker.runOnce(request, logLevel: level)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
    }
}

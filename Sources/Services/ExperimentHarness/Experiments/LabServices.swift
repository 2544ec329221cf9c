import Foundation
import ServiceKit

/// How the experiments start the lab's services (`lab service …`): the flags in one place.
public enum LabServices {
    public static let commandPort = ServicePorts.commandService
    public static let queryPort = ServicePorts.queryService
    public static let relayPort = ServicePorts.outboxRelay
    public static let consumerPort = ServicePorts.consumerService
    public static let replayPort = ServicePorts.replayWorker

    static func failpoints(_ spec: String?) -> [String: String] { ["LAB_FAILPOINTS": spec ?? ""] }

    @discardableResult
    public static func command(
        _ run: ExperimentRun, mode: String = "outbox", accountTopic: String = "account-events.v1",
        scenarioTopic: String = "second-scenario.v1", failpoints spec: String? = nil
    ) async throws -> ServiceProcess {
        try await run.startService("command-service", port: commandPort, [
            "command", "--mode", mode, "--account-topic", accountTopic, "--scenario-topic", scenarioTopic,
        ], environment: failpoints(spec))
    }

    @discardableResult
    public static func relay(_ run: ExperimentRun, topic: String, failpoints spec: String? = nil) async throws -> ServiceProcess {
        try await run.startService("outbox-relay", port: relayPort, ["outbox-relay", "--topic", topic], environment: failpoints(spec))
    }

    public struct ConsumerSettings: Sendable {
        public var handler = "account"
        public var topic: String
        public var group: String
        public var mode = "idempotent"
        public var workers = 10
        public var poolSize = 20
        public var retryTiers = "1000,2000,10000"
        public var poisonRule = "none"
        public var poisonHoldMs = 3000
        public var cacheInvalidation = "versioned"
        public var maxPollRecords = 100

        public init(handler: String, topic: String, group: String) {
            self.handler = handler
            self.topic = topic
            self.group = group
        }
    }

    @discardableResult
    public static func consumer(
        _ run: ExperimentRun, _ settings: ConsumerSettings, failpoints spec: String? = nil, name: String = "consumer-service"
    ) async throws -> ServiceProcess {
        try await run.startService(name, port: consumerPort, [
            "consumer", "--handler", settings.handler, "--topic", settings.topic, "--group", settings.group,
            "--mode", settings.mode, "--workers", "\(settings.workers)", "--pool-size", "\(settings.poolSize)",
            "--retry-tiers", settings.retryTiers, "--poison-rule", settings.poisonRule,
            "--poison-hold-ms", "\(settings.poisonHoldMs)", "--cache-invalidation", settings.cacheInvalidation,
            "--max-poll-records", "\(settings.maxPollRecords)",
        ], environment: failpoints(spec))
    }

    @discardableResult
    public static func query(_ run: ExperimentRun, cacheMode: String = "versioned") async throws -> ServiceProcess {
        try await run.startService("query-service", port: queryPort, ["query", "--cache-mode", cacheMode])
    }

    @discardableResult
    public static func replayWorker(_ run: ExperimentRun) async throws -> ServiceProcess {
        try await run.startService("replay-worker", port: replayPort, ["replay-worker"])
    }

    /// Restarts `process`'s service when it has died (a crash failpoint), inside a fault window
    /// that opens at the death and closes once the replacement is healthy. Returns whether
    /// the process died within `within`.
    public static func awaitCrashAndRestart(
        _ run: ExperimentRun, _ process: ServiceProcess, label: String, within: Duration, downtime: Duration = .seconds(1),
        restart: @Sendable () async throws -> ServiceProcess
    ) async throws -> (crashed: Bool, replacement: ServiceProcess?) {
        guard let status = await process.waitExit(timeout: within) else { return (false, nil) }
        let fault = run.beginFault("\(label) (exit status \(status))")
        run.record("harness", "crash \(process.name)", .ok, value: "exit status \(status)")
        try await Task.sleep(for: downtime)
        let replacement = try await restart()
        run.endFault(fault)
        return (true, replacement)
    }
}

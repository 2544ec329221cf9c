import ExperimentReport
import Foundation
import KafkaWire
import MySQLWire
import ServiceKit
import Synchronization

/// One run of one experiment: what it started, what it did (history), what it injected
/// (fault windows), what it sampled (metrics) and what it concluded (invariants, figures).
/// Experiments only talk to this; the report is written from it at the end.
public final class ExperimentRun: Sendable {
    public typealias Phase = OperationHistory.Phase

    struct State {
        var faults: [FaultWindow] = []
        var invariants: [InvariantResult] = []
        var figures: [(String, String)] = []
        var notes: [String] = []
        var configuration: [(String, String)] = []
        var samples = MetricSeries()
        var services: [ServiceProcess] = []
        var serviceStarts: [String: Int] = [:]
        var plots: [(file: String, title: String, series: [String])] = []
    }

    public let experiment: any Experiment
    public let configuration: HarnessConfiguration
    /// Short random tag that makes this run's topics and groups its own.
    public let tag: String
    public let folder: String
    public let startedAt: Date
    private let clockStart = ContinuousClock.now
    private let state = Mutex(State())

    public let history: OperationHistory
    public let database: ServiceDatabase
    public let inspector: TopicInspector

    init(experiment: any Experiment, configuration: HarnessConfiguration) throws {
        self.experiment = experiment
        self.configuration = configuration
        tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        startedAt = Date()
        let directory = try ReportWriter(root: URL(fileURLWithPath: configuration.reportRoot))
            .createRunDirectory(experimentID: experiment.id, startedAt: startedAt)
        folder = directory.path
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        history = try OperationHistory(url: ReportWriter.historyURL(in: directory), startedAt: startedAt)
        database = try ServiceDatabase(
            url: configuration.mysqlURL, poolName: "harness",
            pool: ConnectionPoolConfiguration(maximumPoolSize: 4, minimumIdle: 0, connectionTimeout: .seconds(10)))
        inspector = try TopicInspector(bootstrap: configuration.kafkaBootstrap)
    }

    /// Seconds since the run started.
    public var elapsed: Double {
        let duration = ContinuousClock.now - clockStart
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public var quick: Bool { configuration.quick }

    /// A name unique to this run: `<base>.<tag>`.
    public func unique(_ base: String) -> String { "\(base).\(tag)" }

    // MARK: Progress and records

    /// Enters a phase (printed, and a line of the history).
    public func phase(_ name: String) {
        record("harness", "phase", .ok, value: name)
        say("phase: \(name)")
    }

    public func say(_ text: String) {
        let line = String(format: "[%@ %6.1fs] ", experiment.id, elapsed) + text + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One line of history.jsonl: an operation's invoke, or its completion.
    public func record(_ process: String, _ op: String, _ phase: Phase, key: String? = nil, value: String? = nil, error: String? = nil) {
        history.record(process: process, op: op, phase: phase, key: key.map { .string($0) }, value: value.map { .string($0) }, error: error)
    }

    /// Opens a fault window; returns its index for `endFault`.
    @discardableResult
    public func beginFault(_ label: String) -> Int {
        let start = elapsed
        say("fault: \(label)")
        return state.withLock { state in
            state.faults.append(FaultWindow(label: label, start: start))
            return state.faults.count - 1
        }
    }

    public func endFault(_ index: Int) {
        let end = elapsed
        state.withLock { state in
            guard state.faults.indices.contains(index) else { return }
            state.faults[index].end = end
        }
        say("healed: \(state.withLock { $0.faults[index].label })")
    }

    /// Records an invariant's verdict (and prints it).
    @discardableResult
    public func check(_ name: String, expect expectation: String, observed: String, _ passed: Bool) -> Bool {
        state.withLock { $0.invariants.append(InvariantResult(name: name, expectation: expectation, observed: observed, passed: passed)) }
        say("\(passed ? "PASS" : "FAIL") \(name): \(observed)")
        return passed
    }

    public func figure(_ name: String, _ value: CustomStringConvertible) {
        state.withLock { $0.figures.append((name, value.description)) }
    }

    /// Asks for an SVG plot of the sampled `series` (with the fault windows marked) in the report.
    public func plot(_ file: String, title: String, series: [String]) {
        state.withLock { $0.plots.append((file, title, series)) }
    }

    public func note(_ text: String) { state.withLock { $0.notes.append(text) } }

    public func setting(_ name: String, _ value: CustomStringConvertible) {
        state.withLock { $0.configuration.append((name, value.description)) }
    }

    func addSample(t: Double, _ values: [String: Double]) {
        state.withLock { $0.samples.addSample(t, values) }
    }

    var snapshot: State { state.withLock { $0 } }

    // MARK: Services

    /// Starts `lab service <arguments…>` and waits until it is healthy. A service armed with a
    /// crash failpoint may die before it reports healthy (it had work waiting): that is the
    /// fault the experiment wants, so then the dead process is returned, not an error.
    @discardableResult
    public func startService(
        _ name: String, port: Int, _ arguments: [String], environment: [String: String] = [:], waitHealthy: Bool = true
    ) async throws -> ServiceProcess {
        let crashArmed = environment["LAB_FAILPOINTS"]?.contains("=crash") ?? false
        let index = state.withLock { state -> Int in
            state.serviceStarts[name, default: 0] += 1
            return state.serviceStarts[name]!
        }
        var env = environment
        env["LAB_MYSQL_URL"] = configuration.mysqlURL
        env["LAB_KAFKA_BOOTSTRAP"] = configuration.kafkaBootstrap
        env["LAB_REDIS_URL"] = configuration.redisURL
        if env["LAB_FAILPOINTS"] == nil { env["LAB_FAILPOINTS"] = "" }
        let process = try ServiceProcess.start(
            name: name, executable: configuration.labExecutable, arguments: arguments + ["--port", "\(port)"], environment: env,
            port: port, logPath: "\(folder)/logs/\(name)-\(index).log")
        state.withLock { $0.services.append(process) }
        record("harness", "start \(name)", .ok, value: "pid \(process.pid)" + (env["LAB_FAILPOINTS"]!.isEmpty ? "" : ", failpoints \(env["LAB_FAILPOINTS"]!)"))
        say("started \(name) (pid \(process.pid), port \(port))" + (env["LAB_FAILPOINTS"]!.isEmpty ? "" : " failpoints: \(env["LAB_FAILPOINTS"]!)"))
        if waitHealthy {
            do {
                try await process.waitHealthy()
            } catch where crashArmed && !process.isRunning {
                say("\(name) died before it was healthy (its crash failpoint fired at once)")
            }
        }
        return process
    }

    /// Stops every service this run started that still runs (SIGTERM, then SIGKILL).
    public func stopServices() async {
        for process in state.withLock({ $0.services }) where process.isRunning {
            await process.stop()
        }
    }

    // MARK: Database

    /// Applies the migrations to the experiments' database and empties its tables.
    public func resetDatabase() async throws {
        try await Migrations.applyBundled(database)
        for table in ["account", "deposit", "outbox", "processed_event", "account_view", "ledger_entry", "scenario_event", "replay_log"] {
            try await database.query("TRUNCATE TABLE \(table)")
        }
    }

    /// The first column of the first row as an integer (COUNT(*) and the like).
    public func scalar(_ sql: String, _ parameters: [MySQLValue] = []) async throws -> Int64 {
        try await database.query(sql, parameters).rows.first?.first?.int64 ?? 0
    }

    // MARK: Waiting

    /// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
    public func wait(
        _ what: String, timeout: Duration, interval: Duration = .milliseconds(500), _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        say("gave up waiting for \(what) after \(timeout)")
        return try await condition()
    }

    func close() async {
        await stopServices()
        database.shutdown()
        await inspector.close()
    }
}

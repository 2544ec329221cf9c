import Logging
import ServiceKit

/// The consumer-service as a process: the admin HTTP endpoints (/health, /metrics,
/// /failpoints) around a `ConsumerEngine`, which does the consuming.
public struct ConsumerService: Sendable {
    public static let name = "consumer-service"

    public var options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Runs until SIGTERM/SIGINT, then finishes the batch in hand and closes.
    public func run(logLevel: Logger.Level = .info) async throws {
        try options.validate()
        let runtime = try ServiceRuntime(
            name: Self.name, port: options.port, failpoints: ConsumerFailpoints.all, logLevel: logLevel)
        let engine = try ConsumerEngine(options: options, failpoints: runtime.failpoints, logger: runtime.logger)
        try await runtime.run(health: { engine.healthProblem() }, loops: [{ try await engine.run() }])
    }
}

/// The places where experiments inject faults into the consumer.
public enum ConsumerFailpoints {
    /// Per record, before its transaction (no connection held yet).
    public static let beforeEffect = "consumer.before_effect"
    /// Per record, after its DB transaction committed and before the batch's offsets are
    /// committed: a crash here redelivers the batch (E-003; `naive` applies it twice).
    public static let afterEffectBeforeCommit = "consumer.after_effect_before_commit"
    /// Per batch in `commit-first` mode, after the early offset commit and before any
    /// processing: a crash here loses the batch (E-004). An `error` here drops the batch
    /// without dying — the same loss, seen from inside.
    public static let afterOffsetCommit = "consumer.after_offset_commit"

    public static let all = [beforeEffect, afterEffectBeforeCommit, afterOffsetCommit]
}

import ServiceKit
import Synchronization

/// What one operation of a load came to, Jepsen-style: `ok` and `fail` are definite;
/// `unknown` means the request may or may not have taken effect (the connection broke or
/// timed out after it was sent) — the invariants must hold either way.
public enum OperationOutcome: Sendable {
    case ok(String?)
    case fail(String)
    case unknown(String)
}

/// The shared counters of one load (a class: the workers and the progress task hold it).
final class LoadState: Sendable {
    let next = Atomic<Int>(0)
    let totals = Mutex(LoadDriver.Totals())
}

/// Runs a bounded number of operations with bounded concurrency, recording each one's
/// invoke and completion in the run's history, and printing progress as it goes.
public enum LoadDriver {
    /// Completed operations so far (for a load that reacts to its own progress).
    public struct Totals: Sendable, CustomStringConvertible {
        public var ok = 0
        public var fail = 0
        public var unknown = 0
        public var total: Int { ok + fail + unknown }
        public var description: String { "ok \(ok), fail \(fail), unknown \(unknown)" }
    }

    /// Runs `operation(i)` for i in 0..<count on `concurrency` workers, at most `ratePerSecond`
    /// operations started per second when given (a steady load rather than a burst). `status`
    /// adds to the progress line (e.g. the pool gauges).
    public static func run(
        _ run: ExperimentRun, process: String, op: String, count: Int, concurrency: Int, ratePerSecond: Double? = nil,
        status: (@Sendable () -> String)? = nil,
        _ operation: @escaping @Sendable (Int) async -> (key: String?, outcome: OperationOutcome)
    ) async -> Totals {
        let state = LoadState()
        let start = ContinuousClock.now
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                if Task.isCancelled { break }
                let t = state.totals.withLock { $0 }
                run.say("\(op): \(t.total)/\(count) (\(t))" + (status.map { " | " + $0() } ?? ""))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<max(1, concurrency) {
                group.addTask {
                    let name = "\(process)-\(worker)"
                    while true {
                        let index = state.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < count else { return }
                        if let ratePerSecond, ratePerSecond > 0 {
                            try? await Task.sleep(until: start + .milliseconds(Int64(Double(index) * 1000 / ratePerSecond)))
                        }
                        run.record(name, op, .invoke, key: "\(index)")
                        let (key, outcome) = await operation(index)
                        switch outcome {
                        case let .ok(value):
                            run.record(name, op, .ok, key: key ?? "\(index)", value: value)
                            state.totals.withLock { $0.ok += 1 }
                        case let .fail(error):
                            run.record(name, op, .fail, key: key ?? "\(index)", error: error)
                            state.totals.withLock { $0.fail += 1 }
                        case let .unknown(error):
                            run.record(name, op, .unknown, key: key ?? "\(index)", error: error)
                            state.totals.withLock { $0.unknown += 1 }
                        }
                    }
                }
            }
        }
        progress.cancel()
        let result = state.totals.withLock { $0 }
        run.say("\(op): done \(result.total)/\(count) (\(result))")
        return result
    }

    /// An HTTP call's outcome: 2xx ok (with the body), 4xx/5xx fail, a broken or timed-out
    /// connection unknown.
    public static func http(
        _ client: HTTPClient, _ method: String, _ path: String, json: String?, timeout: Duration = .seconds(10)
    ) async -> OperationOutcome {
        do {
            let response = try await client.request(method, path, body: json.map { Array($0.utf8) }, timeout: timeout)
            return (200..<300).contains(response.status) ? .ok(response.text) : .fail("HTTP \(response.status) \(response.text)")
        } catch let error {
            if case .connect = error { return .fail("\(error)") }
            return .unknown("\(error)")
        }
    }
}

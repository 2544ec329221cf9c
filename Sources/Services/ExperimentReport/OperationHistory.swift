import Foundation
import WireCore
import Synchronization

/// The run's operation history, Jepsen-style: every operation a client of the experiment
/// performs is recorded when it is invoked and again when it completes (ok, fail, or
/// unknown when the outcome cannot be known, e.g. a timeout after the request was sent),
/// one JSON object per line:
///
///     {"t":"2025-01-01T00:00:00.123Z","ms":123.456,"process":"writer-1","op":"deposit","phase":"invoke","key":"acc-1","value":100}
///
/// `t` is wall-clock UTC with milliseconds, `ms` the milliseconds (to the microsecond) since
/// the run started — since this history was created, on the monotonic clock, so it orders
/// lines even when the wall clock steps; lines are in `ms` order. `key`, `value` and
/// `error` are left out when absent.
///
/// Lines are written to the file as they are recorded (one `write` each, under a lock), so
/// what happened before a harness crash is on disk; counts per operation and phase are kept
/// in memory for the report.
public final class OperationHistory: Sendable {
    public enum Phase: String, Sendable, CaseIterable, Codable {
        case invoke, ok, fail, unknown
    }

    public let url: URL
    public let startedAt: Date
    private let startInstant: ContinuousClock.Instant
    private let state: Mutex<State>

    struct State {
        var handle: FileHandle?
        var counts: [String: [Phase: Int]] = [:]
        var lines = 0
        var writeError: String?
    }

    /// Creates (or truncates) the history file at `url`, creating its folder if needed.
    public init(url: URL, startedAt: Date = Date()) throws {
        self.url = url
        self.startedAt = startedAt
        startInstant = .now
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ReportError.cannotWrite(url.path, "cannot create the history file")
        }
        state = Mutex(State(handle: try FileHandle(forWritingTo: url)))
    }

    deinit { close() }

    /// Records one line. Returns the line's `ms` (milliseconds since the run started).
    @discardableResult
    public func record(
        process: String, op: String, phase: Phase,
        key: HistoryValue? = nil, value: HistoryValue? = nil, error: String? = nil
    ) -> Double {
        var tail = ",\"process\":\(JSONText.quote(process)),\"op\":\(JSONText.quote(op)),\"phase\":\"\(phase.rawValue)\""
        if let key { tail += ",\"key\":" + key.json }
        if let value { tail += ",\"value\":" + value.json }
        if let error { tail += ",\"error\":" + JSONText.quote(error) }
        tail += "}\n"
        // The clock is read under the lock, so the file's line order is the order of `ms`.
        let roundedMS = state.withLock { state -> Double in
            let now = Date()
            let elapsed = ContinuousClock.now - startInstant
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let roundedMS = (ms * 1000).rounded() / 1000
            let line = "{\"t\":\(JSONText.quote(Self.timestamp(now))),\"ms\":\(JSONText.number(roundedMS))" + tail
            state.counts[op, default: [:]][phase, default: 0] += 1
            state.lines += 1
            guard let handle = state.handle else { return roundedMS }
            do {
                try handle.write(contentsOf: Data(line.utf8))
            } catch {
                // Remembered rather than thrown: a recording call sits inside the operation
                // being measured, and the report says that the history is incomplete.
                if state.writeError == nil { state.writeError = "\(error)" }
            }
            return roundedMS
        }
        return roundedMS
    }

    @discardableResult
    public func invoke(process: String, op: String, key: HistoryValue? = nil, value: HistoryValue? = nil) -> Double {
        record(process: process, op: op, phase: .invoke, key: key, value: value)
    }

    @discardableResult
    public func ok(process: String, op: String, key: HistoryValue? = nil, value: HistoryValue? = nil) -> Double {
        record(process: process, op: op, phase: .ok, key: key, value: value)
    }

    /// The operation definitely did not take effect.
    @discardableResult
    public func fail(process: String, op: String, key: HistoryValue? = nil, value: HistoryValue? = nil, error: String) -> Double {
        record(process: process, op: op, phase: .fail, key: key, value: value, error: error)
    }

    /// The operation may or may not have taken effect (timeout, connection lost mid-request).
    @discardableResult
    public func unknown(process: String, op: String, key: HistoryValue? = nil, value: HistoryValue? = nil, error: String) -> Double {
        record(process: process, op: op, phase: .unknown, key: key, value: value, error: error)
    }

    /// Seconds since the run started on the history's clock: use it for the `t` of
    /// `MetricSeries` samples and `FaultWindow`s, so that plots, faults and history agree.
    public var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - startInstant
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Lines recorded per operation and phase.
    public var counts: [String: [Phase: Int]] { state.withLock { $0.counts } }

    public func count(op: String, phase: Phase) -> Int { state.withLock { $0.counts[op]?[phase] ?? 0 } }

    public var lineCount: Int { state.withLock { $0.lines } }

    /// The first write failure, if any line could not be written.
    public var writeError: String? { state.withLock { $0.writeError } }

    /// Flushes and closes the file; later records are counted but not written.
    public func close() {
        let handle = state.withLock { state -> FileHandle? in
            defer { state.handle = nil }
            return state.handle
        }
        try? handle?.synchronize()
        try? handle?.close()
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

import CoreMetrics
import Glibc
import Logging
import Synchronization

/// Named points in a service's code where an experiment injects a fault: the process dies on
/// the spot, the path throws, or it is held up. Each service declares the names it has; the
/// harness arms them through `LAB_FAILPOINTS` at start or the admin endpoint at run time
/// (`PUT /failpoints/NAME?spec=…`).
///
/// `LAB_FAILPOINTS` holds `NAME=SPEC` pairs separated by `;`, e.g.
/// `relay.after_publish_before_mark=crash,after=20;consumer.before_effect=delay(500)`.
public final class Failpoints: Sendable {
    struct Armed {
        var spec: FailpointSpec
        var hits = 0
        var fired = 0
    }

    public let known: [String]
    private let armed = Mutex<[String: Armed]>([:])
    private let logger: Logger
    private let firedCounter: @Sendable (String) -> Void

    public init(known: [String], logger: Logger = Logger(label: "lab.failpoints")) {
        self.known = known.sorted()
        self.logger = logger
        firedCounter = { name in Counter(label: "lab_failpoint_fired_total", dimensions: [("name", name)]).increment() }
    }

    /// Arms the failpoints named in `text` (the `LAB_FAILPOINTS` syntax).
    public func arm(fromEnvironment text: String) throws(FailpointError) {
        for entry in text.split(separator: ";") where !entry.trimmingSpaces.isEmpty {
            let pair = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            guard pair.count == 2 else { throw .invalidSpec(String(entry), "expected NAME=SPEC") }
            try arm(pair[0], try FailpointSpec.parse(pair[1]))
        }
    }

    public func arm(_ name: String, _ spec: FailpointSpec) throws(FailpointError) {
        guard known.contains(name) else { throw .unknownFailpoint(name, known: known) }
        armed.withLock { $0[name] = Armed(spec: spec) }
        logger.notice("failpoint armed", metadata: ["failpoint": "\(name)", "spec": "\(spec)"])
    }

    public func disarm(_ name: String) {
        armed.withLock { $0[name] = nil }
    }

    /// Armed failpoints with their spec, hits and firings.
    public var status: [(name: String, spec: FailpointSpec, hits: Int, fired: Int)] {
        armed.withLock { armed in armed.sorted { $0.key < $1.key }.map { ($0.key, $0.value.spec, $0.value.hits, $0.value.fired) } }
    }

    /// Passes the failpoint `name`: does nothing unless it is armed and due.
    public func hit(_ name: String) async throws(FailpointError) {
        let action = armed.withLock { armed -> FailpointAction? in
            guard var entry = armed[name] else { return nil }
            entry.hits += 1
            defer { armed[name] = entry }
            guard entry.hits > entry.spec.after else { return nil }
            if let times = entry.spec.times, entry.fired >= times { return nil }
            entry.fired += 1
            return entry.spec.action
        }
        guard let action else { return }
        firedCounter(name)
        switch action {
        case .crash:
            // Said on stderr unbuffered, then gone like kill -9: nothing after this line runs.
            let line = "failpoint \(name): crash (SIGKILL to self, pid \(getpid()))\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            kill(getpid(), SIGKILL)
            while true { pause() }
        case let .error(message):
            logger.warning("failpoint fired", metadata: ["failpoint": "\(name)", "action": "error"])
            throw .injected(name: name, message: message)
        case let .delay(duration):
            logger.info("failpoint fired", metadata: ["failpoint": "\(name)", "action": "\(action)"])
            try? await Task.sleep(for: duration)
        }
    }
}

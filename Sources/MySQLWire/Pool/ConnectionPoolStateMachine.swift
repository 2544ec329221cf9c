import DequeModule
import WireCore

/// The pool's decisions, as a value: every event (acquire, release, a connection opened or
/// failed to open, a validation result, the clock passing a deadline) goes in with the time
/// it happened, and what to do comes out as actions. It does no I/O and reads no clock, so
/// every HikariCP rule can be tested with a mock clock and no sockets.
public struct ConnectionPoolStateMachine: Sendable {
    public typealias ConnectionID = Int
    public typealias WaiterID = Int

    public enum CloseReason: String, Sendable, Equatable {
        case broken, maxLifetime, idleTimeout, validationFailed, shutdown
    }

    public enum Failure: Sendable, Equatable {
        /// No connection became available within `connectionTimeout`.
        case timedOut(waited: Duration, snapshot: ConnectionPoolSnapshot, lastCreationError: String?)
        case shutdown
        case cancelled
    }

    public enum Action: Sendable, Equatable {
        /// Open a connection; report `connectionCreated` or `connectionCreationFailed` with this id.
        case createConnection(ConnectionID)
        /// Hand the connection to the waiter.
        case lease(ConnectionID, to: WaiterID)
        /// Check the connection is alive within `validationTimeout`; report `validationCompleted`.
        case validate(ConnectionID)
        case close(ConnectionID, CloseReason)
        case fail(WaiterID, Failure)
        /// The connection has been out longer than `leakDetectionThreshold`.
        case reportLeak(ConnectionID, heldFor: Duration)
    }

    enum Phase: Equatable {
        case idle(since: NanoTime, nextKeepalive: NanoTime?)
        case leased(since: NanoTime, leakReported: Bool)
        /// Pinged before lending it to `waiter`, or as a keepalive when `waiter` is nil.
        case validating(for: Waiter?)
    }

    struct Connection: Equatable {
        let id: ConnectionID
        let retireAt: NanoTime
        var lastUsed: NanoTime
        var phase: Phase
    }

    struct Waiter: Equatable {
        let id: WaiterID
        let enqueuedAt: NanoTime
        let deadline: NanoTime
    }

    public let configuration: ConnectionPoolConfiguration
    private(set) var connections = IDMap<Connection>()
    /// Idle connections, most recently returned last: lending the warmest one first lets the
    /// others age out under `idleTimeout` when load drops.
    private var idleStack: [ConnectionID] = []
    private var waiters = Deque<Waiter>()
    private var creating: Set<ConnectionID> = []
    private var nextConnectionID = 1
    private var consecutiveCreationFailures = 0
    private var creationBlockedUntil: NanoTime?
    private var lastCreationError: String?
    private var timeouts = 0
    private var isShutdown = false
    private var random: SplitMix64

    public init(configuration: ConnectionPoolConfiguration, seed: UInt64 = 0x5eed) {
        self.configuration = configuration
        random = SplitMix64(seed: seed)
    }

    public var snapshot: ConnectionPoolSnapshot {
        var idle = 0
        var active = 0
        for connection in connections.values {
            if case .idle = connection.phase { idle += 1 } else { active += 1 }
        }
        return ConnectionPoolSnapshot(
            total: connections.count, active: active, idle: idle, pending: waiters.count,
            creating: creating.count, maximum: configuration.maximumPoolSize,
            minimumIdle: configuration.effectiveMinimumIdle, timeouts: timeouts
        )
    }

    // MARK: Events

    /// Starts the pool: opens connections up to `minimumIdle`.
    public mutating func start(now: NanoTime) -> [Action] {
        var actions: [Action] = []
        maintainCreations(now: now, into: &actions)
        return actions
    }

    /// A caller asks for a connection. Waiters are served first come, first served: a new
    /// caller never overtakes one already waiting.
    public mutating func acquire(_ waiter: WaiterID, now: NanoTime) -> [Action] {
        if isShutdown { return [.fail(waiter, .shutdown)] }
        waiters.append(Waiter(id: waiter, enqueuedAt: now, deadline: now + configuration.connectionTimeout))
        var actions: [Action] = []
        serveWaiters(now: now, into: &actions)
        maintainCreations(now: now, into: &actions)
        return actions
    }

    /// A caller asks for a connection and gets one at once, without queueing: nobody is
    /// waiting and the warmest idle connection was in use within `aliveBypassWindow` (so it
    /// is lent without a ping) and is not past its lifetime. Returns nil otherwise: the
    /// caller then queues with `acquire`, which handles every other case. Lending here is
    /// exactly what `acquire` would have done.
    public mutating func acquireImmediately(now: NanoTime) -> (ConnectionID, [Action])? {
        guard !isShutdown, waiters.isEmpty, let id = idleStack.last, let connection = connections[id],
              now < connection.retireAt, !needsPing(connection, now: now) else {
            return nil
        }
        idleStack.removeLast()
        lend(connection, now: now)
        var actions: [Action] = []
        maintainCreations(now: now, into: &actions)
        return (id, actions)
    }

    /// A caller returns a connection; `broken` when it failed in a way that leaves it unusable.
    public mutating func release(_ id: ConnectionID, broken: Bool, now: NanoTime) -> [Action] {
        guard var connection = connections[id], case .leased = connection.phase else { return [] }
        var actions: [Action] = []
        if isShutdown {
            retire(id, .shutdown, into: &actions)
        } else if broken {
            retire(id, .broken, into: &actions)
        } else if now >= connection.retireAt {
            retire(id, .maxLifetime, into: &actions)
        } else {
            connection.lastUsed = now
            connection.phase = .idle(since: now, nextKeepalive: nextKeepalive(after: now))
            connections[id] = connection
            idleStack.append(id)
            serveWaiters(now: now, into: &actions)
        }
        maintainCreations(now: now, into: &actions)
        return actions
    }

    public mutating func connectionCreated(_ id: ConnectionID, now: NanoTime) -> [Action] {
        guard creating.remove(id) != nil else { return [] }
        consecutiveCreationFailures = 0
        creationBlockedUntil = nil
        lastCreationError = nil
        if isShutdown { return [.close(id, .shutdown)] }
        connections[id] = Connection(
            id: id, retireAt: now + lifetime(), lastUsed: now,
            phase: .idle(since: now, nextKeepalive: nextKeepalive(after: now))
        )
        idleStack.append(id)
        var actions: [Action] = []
        serveWaiters(now: now, into: &actions)
        maintainCreations(now: now, into: &actions)
        return actions
    }

    /// Opening a connection failed (refused, 1040 Too many connections, auth, …). Further
    /// attempts wait for an exponentially growing backoff; waiters keep waiting until their
    /// own deadline, and a timeout names this error as the cause.
    public mutating func connectionCreationFailed(_ id: ConnectionID, error: String, now: NanoTime) -> [Action] {
        guard creating.remove(id) != nil else { return [] }
        consecutiveCreationFailures += 1
        lastCreationError = error
        let exponent = min(consecutiveCreationFailures - 1, 20)
        let backoff = min(configuration.creationBackoffBase * (1 << exponent), configuration.creationBackoffCap)
        creationBlockedUntil = now + backoff
        return []
    }

    public mutating func validationCompleted(_ id: ConnectionID, alive: Bool, now: NanoTime) -> [Action] {
        guard var connection = connections[id], case let .validating(waiter) = connection.phase else { return [] }
        var actions: [Action] = []
        if !alive || isShutdown {
            retire(id, isShutdown ? .shutdown : .validationFailed, into: &actions)
            if let waiter, !isShutdown {
                if now >= waiter.deadline {
                    actions.append(timeOut(waiter, now: now))
                } else {
                    // The caller was not at fault: it keeps its place at the front.
                    waiters.prepend(waiter)
                }
            } else if let waiter {
                actions.append(.fail(waiter.id, .shutdown))
            }
        } else if let waiter {
            // Just proven alive: the next caller within the bypass window needs no ping.
            connection.lastUsed = now
            if now >= waiter.deadline {
                connection.phase = .idle(since: now, nextKeepalive: nextKeepalive(after: now))
                connections[id] = connection
                idleStack.append(id)
                actions.append(timeOut(waiter, now: now))
            } else {
                lend(connection, now: now)
                actions.append(.lease(id, to: waiter.id))
            }
        } else {
            connection.lastUsed = now
            connection.phase = .idle(since: now, nextKeepalive: nextKeepalive(after: now))
            connections[id] = connection
            idleStack.append(id)
        }
        serveWaiters(now: now, into: &actions)
        maintainCreations(now: now, into: &actions)
        return actions
    }

    /// A waiting caller gave up (its task was cancelled).
    public mutating func cancel(_ waiter: WaiterID) -> [Action] {
        guard let index = waiters.firstIndex(where: { $0.id == waiter }) else { return [] }
        waiters.remove(at: index)
        return [.fail(waiter, .cancelled)]
    }

    /// The clock reached a deadline returned by `nextDeadline`: time out waiters, report
    /// leaks, retire old and long-idle connections, ping idle ones, retry creation.
    public mutating func tick(now: NanoTime) -> [Action] {
        var actions: [Action] = []
        while let waiter = waiters.first, waiter.deadline <= now {
            waiters.removeFirst()
            actions.append(timeOut(waiter, now: now))
        }
        if !isShutdown {
            let minimumIdle = configuration.effectiveMinimumIdle
            for id in connections.keys.sorted() {
                guard var connection = connections[id] else { continue }
                switch connection.phase {
                case let .leased(since, leakReported):
                    if let threshold = configuration.leakDetectionThreshold, !leakReported, now - since >= threshold {
                        connection.phase = .leased(since: since, leakReported: true)
                        connections[id] = connection
                        actions.append(.reportLeak(id, heldFor: now - since))
                    }
                case let .idle(since, nextKeepalive):
                    if now >= connection.retireAt {
                        retire(id, .maxLifetime, into: &actions)
                    } else if minimumIdle < configuration.maximumPoolSize,
                              now - since >= configuration.idleTimeout,
                              connections.count > minimumIdle {
                        retire(id, .idleTimeout, into: &actions)
                    } else if let nextKeepalive, now >= nextKeepalive {
                        idleStack.removeAll { $0 == id }
                        connection.phase = .validating(for: nil)
                        connections[id] = connection
                        actions.append(.validate(id))
                    }
                case .validating:
                    break
                }
            }
            maintainCreations(now: now, into: &actions)
        }
        return actions
    }

    /// Stops lending: waiters fail, idle connections close, leased ones close when returned.
    public mutating func shutdown() -> [Action] {
        isShutdown = true
        var actions: [Action] = waiters.map { .fail($0.id, .shutdown) }
        waiters.removeAll()
        for id in idleStack { retire(id, .shutdown, into: &actions) }
        return actions
    }

    /// When `tick` next has something to do, if anything.
    public func nextDeadline() -> NanoTime? {
        var earliest: NanoTime?
        func consider(_ time: NanoTime?) {
            guard let time else { return }
            if earliest == nil || time < earliest! { earliest = time }
        }
        consider(waiters.first?.deadline)
        if isShutdown { return earliest }
        let minimumIdle = configuration.effectiveMinimumIdle
        for connection in connections.values {
            switch connection.phase {
            case let .leased(since, leakReported):
                if let threshold = configuration.leakDetectionThreshold, !leakReported { consider(since + threshold) }
            case let .idle(since, nextKeepalive):
                consider(connection.retireAt)
                // Only while tick would act on it: a deadline tick ignores would fire forever.
                if minimumIdle < configuration.maximumPoolSize, connections.count > minimumIdle {
                    consider(since + configuration.idleTimeout)
                }
                consider(nextKeepalive)
            case .validating:
                break
            }
        }
        if creationWanted > 0, creating.count < creationConcurrency { consider(creationBlockedUntil) }
        return earliest
    }

    // MARK: Internals

    private mutating func serveWaiters(now: NanoTime, into actions: inout [Action]) {
        while let waiter = waiters.first, let id = idleStack.popLast() {
            guard var connection = connections[id] else { continue }
            if now >= connection.retireAt {
                retire(id, .maxLifetime, into: &actions)
                continue
            }
            waiters.removeFirst()
            if needsPing(connection, now: now) {
                connection.phase = .validating(for: waiter)
                connections[id] = connection
                actions.append(.validate(id))
            } else {
                lend(connection, now: now)
                actions.append(.lease(id, to: waiter.id))
            }
        }
    }

    /// An idle connection unused for longer than `aliveBypassWindow` is pinged before it is lent.
    private func needsPing(_ connection: Connection, now: NanoTime) -> Bool {
        now - connection.lastUsed > configuration.aliveBypassWindow
    }

    /// Marks `connection` leased from `now` (the caller reports whom to).
    private mutating func lend(_ connection: Connection, now: NanoTime) {
        var leased = connection
        leased.phase = .leased(since: now, leakReported: false)
        leased.lastUsed = now
        connections[connection.id] = leased
    }

    /// How many more connections the pool wants: one per waiter not already covered by a
    /// connection being opened or validated for it, and enough to keep `minimumIdle` idle.
    private var creationWanted: Int {
        let idle = idleStack.count
        let forWaiters = waiters.count - creating.count
        let forMinimumIdle = configuration.effectiveMinimumIdle - idle - creating.count
        let capacity = configuration.maximumPoolSize - connections.count - creating.count
        return max(0, min(max(forWaiters, forMinimumIdle), capacity))
    }

    private mutating func maintainCreations(now: NanoTime, into actions: inout [Action]) {
        guard !isShutdown else { return }
        if let blockedUntil = creationBlockedUntil, now < blockedUntil { return }
        var wanted = min(creationWanted, creationConcurrency - creating.count)
        while wanted > 0 {
            let id = nextConnectionID
            nextConnectionID += 1
            creating.insert(id)
            actions.append(.createConnection(id))
            wanted -= 1
        }
    }

    /// After failures, probe with one connection at a time instead of a storm.
    private var creationConcurrency: Int {
        consecutiveCreationFailures > 0 ? 1 : configuration.maxConcurrentCreations
    }

    private mutating func retire(_ id: ConnectionID, _ reason: CloseReason, into actions: inout [Action]) {
        connections[id] = nil
        idleStack.removeAll { $0 == id }
        actions.append(.close(id, reason))
    }

    private mutating func timeOut(_ waiter: Waiter, now: NanoTime) -> Action {
        timeouts += 1
        return .fail(waiter.id, .timedOut(waited: now - waiter.enqueuedAt, snapshot: snapshot, lastCreationError: lastCreationError))
    }

    private mutating func lifetime() -> Duration {
        // Up to 2.5% earlier, so connections opened together do not all retire together.
        let variance = Double(configuration.maxLifetime.wholeNanoseconds) * 0.025 * random.nextUnit()
        return configuration.maxLifetime - .nanoseconds(Int64(variance))
    }

    private mutating func nextKeepalive(after now: NanoTime) -> NanoTime? {
        guard let keepalive = configuration.keepaliveTime else { return nil }
        let variance = Double(keepalive.wholeNanoseconds) * 0.1 * random.nextUnit()
        return now + (keepalive - .nanoseconds(Int64(variance)))
    }
}

/// A small deterministic generator, so pool jitter is reproducible in tests.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

import CoreMetrics
import Logging
import Synchronization
import WireCore

/// A connection lent by the pool. Return it with `ConnectionPool.release` (or use
/// `withConnection`, which always does).
public struct PooledConnection<Connection: PoolableConnection>: Sendable {
    public let connection: Connection
    let id: ConnectionPoolStateMachine.ConnectionID
    let acquiredAt: NanoTime
}

// The pool's bookkeeping is kept in types that do not depend on the connection type (they
// hold `any PoolableConnection`): types nested in the generic pool would be generic too, and
// every acquire and release would look their metadata up at run time (a third of an
// uncontended acquire+release when they were).

/// A connection as the pool lends it, before it is given its concrete type.
struct PoolLent: Sendable {
    let connection: any PoolableConnection
    let id: ConnectionPoolStateMachine.ConnectionID
    let acquiredAt: NanoTime
}

typealias PoolWaiter = UnsafeContinuation<Result<PoolLent, ConnectionPoolError>, Never>

/// Where a connection was acquired, for leak reports. Kept as its parts: the text is made
/// only when a leak is reported, not on every acquire.
struct PoolCallSite: CustomStringConvertible {
    let file: String
    let line: Int
    var description: String { "\(file):\(line)" }
}

struct PoolLease {
    let acquiredAt: NanoTime
    let site: PoolCallSite
}

/// What the machine's ids stand for.
struct PoolResources {
    var connections = IDMap<any PoolableConnection>()
    var waiters: [Int: (continuation: PoolWaiter, site: PoolCallSite, startedAt: NanoTime)] = [:]
    var leases = IDMap<PoolLease>()
    var nextWaiterID = 1
}

struct PoolState {
    var machine: ConnectionPoolStateMachine
    var resources = PoolResources()
    var timer: (id: UInt64, deadline: NanoTime)?
}

/// Work decided under the lock and carried out after it.
enum PoolEffect {
    case create(Int)
    case lend(PoolWaiter, PoolLent, waitedSince: NanoTime)
    case validate(Int, any PoolableConnection)
    case close(any PoolableConnection, ConnectionPoolStateMachine.CloseReason)
    case fail(PoolWaiter, ConnectionPoolError)
    case leak(Int, heldFor: Duration, site: PoolCallSite?)
}

/// A bounded connection pool with HikariCP's semantics and metrics. The decisions are made
/// by `ConnectionPoolStateMachine`; this type performs them: it opens, pings and closes
/// connections, wakes waiting callers, and keeps one event-loop timer armed for the
/// machine's next deadline.
///
/// Opening, pinging and closing run in tasks that prefer the pool's event loop, as
/// HikariCP's run on its own threads: not on the cooperative pool, which the very burst
/// that drains the pool can keep busy for longer than `connectionTimeout` (a replacement
/// connection queued behind the callers waiting for it would time them all out).
public final class ConnectionPool<Connection: PoolableConnection>: @unchecked Sendable {
    public typealias Factory = @Sendable () async throws -> Connection

    public let name: String
    public let configuration: ConnectionPoolConfiguration
    private let factory: Factory
    private let state: Mutex<PoolState>
    private let eventLoop: EventLoop
    private let metrics: ConnectionPoolMetrics
    private let logger: Logger

    public init(
        name: String,
        configuration: ConnectionPoolConfiguration,
        eventLoop: EventLoop = EventLoopGroup.shared.next(),
        logger: Logger = Logger(label: "lab.pool"),
        metricsFactory: MetricsFactory = MetricsSystem.factory,
        factory: @escaping Factory
    ) {
        self.name = name
        self.configuration = configuration
        self.factory = factory
        self.eventLoop = eventLoop
        self.logger = logger
        self.metrics = ConnectionPoolMetrics(pool: name, factory: metricsFactory)
        self.state = Mutex(PoolState(machine: ConnectionPoolStateMachine(configuration: configuration)))
        apply { machine, now in machine.start(now: now) }
    }

    public var snapshot: ConnectionPoolSnapshot { state.withLock { $0.machine.snapshot } }

    /// Waits up to `connectionTimeout` for a connection. The call site is remembered for leak reports.
    nonisolated(nonsending) public func acquire(file: String = #fileID, line: Int = #line) async throws(ConnectionPoolError) -> PooledConnection<Connection> {
        let site = PoolCallSite(file: file, line: line)
        if let lease = acquireImmediately(site: site) { return lease }
        let waiterID = state.withLock { state -> Int in
            defer { state.resources.nextWaiterID += 1 }
            return state.resources.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: PoolWaiter) in
                apply { machine, now, state in
                    state.waiters[waiterID] = (continuation, site, now)
                    return machine.acquire(waiterID, now: now)
                }
            }
        } onCancel: {
            apply { machine, _ in machine.cancel(waiterID) }
        }
        return pooled(try result.get())
    }

    /// The usual case, without suspending: nobody is waiting and the warmest idle connection
    /// was in use within the alive-bypass window. Nil when the caller has to queue.
    private func acquireImmediately(site: PoolCallSite) -> PooledConnection<Connection>? {
        let lent = applyReturning { machine, now, state -> ([ConnectionPoolStateMachine.Action], PoolLent?) in
            guard let (id, actions) = machine.acquireImmediately(now: now), let connection = state.connections[id] else {
                return ([], nil)
            }
            state.leases[id] = PoolLease(acquiredAt: now, site: site)
            return (actions, PoolLent(connection: connection, id: id, acquiredAt: now))
        }
        guard let lent else { return nil }
        // Counted like every acquisition (the histogram's count is the acquire rate); it waited
        // for nothing.
        metrics.acquire.recordNanoseconds(0)
        return pooled(lent)
    }

    private func pooled(_ lent: PoolLent) -> PooledConnection<Connection> {
        // Only this pool's factory puts connections in, so each is a `Connection`.
        PooledConnection(connection: unsafeDowncast(lent.connection, to: Connection.self), id: lent.id, acquiredAt: lent.acquiredAt)
    }

    /// Returns a connection. Pass `broken: true` when it failed in a way that leaves it
    /// unusable (the pool closes it and opens a replacement); a closed connection is
    /// treated as broken anyway.
    public func release(_ lease: PooledConnection<Connection>, broken: Bool = false) {
        metrics.usage.recordNanoseconds(NanoTime.now().nanoseconds(since: lease.acquiredAt))
        let isBroken = broken || !lease.connection.isOpen
        apply { machine, now, state in
            state.leases[lease.id] = nil
            return machine.release(lease.id, broken: isBroken, now: now)
        }
    }

    /// Lends a connection to `body` and returns it on every path. An error thrown by the
    /// body marks the connection broken when `isBroken` says so (by default: when the
    /// connection is no longer open).
    public func withConnection<Result>(
        file: String = #fileID, line: Int = #line,
        isBroken: @Sendable (any Error, Connection) -> Bool = { _, connection in !connection.isOpen },
        _ body: (Connection) async throws -> Result
    ) async throws -> Result {
        let lease = try await acquire(file: file, line: line)
        do {
            let result = try await body(lease.connection)
            release(lease)
            return result
        } catch {
            release(lease, broken: isBroken(error, lease.connection))
            throw error
        }
    }

    /// Closes idle connections and fails waiters; connections in use close when returned.
    public func shutdown() {
        apply { machine, _ in machine.shutdown() }
        state.withLock { state in
            if let timer = state.timer { eventLoop.cancelTimer(timer.id) }
            state.timer = nil
        }
    }

    // MARK: Driving the machine

    private func apply(_ event: (inout ConnectionPoolStateMachine, NanoTime) -> [ConnectionPoolStateMachine.Action]) {
        apply { machine, now, _ in event(&machine, now) }
    }

    private func apply(_ event: (inout ConnectionPoolStateMachine, NanoTime, inout PoolResources) -> [ConnectionPoolStateMachine.Action]) {
        _ = applyReturning { machine, now, resources -> ([ConnectionPoolStateMachine.Action], PoolLent?) in
            (event(&machine, now, &resources), nil)
        }
    }

    /// Runs `event` on the machine under the lock, carries out the actions it returns, and
    /// hands back the connection it lent alongside them, if any. (Not generic over what it
    /// hands back: a tuple with a generic element is built through run-time metadata, a
    /// look-up in a locked cache on every acquire.)
    private func applyReturning(
        _ event: (inout ConnectionPoolStateMachine, NanoTime, inout PoolResources) -> ([ConnectionPoolStateMachine.Action], PoolLent?)
    ) -> PoolLent? {
        let now = NanoTime.now()
        var rearm: NanoTime?
        let (effects, snapshot, value) = state.withLock { state -> ([PoolEffect], ConnectionPoolSnapshot, PoolLent?) in
            let (actions, value) = event(&state.machine, now, &state.resources)
            var effects: [PoolEffect] = []
            for action in actions {
                switch action {
                case let .createConnection(id):
                    effects.append(.create(id))
                case let .lease(id, waiterID):
                    guard let waiter = state.resources.waiters.removeValue(forKey: waiterID), let connection = state.resources.connections[id] else { continue }
                    state.resources.leases[id] = PoolLease(acquiredAt: now, site: waiter.site)
                    effects.append(.lend(waiter.continuation, PoolLent(connection: connection, id: id, acquiredAt: now), waitedSince: waiter.startedAt))
                case let .validate(id):
                    if let connection = state.resources.connections[id] { effects.append(.validate(id, connection)) }
                case let .close(id, reason):
                    if let connection = state.resources.connections.removeValue(forKey: id) { effects.append(.close(connection, reason)) }
                case let .fail(waiterID, failure):
                    guard let waiter = state.resources.waiters.removeValue(forKey: waiterID) else { continue }
                    effects.append(.fail(waiter.continuation, error(for: failure)))
                case let .reportLeak(id, heldFor):
                    effects.append(.leak(id, heldFor: heldFor, site: state.resources.leases[id]?.site))
                }
            }
            // A timer armed for an earlier time than needed (or for nothing) is kept: it fires,
            // `tick` finds nothing due and the timer is armed again for the real deadline.
            // Re-arming on every change would cancel and schedule a timer on each acquire and
            // release (a leased connection has no deadline, an idle one has its lifetime).
            if let deadline = state.machine.nextDeadline(), deadline < (state.timer?.deadline ?? .distantFuture) {
                if let timer = state.timer { eventLoop.cancelTimer(timer.id) }
                state.timer = nil
                rearm = deadline
            }
            return (effects, state.machine.snapshot, value)
        }
        if let rearm {
            let id = eventLoop.scheduleTimer(at: rearm) { [weak self] in
                self?.state.withLock { state in
                    if state.timer?.deadline == rearm { state.timer = nil }
                }
                self?.apply { machine, now in machine.tick(now: now) }
            }
            // Another thread may have armed one meanwhile: the earlier of the two stays.
            state.withLock { state in
                if let armed = state.timer {
                    if rearm < armed.deadline {
                        eventLoop.cancelTimer(armed.id)
                        state.timer = (id, rearm)
                    } else {
                        eventLoop.cancelTimer(id)
                    }
                } else {
                    state.timer = (id, rearm)
                }
            }
        }
        metrics.record(snapshot)
        for effect in effects { perform(effect) }
        return value
    }

    private func perform(_ effect: PoolEffect) {
        switch effect {
        case let .create(id):
            Task(executorPreference: eventLoop) { [self] in
                let started = NanoTime.now()
                do {
                    let connection = try await factory()
                    metrics.creation.recordNanoseconds(NanoTime.now().nanoseconds(since: started))
                    apply { machine, now, state in
                        state.connections[id] = connection
                        return machine.connectionCreated(id, now: now)
                    }
                } catch {
                    logger.warning("\(name) - cannot open a connection: \(error)")
                    apply { machine, now in machine.connectionCreationFailed(id, error: "\(error)", now: now) }
                }
            }
        case let .lend(continuation, lease, waitedSince):
            metrics.acquire.recordNanoseconds(lease.acquiredAt.nanoseconds(since: waitedSince))
            continuation.resume(returning: .success(lease))
        case let .validate(id, connection):
            let timeout = configuration.validationTimeout
            Task(executorPreference: eventLoop) { [self] in
                let alive = await connection.validate(timeout: timeout)
                apply { machine, now in machine.validationCompleted(id, alive: alive, now: now) }
            }
        case let .close(connection, reason):
            logger.debug("\(name) - closing connection (\(reason.rawValue))")
            Task(executorPreference: eventLoop) { await connection.close() }
        case let .fail(continuation, error):
            if case .timedOut = error { metrics.timeouts.increment() }
            continuation.resume(returning: .failure(error))
        case let .leak(id, heldFor, site):
            logger.warning("\(name) - connection leak detection triggered: connection \(id) acquired at \(site?.description ?? "unknown") has been held for \(heldFor.formattedMilliseconds)")
        }
    }

    private func error(for failure: ConnectionPoolStateMachine.Failure) -> ConnectionPoolError {
        switch failure {
        case let .timedOut(waited, snapshot, cause):
            return .timedOut(pool: name, waited: waited, snapshot: snapshot, lastCreationError: cause)
        case .shutdown: return .shutdown(pool: name)
        case .cancelled: return .cancelled(pool: name)
        }
    }
}

import MySQLWire
import PropertyBased
import Testing
import WireCore

/// The pool's rules, driven by a mock clock: no sockets, no sleeping.
@Suite("ConnectionPoolStateMachine")
struct ConnectionPoolStateMachineTests {
    typealias Machine = ConnectionPoolStateMachine
    typealias Action = Machine.Action

    static let t0 = NanoTime(nanoseconds: 1_000_000_000_000)

    static func config(
        max: Int = 2, minimumIdle: Int? = 0, timeout: Duration = .seconds(2),
        keepalive: Duration? = nil, leak: Duration? = nil, concurrency: Int = 4
    ) -> ConnectionPoolConfiguration {
        ConnectionPoolConfiguration(
            maximumPoolSize: max, minimumIdle: minimumIdle, connectionTimeout: timeout,
            validationTimeout: .seconds(1), idleTimeout: .seconds(60), maxLifetime: .seconds(600),
            keepaliveTime: keepalive, leakDetectionThreshold: leak, maxConcurrentCreations: concurrency,
            creationBackoffBase: .milliseconds(100), creationBackoffCap: .seconds(2))
    }

    static func creations(_ actions: [Action]) -> [Int] {
        actions.compactMap { if case let .createConnection(id) = $0 { return id } else { return nil } }
    }

    @Test("start opens connections up to minimumIdle, a few at a time")
    func startFillsMinimumIdle() {
        var machine = Machine(configuration: Self.config(max: 10, minimumIdle: nil, concurrency: 4))
        let first = Self.creations(machine.start(now: Self.t0))
        #expect(first.count == 4)
        var opened = 0
        var pending = first
        while let id = pending.popLast() {
            pending += Self.creations(machine.connectionCreated(id, now: Self.t0))
            opened += 1
        }
        #expect(opened == 10)
        #expect(machine.snapshot.idle == 10 && machine.snapshot.total == 10)
    }

    @Test("a fresh idle connection is lent at once; one unused past the alive-bypass window is pinged first")
    func validationBeforeLending() {
        var machine = Machine(configuration: Self.config())
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        #expect(machine.connectionCreated(id, now: Self.t0) == [.lease(id, to: 1)])
        #expect(machine.release(id, broken: false, now: Self.t0 + .milliseconds(10)) == [])
        // Within 500 ms of its last use: no ping.
        #expect(machine.acquire(2, now: Self.t0 + .milliseconds(300)) == [.lease(id, to: 2)])
        _ = machine.release(id, broken: false, now: Self.t0 + .milliseconds(400))
        // Unused for a second: ping before lending.
        #expect(machine.acquire(3, now: Self.t0 + .seconds(2)) == [.validate(id)])
        #expect(machine.snapshot.active == 1)
        #expect(machine.validationCompleted(id, alive: true, now: Self.t0 + .seconds(2)) == [.lease(id, to: 3)])
    }

    @Test("acquireImmediately lends what acquire would, and declines whenever acquire would queue, ping or retire")
    func immediateAcquire() {
        var machine = Machine(configuration: Self.config(max: 1))
        // Nothing idle yet: the caller has to queue.
        #expect(machine.acquireImmediately(now: Self.t0) == nil)
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        #expect(machine.connectionCreated(id, now: Self.t0) == [.lease(id, to: 1)])
        _ = machine.release(id, broken: false, now: Self.t0 + .milliseconds(10))
        // Idle and used within the alive-bypass window: lent on the spot, as acquire would.
        let lent = machine.acquireImmediately(now: Self.t0 + .milliseconds(300))
        #expect(lent?.0 == id && lent?.1 == [])
        #expect(machine.snapshot.active == 1 && machine.snapshot.idle == 0)
        // Leased now, so a second caller queues.
        #expect(machine.acquireImmediately(now: Self.t0 + .milliseconds(300)) == nil)
        #expect(machine.acquire(2, now: Self.t0 + .milliseconds(300)) == [])
        // Returned while someone waits: the waiter gets it, and a newcomer may not jump the queue.
        #expect(machine.release(id, broken: false, now: Self.t0 + .milliseconds(400)) == [.lease(id, to: 2)])
        _ = machine.release(id, broken: false, now: Self.t0 + .milliseconds(450))
        // Unused past the alive-bypass window: acquire would ping first, so no immediate lend.
        #expect(machine.acquireImmediately(now: Self.t0 + .seconds(2)) == nil)
        #expect(machine.acquire(3, now: Self.t0 + .seconds(2)) == [.validate(id)])
        #expect(machine.validationCompleted(id, alive: true, now: Self.t0 + .seconds(2)) == [.lease(id, to: 3)])
        _ = machine.release(id, broken: false, now: Self.t0 + .seconds(2))
        // Past its lifetime: acquire retires it, so no immediate lend either.
        #expect(machine.acquireImmediately(now: Self.t0 + .seconds(601)) == nil)
        // After shutdown: never.
        _ = machine.shutdown()
        #expect(machine.acquireImmediately(now: Self.t0 + .seconds(2)) == nil)
    }

    @Test("a connection that fails its ping is closed and the waiter keeps its place at the front")
    func failedValidationKeepsWaiterFirst() {
        var machine = Machine(configuration: Self.config(max: 1))
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        _ = machine.release(id, broken: false, now: Self.t0)
        let later = Self.t0 + .seconds(5)
        #expect(machine.acquire(2, now: later) == [.validate(id)])
        #expect(machine.acquire(3, now: later).isEmpty)  // waits behind 2
        let actions = machine.validationCompleted(id, alive: false, now: later)
        #expect(actions.first == .close(id, .validationFailed))
        let replacement = Self.creations(actions)
        #expect(replacement.count == 1)
        #expect(machine.connectionCreated(replacement[0], now: later) == [.lease(replacement[0], to: 2)])
    }

    @Test("waiters are served first come, first served")
    func fifoWaiters() {
        var machine = Machine(configuration: Self.config(max: 1))
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        for waiter in 2...5 { #expect(machine.acquire(waiter, now: Self.t0).isEmpty) }
        #expect(machine.snapshot.pending == 4)
        var served: [Int] = []
        for step in 0..<4 {
            let actions = machine.release(id, broken: false, now: Self.t0 + .milliseconds(step))
            if case let .lease(_, waiter) = actions.first { served.append(waiter) }
        }
        #expect(served == [2, 3, 4, 5])
    }

    @Test("an acquire times out after connectionTimeout, with the pool's counts, and is counted")
    func acquireTimeout() throws {
        var machine = Machine(configuration: Self.config(max: 1, timeout: .seconds(2)))
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        _ = machine.acquire(2, now: Self.t0 + .milliseconds(100))
        let deadline = try #require(machine.nextDeadline())
        #expect(deadline == Self.t0 + .milliseconds(2100))
        #expect(machine.tick(now: Self.t0 + .milliseconds(2099)).isEmpty)
        let actions = machine.tick(now: deadline)
        guard case let .fail(2, .timedOut(waited, snapshot, _))? = actions.first else {
            Issue.record("expected a timeout, got \(actions)")
            return
        }
        #expect(waited == .seconds(2))
        #expect(snapshot.active == 1 && snapshot.idle == 0 && snapshot.total == 1)
        #expect(machine.snapshot.timeouts == 1 && machine.snapshot.pending == 0)
    }

    @Test("maxLifetime: an idle connection is retired on time, a leased one only when returned")
    func maxLifetime() {
        var machine = Machine(configuration: Self.config(max: 2, minimumIdle: 1))
        let first = Self.creations(machine.start(now: Self.t0))
        #expect(first.count == 1)
        _ = machine.connectionCreated(first[0], now: Self.t0)
        let second = Self.creations(machine.acquire(1, now: Self.t0) + machine.acquire(2, now: Self.t0))
        _ = machine.connectionCreated(second[0], now: Self.t0)
        // Both in use past their lifetime: nothing is closed under the caller.
        let late = Self.t0 + .seconds(601)
        #expect(!machine.tick(now: late).contains { if case .close = $0 { return true } else { return false } })
        let released = machine.release(first[0], broken: false, now: late)
        #expect(released.first == .close(first[0], .maxLifetime))
        #expect(Self.creations(released).count == 1, "replaced to keep minimumIdle")
        // Jitter: retired no earlier than 97.5% of maxLifetime.
        var early = Machine(configuration: Self.config(max: 1, minimumIdle: 1))
        let id = Self.creations(early.start(now: Self.t0))[0]
        _ = early.connectionCreated(id, now: Self.t0)
        #expect(early.tick(now: Self.t0 + .seconds(584)).isEmpty)
        #expect(early.tick(now: Self.t0 + .seconds(600)).first == .close(id, .maxLifetime))
    }

    @Test("idleTimeout shrinks the pool back to minimumIdle after a burst")
    func idleTimeout() {
        var machine = Machine(configuration: Self.config(max: 5, minimumIdle: 2))
        var ids: [Int] = []
        var pending = Self.creations(machine.start(now: Self.t0))
        for waiter in 1...5 { pending += Self.creations(machine.acquire(waiter, now: Self.t0)) }
        while let id = pending.popLast() {
            ids.append(id)
            pending += Self.creations(machine.connectionCreated(id, now: Self.t0))
        }
        #expect(machine.snapshot.total == 5)
        for id in ids { _ = machine.release(id, broken: false, now: Self.t0) }
        #expect(machine.snapshot.idle == 5)
        let closes = machine.tick(now: Self.t0 + .seconds(61)).filter { if case .close(_, .idleTimeout) = $0 { return true } else { return false } }
        #expect(closes.count == 3)
        #expect(machine.snapshot.total == 2)
    }

    @Test("keepalive pings idle connections; a dead one is replaced")
    func keepalive() {
        var machine = Machine(configuration: Self.config(max: 1, minimumIdle: 1, keepalive: .seconds(30)))
        let id = Self.creations(machine.start(now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        #expect(machine.tick(now: Self.t0 + .seconds(26)).isEmpty, "not before 90% of keepaliveTime")
        #expect(machine.tick(now: Self.t0 + .seconds(30)) == [.validate(id)])
        let actions = machine.validationCompleted(id, alive: false, now: Self.t0 + .seconds(30))
        #expect(actions.first == .close(id, .validationFailed))
        #expect(Self.creations(actions).count == 1)
    }

    @Test("a broken connection is closed on return and replaced for the next waiter")
    func brokenRelease() {
        var machine = Machine(configuration: Self.config(max: 1))
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        _ = machine.acquire(2, now: Self.t0)
        let actions = machine.release(id, broken: true, now: Self.t0)
        #expect(actions.first == .close(id, .broken))
        let replacement = Self.creations(actions)
        #expect(replacement.count == 1)
        #expect(machine.connectionCreated(replacement[0], now: Self.t0) == [.lease(replacement[0], to: 2)])
    }

    @Test("creation failures (e.g. 1040 Too many connections) back off exponentially, one probe at a time")
    func creationBackoff() throws {
        var machine = Machine(configuration: Self.config(max: 5, concurrency: 4))
        var creates: [Int] = []
        for waiter in 1...4 { creates += Self.creations(machine.acquire(waiter, now: Self.t0)) }
        #expect(creates.count == 4)
        for id in creates {
            #expect(machine.connectionCreationFailed(id, error: "1040 Too many connections", now: Self.t0).isEmpty)
        }
        // Four failures in a row: wait 100 ms × 2³ before the next attempt, then probe with one.
        #expect(Self.creations(machine.tick(now: Self.t0 + .milliseconds(700))).isEmpty)
        let retry = try #require(machine.nextDeadline())
        #expect(retry == Self.t0 + .milliseconds(800))
        let probe = Self.creations(machine.tick(now: retry))
        #expect(probe.count == 1)
        // Waiters time out meanwhile and name the cause.
        let timedOut = machine.tick(now: Self.t0 + .seconds(2))
        guard case let .fail(_, .timedOut(_, _, cause))? = timedOut.first else {
            Issue.record("expected timeouts, got \(timedOut)")
            return
        }
        #expect(cause == "1040 Too many connections")
        // Success resets the backoff.
        _ = machine.connectionCreated(probe[0], now: Self.t0 + .seconds(2))
        #expect(Self.creations(machine.acquire(9, now: Self.t0 + .seconds(2))).isEmpty, "the new idle connection serves it")
    }

    @Test("leak detection reports a connection held too long, once")
    func leakDetection() {
        var machine = Machine(configuration: Self.config(leak: .seconds(5)))
        let id = Self.creations(machine.acquire(1, now: Self.t0))[0]
        _ = machine.connectionCreated(id, now: Self.t0)
        #expect(machine.nextDeadline() == Self.t0 + .seconds(5))
        #expect(machine.tick(now: Self.t0 + .seconds(5)) == [.reportLeak(id, heldFor: .seconds(5))])
        #expect(machine.tick(now: Self.t0 + .seconds(10)).isEmpty)
    }

    @Test("shutdown fails waiters, closes idle connections now and leased ones on return")
    func shutdown() {
        var machine = Machine(configuration: Self.config(max: 2))
        let a = Self.creations(machine.acquire(1, now: Self.t0) + machine.acquire(2, now: Self.t0))
        _ = machine.connectionCreated(a[0], now: Self.t0)
        _ = machine.connectionCreated(a[1], now: Self.t0)
        _ = machine.release(a[1], broken: false, now: Self.t0)
        _ = machine.acquire(3, now: Self.t0)
        _ = machine.acquire(4, now: Self.t0)
        let actions = machine.shutdown()
        #expect(actions.contains(.fail(4, .shutdown)))
        #expect(machine.release(a[0], broken: false, now: Self.t0) == [.close(a[0], .shutdown)])
        #expect(machine.acquire(5, now: Self.t0) == [.fail(5, .shutdown)])
    }

    /// Random workloads against the machine: whatever happens, the pool never holds or opens
    /// more than maximumPoolSize connections, never lends one connection twice, and every
    /// caller gets exactly one answer.
    @Test("invariants hold under random workloads")
    func randomWorkloads() async {
        let step = Gen.int(in: 0...7)
        await propertyCheck(count: 200, input: step.array(of: 50...300), Gen.int(in: 1...6)) { steps, maximum in
            var machine = Machine(configuration: Self.config(max: maximum, minimumIdle: maximum / 2, keepalive: .seconds(30), leak: .seconds(20)))
            var now = Self.t0
            var creating: [Int] = []
            var validating: [Int] = []
            var leased: [Int: Int] = [:]  // connection → waiter
            var answered: [Int: Int] = [:]  // waiter → answers
            var nextWaiter = 1
            var violations: [String] = []

            func absorb(_ actions: [Action]) {
                for action in actions {
                    switch action {
                    case let .createConnection(id): creating.append(id)
                    case let .validate(id): validating.append(id)
                    case let .lease(id, waiter):
                        if leased[id] != nil { violations.append("connection \(id) lent twice") }
                        leased[id] = waiter
                        answered[waiter, default: 0] += 1
                    case let .fail(waiter, _): answered[waiter, default: 0] += 1
                    case let .close(id, _): leased[id] = nil
                    case .reportLeak: break
                    }
                }
                let snapshot = machine.snapshot
                if snapshot.total + snapshot.creating > maximum { violations.append("over maximum: \(snapshot)") }
            }

            absorb(machine.start(now: now))
            for choice in steps {
                switch choice {
                case 0:
                    // The pool's fast path first, as `ConnectionPool.acquire` does.
                    if let (id, actions) = machine.acquireImmediately(now: now) {
                        absorb([.lease(id, to: nextWaiter)] + actions)
                    } else {
                        absorb(machine.acquire(nextWaiter, now: now))
                    }
                    nextWaiter += 1
                case 1:
                    absorb(machine.acquire(nextWaiter, now: now))
                    nextWaiter += 1
                case 2:
                    if let id = leased.keys.sorted().first {
                        leased[id] = nil
                        absorb(machine.release(id, broken: choice % 2 == 0 && id % 3 == 0, now: now))
                    }
                case 3:
                    if !creating.isEmpty {
                        let id = creating.removeFirst()
                        absorb(id % 4 == 0 ? machine.connectionCreationFailed(id, error: "refused", now: now) : machine.connectionCreated(id, now: now))
                    }
                case 4:
                    if !validating.isEmpty {
                        let id = validating.removeFirst()
                        absorb(machine.validationCompleted(id, alive: id % 5 != 0, now: now))
                    }
                case 5:
                    now = now + .milliseconds(700)
                    absorb(machine.tick(now: now))
                    // A deadline that tick leaves due would make the driver's timer spin.
                    if let next = machine.nextDeadline(), next <= now {
                        violations.append("tick left a deadline due: \(next) <= \(now)")
                    }
                default:
                    now = now + .milliseconds(50)
                }
            }
            // Drain: finish pending work and let every deadline pass.
            for _ in 0..<200 {
                let opening = creating
                creating.removeAll()
                for id in opening { absorb(machine.connectionCreated(id, now: now)) }
                let pinging = validating
                validating.removeAll()
                for id in pinging { absorb(machine.validationCompleted(id, alive: true, now: now)) }
                for id in leased.keys.sorted() {
                    leased[id] = nil
                    absorb(machine.release(id, broken: false, now: now))
                }
                now = now + .seconds(3)
                absorb(machine.tick(now: now))
                if let next = machine.nextDeadline(), next <= now {
                    violations.append("tick left a deadline due: \(next) <= \(now)")
                }
            }
            #expect(violations.isEmpty, "\(violations.prefix(3))")
            for waiter in 1..<nextWaiter {
                #expect(answered[waiter] == 1, "waiter \(waiter) got \(answered[waiter] ?? 0) answers")
            }
            #expect(machine.snapshot.pending == 0)
        }
    }
}

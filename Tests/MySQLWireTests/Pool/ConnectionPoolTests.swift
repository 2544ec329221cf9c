import Logging
import MySQLWire
import Synchronization
import Testing
import WireCore

/// An in-process connection for exercising the pool driver's timers and wake-ups.
final class FakePoolConnection: PoolableConnection {
    let open = Atomic<Bool>(true)
    let alive = Atomic<Bool>(true)
    /// Called at the start of each ping (to see where the pool runs it).
    let onValidate: (@Sendable () -> Void)?
    init(onValidate: (@Sendable () -> Void)? = nil) { self.onValidate = onValidate }
    var isOpen: Bool { open.load(ordering: .relaxed) }
    func validate(timeout: Duration) async -> Bool {
        onValidate?()
        return alive.load(ordering: .relaxed)
    }
    func close() async { open.store(false, ordering: .relaxed) }
}

@Suite("ConnectionPool driver")
struct ConnectionPoolTests {
    @Test("a burst larger than the pool: waiters are served as connections return, the rest time out, nothing leaks")
    func burst() async throws {
        let opened = Atomic<Int>(0)
        let pool = ConnectionPool<FakePoolConnection>(
            name: "burst-test",
            configuration: ConnectionPoolConfiguration(maximumPoolSize: 4, minimumIdle: 0, connectionTimeout: .seconds(2))
        ) {
            opened.add(1, ordering: .relaxed)
            return FakePoolConnection()
        }
        defer { pool.shutdown() }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    do {
                        return try await pool.withConnection { _ in
                            // Every fifth caller holds its connection far past the timeout.
                            try await Task.sleep(for: .milliseconds(index % 5 == 0 ? 5000 : 20))
                            return true
                        }
                    } catch let error as ConnectionPoolError {
                        guard case .timedOut = error else { return false }
                        return false
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        let served = outcomes.filter { $0 }.count
        let snapshot = pool.snapshot
        #expect(served >= 4 && served < 20, "served \(served)")
        #expect(snapshot.timeouts == 20 - served)
        #expect(snapshot.active == 0 && snapshot.pending == 0, "\(snapshot)")
        #expect(snapshot.total <= 4 && opened.load(ordering: .relaxed) <= 4)
    }

    @Test("a timeout names the pool, the wait and the counts")
    func timeoutMessage() async throws {
        let pool = ConnectionPool<FakePoolConnection>(
            name: "tiny", configuration: ConnectionPoolConfiguration(maximumPoolSize: 1, minimumIdle: 0, connectionTimeout: .seconds(3))
        ) { FakePoolConnection() }
        defer { pool.shutdown() }
        let held = try await pool.acquire()
        do {
            _ = try await pool.acquire()
            Issue.record("the second acquire should time out")
        } catch {
            let text = "\(error)"
            #expect(text.contains("tiny - Connection is not available, request timed out after"))
            #expect(text.contains("total=1, active=1, idle=0, waiting=0"))
        }
        pool.release(held)
        #expect(pool.snapshot.idle == 1)
    }

    @Test("a connection found dead by its ping is replaced transparently")
    func deadConnectionReplaced() async throws {
        let made = Mutex<[FakePoolConnection]>([])
        let pool = ConnectionPool<FakePoolConnection>(
            name: "replace",
            configuration: ConnectionPoolConfiguration(maximumPoolSize: 1, minimumIdle: 0, connectionTimeout: .seconds(2), aliveBypassWindow: .milliseconds(10))
        ) {
            let connection = FakePoolConnection()
            made.withLock { $0.append(connection) }
            return connection
        }
        defer { pool.shutdown() }
        let first = try await pool.acquire()
        pool.release(first)
        first.connection.alive.store(false, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(30))
        let second = try await pool.acquire()
        #expect(second.connection !== first.connection)
        #expect(!first.connection.isOpen, "the dead connection was closed")
        pool.release(second)
        #expect(made.withLock { $0.count } == 2)
    }

    @Test("connections are opened and pinged on the pool's event loop, not on the cooperative pool")
    func creationAndValidationRunOnTheEventLoop() async throws {
        // A burst that keeps the cooperative pool busy must not delay the connections its
        // waiters need: in parallel test runs a creation task queued there waited over 2 s.
        let loop = EventLoop(name: "pool-test")
        defer { loop.shutdown() }
        let openedOnLoop = Mutex<[Bool]>([])
        let pingedOnLoop = Mutex<[Bool]>([])
        let pool = ConnectionPool<FakePoolConnection>(
            name: "on-loop",
            configuration: ConnectionPoolConfiguration(maximumPoolSize: 1, minimumIdle: 0, connectionTimeout: .seconds(2), aliveBypassWindow: .milliseconds(10)),
            eventLoop: loop
        ) {
            openedOnLoop.withLock { $0.append(loop.inEventLoop) }
            return FakePoolConnection { pingedOnLoop.withLock { $0.append(loop.inEventLoop) } }
        }
        defer { pool.shutdown() }
        let first = try await pool.acquire()
        pool.release(first)
        try await Task.sleep(for: .milliseconds(30))
        let second = try await pool.acquire()  // past the bypass window: pinged first
        pool.release(second)
        #expect(second.connection === first.connection)
        #expect(openedOnLoop.withLock { $0 } == [true])
        #expect(pingedOnLoop.withLock { $0 } == [true])
    }

    @Test("a leak report names where the leaked connection was acquired, and only that one")
    func leakReportNamesTheCallSite() async throws {
        let messages = CapturedLog()
        let pool = ConnectionPool<FakePoolConnection>(
            name: "leaky",
            configuration: ConnectionPoolConfiguration(
                maximumPoolSize: 1, minimumIdle: 1, connectionTimeout: .seconds(2),
                leakDetectionThreshold: .milliseconds(100), aliveBypassWindow: .seconds(60)
            ),
            logger: Logger(label: "test") { _ in messages }
        ) { FakePoolConnection() }
        defer { pool.shutdown() }
        // Once the connection is open and idle, both acquires take the fast path (no ping
        // within the bypass window), which keeps the call site as its parts and makes the
        // text only for the report. The first is lent and returned without a suspension in
        // between, so it is held for microseconds whatever the load on the test machine;
        // a queued acquire would be held from its lending until its task resumes.
        let opened = ContinuousClock.now
        while pool.snapshot.idle < 1 && ContinuousClock.now - opened < .seconds(5) {
            try await Task.sleep(for: .milliseconds(5))
        }
        try #require(pool.snapshot.idle == 1, "the pool never opened its connection")
        let first = try await pool.acquire(file: "Returned.swift", line: 7)
        pool.release(first)
        let second = try await pool.acquire(file: "Immediate.swift", line: 42)
        try await Task.sleep(for: .milliseconds(400))
        pool.release(second)
        let warnings = messages.lines.filter { $0.contains("connection leak detection triggered") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("acquired at Immediate.swift:42") == true)
    }

    @Test("cancelling a waiting acquire removes the waiter")
    func cancellation() async throws {
        let pool = ConnectionPool<FakePoolConnection>(
            name: "cancel", configuration: ConnectionPoolConfiguration(maximumPoolSize: 1, minimumIdle: 0, connectionTimeout: .seconds(10))
        ) { FakePoolConnection() }
        defer { pool.shutdown() }
        let held = try await pool.acquire()
        let waiter = Task { try await pool.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(pool.snapshot.pending == 1)
        waiter.cancel()
        let result = await waiter.result
        #expect(throws: ConnectionPoolError.self) { try result.get() }
        #expect(pool.snapshot.pending == 0)
        pool.release(held)
    }
}

/// A log handler that keeps the messages it is given.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        stored.withLock { $0.append("\(message)") }
    }
}

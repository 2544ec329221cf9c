#if canImport(Glibc)
import Glibc
#endif
import MySQLWire
import Synchronization
import Testing
import WireCore

/// Against a scripted fake server (no MariaDB needed): hostile or broken servers give typed
/// errors within deadlines, never a hang or a trap.
@Suite("MySQLConnection against a hostile fake server")
struct HostileServerTests {
    static let ok = OKPacket().encoded()

    /// Accepts the login, then answers each command with `command(packet)`.
    static func server(_ command: @escaping @Sendable (MySQLPacket) -> FakeMySQLServer.Action) throws -> FakeMySQLServer {
        try FakeMySQLServer { packet, index in
            if index == 0 { return .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 2)) }
            return command(packet)
        }
    }

    @Test func garbageInsteadOfAGreetingIsAProtocolViolation() async throws {
        let server = try FakeMySQLServer(greeting: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)) { _, _ in .silence }
        defer { server.stop() }
        let error = await MySQLTestServer.connectFailure(server.configuration)
        guard case .protocolViolation? = error else {
            Issue.record("expected a protocol violation, got \(String(describing: error))")
            return
        }
    }

    @Test func aServerThatNeverGreetsTimesOut() async throws {
        let server = try FakeMySQLServer(greeting: nil) { _, _ in .silence }
        defer { server.stop() }
        var configuration = server.configuration
        configuration.connectTimeout = .milliseconds(300)
        // Timed on an event loop, where the connection's own wake-ups run: on the cooperative
        // pool the measurement would include how long the suites running in parallel keep
        // it busy (seconds, at times), not the client's timeout.
        let (error, elapsed) = await Task(executorPreference: EventLoopGroup.shared.next()) {
            let start = ContinuousClock.now
            let error = await MySQLTestServer.connectFailure(configuration)
            return (error, ContinuousClock.now - start)
        }.value
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        guard case .connection(.timedOut)? = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
    }

    @Test func loginAndAQueryAgainstTheFake() async throws {
        let server = try Self.server { packet in
            guard packet.payload.first == MySQLCommandCode.query else { return .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 1)) }
            var bytes: [UInt8] = []
            bytes += FakeMySQLServer.packet([1], sequence: 1)
            bytes += FakeMySQLServer.packet(ColumnDefinition41(name: "x", type: .longlong).encoded(), sequence: 2)
            bytes += FakeMySQLServer.packet([1, 0x37], sequence: 3)
            bytes += FakeMySQLServer.packet(OKPacket(header: 0xfe).encoded(), sequence: 4)
            return .reply(bytes)
        }
        defer { server.stop() }
        let connection = try await MySQLConnection.connect(server.configuration)
        #expect(connection.connectionID == 42)
        #expect(try await connection.query("SELECT x").rows == [[.int(7)]])
        try await connection.ping()
        await connection.close()
    }

    @Test func aServerThatHangsUpMidResultFailsTheQueryAndClosesTheConnection() async throws {
        // Accepts the login, then hangs up on the first command.
        let hangUp = try FakeMySQLServer { _, index in
            index == 0 ? .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 2)) : .close
        }
        defer { hangUp.stop() }
        let connection = try await MySQLConnection.connect(hangUp.configuration)
        let error = await errorOf { _ = try await connection.query("SELECT 1") }
        guard case .connection? = error else {
            Issue.record("expected a connection error, got \(String(describing: error))")
            return
        }
        #expect(!connection.isOpen)
        let next = await errorOf { try await connection.ping() }
        #expect(next != nil)
    }

    @Test func aMalformedRowIsAProtocolViolation() async throws {
        let server = try Self.server { _ in
            var bytes: [UInt8] = []
            bytes += FakeMySQLServer.packet([1], sequence: 1)
            bytes += FakeMySQLServer.packet(ColumnDefinition41(name: "d", type: .datetime).encoded(), sequence: 2)
            bytes += FakeMySQLServer.packet([5] + Array("2020x".utf8), sequence: 3)  // not a datetime
            return .reply(bytes)
        }
        defer { server.stop() }
        let connection = try await MySQLConnection.connect(server.configuration)
        let error = await errorOf { _ = try await connection.query("SELECT d") }
        guard case .protocolViolation(.decoding(message: "text row", _))? = error else {
            Issue.record("expected a text row decoding error, got \(String(describing: error))")
            return
        }
        #expect(!connection.isOpen)
    }

    @Test func aServerThatIgnoresKillQueryGetsTheConnectionClosed() async throws {
        // Commands other than KILL are never answered; KILL QUERY itself is acknowledged.
        let server = try Self.server { packet in
            if packet.payload.starts(with: [MySQLCommandCode.query] + Array("KILL QUERY".utf8)) {
                return .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 1))
            }
            if packet.payload.first == MySQLCommandCode.quit { return .close }
            return .silence
        }
        defer { server.stop() }
        var configuration = server.configuration
        configuration.killGracePeriod = .milliseconds(200)
        let connection = try await MySQLConnection.connect(configuration)
        let start = ContinuousClock.now
        let error = await errorOf { _ = try await connection.query("SELECT SLEEP(100)", timeout: .milliseconds(200)) }
        #expect(error == .queryTimeout(after: .milliseconds(200), killed: false))
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(!connection.isOpen)
    }

    @Test func validateGivesUpOnASilentServer() async throws {
        let server = try Self.server { _ in .silence }
        defer { server.stop() }
        let connection = try await MySQLConnection.connect(server.configuration)
        let start = ContinuousClock.now
        #expect(await connection.validate(timeout: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(!connection.isOpen)
    }

    @Test func aStatementThatEndsWhileItsKillCannotConnectKeepsTheConnection() async throws {
        // The statement overruns its timeout by a little; the server is out of connections,
        // so the kill's own login fails, after the statement has answered. The connection
        // is healthy and stays open.
        let logins = LoginCount()
        let server = try FakeMySQLServer { packet, index in
            if index == 0 {
                if logins.value.add(1, ordering: .relaxed).newValue == 1 {
                    return .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 2))
                }
                usleep(600_000)
                let tooMany = MySQLServerError(code: .tooManyConnections, sqlState: "HY000", message: "Too many connections")
                return .reply(FakeMySQLServer.packet(ERRPacket(tooMany).encoded(), sequence: 2))
            }
            if packet.payload.first == MySQLCommandCode.query { usleep(400_000) }
            return .reply(FakeMySQLServer.packet(HostileServerTests.ok, sequence: 1))
        }
        defer { server.stop() }
        let connection = try await MySQLConnection.connect(server.configuration)
        let result = try await connection.query("SELECT SLEEP(0.4)", timeout: .milliseconds(100))
        #expect(result.affectedRows == 0)
        #expect(logins.value.load(ordering: .relaxed) == 2, "the kill was never attempted")
        #expect(connection.isOpen)
        try await connection.ping()
    }

    /// COM_QUIT leaves before the FIN also when `close` runs on the connection's own event
    /// loop (a pool retiring a connection, a task that prefers the loop), where writes are
    /// sent at the end of the loop turn: the close must not drop it.
    @Test func closeOnTheConnectionsLoopSendsQuitBeforeHangingUp() async throws {
        let commands = Mutex<[UInt8]>([])
        let server = try Self.server { packet in
            commands.withLock { $0.append(packet.payload.first ?? 0) }
            return .silence
        }
        defer { server.stop() }
        let loop = EventLoopGroup.shared.next()
        try await Task(executorPreference: loop) {
            let connection = try await MySQLConnection.connect(server.configuration, eventLoop: loop)
            await connection.close()
        }.value
        let deadline = ContinuousClock.now + .seconds(3)
        while commands.withLock({ !$0.contains(MySQLCommandCode.quit) }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(commands.withLock { $0 } == [MySQLCommandCode.quit], "commands the server saw after the login")
    }

    @Test func closeDoesNotWaitForACommandInFlight() async throws {
        let server = try Self.server { _ in .silence }
        defer { server.stop() }
        let connection = try await MySQLConnection.connect(server.configuration)
        async let stuck = errorOf { _ = try await connection.query("SELECT SLEEP(100)") }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await connection.close()
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(await stuck == .connectionClosed)
        #expect(await errorOf { try await connection.ping() } == .connectionClosed)
    }
}

/// How many logins a fake server has seen.
private final class LoginCount: Sendable {
    let value = Atomic<Int>(0)
}

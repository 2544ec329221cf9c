import LabProxy
import MySQLWire
import Testing
import WireCore

@Suite(.serialized, .enabled(if: Servers.mysqlReachable, "MariaDB not reachable at LAB_MYSQL_URL (default 127.0.0.1:13306); start it with `scripts/infra up mariadb`"))
struct ProxyMySQLTests {
    static func configuration(port: Int, queryTimeout: Duration? = nil) -> MySQLConfiguration {
        var configuration = MySQLConfiguration(url: Servers.mysqlURL)!
        configuration.host = "127.0.0.1"
        configuration.port = port
        configuration.tlsMode = .disabled
        configuration.queryTimeout = queryTimeout
        configuration.connectTimeout = .seconds(5)
        return configuration
    }

    @Test func mysqlConnectionWorksThroughTheProxyAndTheTraceHoldsStatementsRowsAndErrors() async throws {
        let fixture = try ProxyFixture(port: 18520, upstream: Servers.mysql, proto: .mysql)
        defer { fixture.stop() }
        let connection = try await MySQLConnection.connect(Self.configuration(port: 18520))
        let result = try await connection.query("SELECT 1 AS a UNION ALL SELECT 2 UNION ALL SELECT 3")
        #expect(result.resultSets.first?.rows.count == 3)
        let statement = try await connection.prepare("SELECT ? + 1")
        let executed = try await connection.execute(statement, [.int(41)])
        #expect(executed.resultSets.first?.rows.count == 1)
        await #expect(throws: MySQLError.self) { _ = try await connection.query("SELECT * FROM no_such_table_proxy") }
        #expect(try await connection.query("SELECT 'still fine'").resultSets.first?.rows.count == 1)
        await connection.close()

        let handshake = try #require(await fixture.trace.wait { $0.name == "Handshake" })
        #expect(handshake["result"] == .string("OK"))
        let select = try #require(await fixture.trace.wait { $0["statement"]?.stringValue?.hasPrefix("SELECT 1 AS a") == true })
        #expect(select.name == "COM_QUERY")
        #expect(select["rows"] == .int(3))
        #expect(select.latencyMicros != nil)
        let prepare = try #require(await fixture.trace.wait { $0.name == "COM_STMT_PREPARE" })
        #expect(prepare["params"] == .int(1))
        let execute = try #require(await fixture.trace.wait { $0.name == "COM_STMT_EXECUTE" })
        #expect(execute["rows"] == .int(1))
        let failed = try #require(await fixture.trace.wait { $0["statement"]?.stringValue?.contains("no_such_table_proxy") == true })
        #expect(failed["result"] == .string("ERR"))
        #expect(failed["error_code"] == .int(1146))
        #expect(await fixture.trace.wait { $0["statement"] == .string("SELECT 'still fine'") && $0["rows"] == .int(1) } != nil)
    }

    @Test func failFaultAnswersAnErrPacketAndDelayFaultSlowsOneCommand() async throws {
        let fixture = try ProxyFixture(port: 18521, upstream: Servers.mysql, proto: .mysql)
        defer { fixture.stop() }
        let connection = try await MySQLConnection.connect(Self.configuration(port: 18521))
        try fixture.proxy.setFault(route: "18521", Fault(.fail(command: "UPDATE", message: "injected lock wait")))
        let error = await #expect(throws: MySQLError.self) { _ = try await connection.query("UPDATE no_table SET a = 1") }
        #expect(error.map { "\($0)" }?.contains("injected lock wait") == true)
        #expect(try await connection.query("SELECT 1").resultSets.first?.rows.count == 1)
        try fixture.proxy.setFault(route: "18521", Fault(.delay(command: "COM_QUERY", ms: 150)))
        let elapsed = try await ContinuousClock().measure { _ = try await connection.query("SELECT 1") }
        #expect(elapsed >= .milliseconds(150))
        await connection.close()
    }

    @Test func blackholeTurnsIntoTheQueryTimeout() async throws {
        let fixture = try ProxyFixture(port: 18522, upstream: Servers.mysql, proto: .mysql)
        defer { fixture.stop() }
        var configuration = Self.configuration(port: 18522, queryTimeout: .milliseconds(300))
        // On timeout the client KILLs the query over a second connection, which the blackhole
        // swallows too: keep that bounded.
        configuration.killGracePeriod = .milliseconds(300)
        let connection = try await MySQLConnection.connect(configuration)
        try fixture.proxy.setFault(route: "18522", Fault(.blackhole, direction: .downstream))
        let started = ContinuousClock.now
        await #expect(throws: MySQLError.self) { _ = try await connection.query("SELECT 1") }
        #expect(ContinuousClock.now - started < .seconds(4))
        await connection.close()
    }

    @Test(.enabled(if: Servers.which("mariadb") ?? Servers.which("mysql") != nil, "no mariadb/mysql client installed"))
    func mariadbClientWorksThroughTheProxy() async throws {
        let cli = try #require(Servers.which("mariadb") ?? Servers.which("mysql"))
        let fixture = try ProxyFixture(port: 18523, upstream: Servers.mysql, proto: .mysql)
        defer { fixture.stop() }
        let configuration = Self.configuration(port: 18523)
        let result = await Servers.run(cli, ["-h", "127.0.0.1", "-P", "18523", "-u", configuration.username,
                                           "-p\(configuration.password)", "--skip-ssl", "-N", "-e", "SELECT 40 + 2"])
        #expect(result.output.contains("42"), "\(result.output)")
        #expect(await fixture.trace.wait { $0["statement"] == .string("SELECT 40 + 2") && $0["rows"] == .int(1) } != nil)
    }
}

import MySQLWire
import Testing
import WireCore

extension MariaDB {
    @Suite("MariaDB: connect, auth, TLS, commands", .enabled(if: MySQLTestServer.reachable, MySQLTestServer.skipReason))
    struct ConnectionTests {
        @Test func connectsWithNativePasswordAndQueries() async throws {
            let connection = try await MySQLTestServer.connect()
            #expect(connection.connectionID > 0)
            #expect(connection.serverVersion.contains("MariaDB"))
            let result = try await connection.query("SELECT 1 AS one, 'two' AS two, NULL AS three, CURRENT_USER() AS who")
            #expect(result.columns.map(\.name) == ["one", "two", "three", "who"])
            #expect(result.rows.count == 1)
            #expect(result.rows[0][0] == .int(1))
            #expect(result.rows[0][1] == .string("two"))
            #expect(result.rows[0][2] == .null)
            #expect(result.rows[0][3].string?.hasPrefix("lab@") == true)
            try await connection.ping()
            #expect(await connection.validate(timeout: .seconds(2)))
            await connection.close()
            #expect(!connection.isOpen)
            #expect(await connection.validate(timeout: .seconds(2)) == false)
            await #expect(throws: MySQLError.connectionClosed) { try await connection.ping() }
        }

        /// A connection closed by `close` says COM_QUIT first, also from a task on its own event
        /// loop: MariaDB counts each connection that vanishes without it in Aborted_clients
        /// (and logs a warning for it), the counter operators watch for broken clients.
        @Test func closedConnectionsAreNotAbortedClients() async throws {
            let observer = try await MySQLTestServer.connect()
            func abortedClients() async throws -> Int {
                try #require(try await observer.query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'").rows.first?[1].int)
            }
            let before = try await abortedClients()
            let closes = 20
            let loop = EventLoopGroup.shared.next()
            try await Task(executorPreference: loop) {
                for _ in 0..<closes {
                    let connection = try await MySQLConnection.connect(MySQLTestServer.configuration(), eventLoop: loop)
                    await connection.close()
                }
            }.value
            // The server notices a vanished client when its read fails, moments after the FIN.
            try await Task.sleep(for: .milliseconds(300))
            let after = try await abortedClients()
            // Another test target using this server may abort a few meanwhile (parallel runs).
            #expect(after - before < closes, "Aborted_clients went from \(before) to \(after) over \(closes) closes")
            await observer.close()
        }

        @Test func wrongPasswordIsAccessDenied() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.password = "wrong"
            let error = await MySQLTestServer.connectFailure(configuration)
            #expect(error?.serverError?.code == .accessDenied)
        }

        @Test func emptyPasswordForAccountWithPasswordIsAccessDenied() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.password = ""
            await #expect(throws: MySQLError.self) { _ = try await MySQLConnection.connect(configuration) }
        }

        @Test func unknownDatabaseIsTyped() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.database = "no_such_db_here"
            let code = await MySQLTestServer.connectFailure(configuration)?.serverError?.code
            #expect(code == .unknownDatabase || code == .databaseAccessDenied)
        }

        @Test(.enabled(if: MySQLTestServer.tlsReachable, "lab CA not readable"))
        func tlsRequiredVerifiesTheLabCA() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.tlsMode = .required
            configuration.tls = TLSConfiguration(verification: .full, caFile: MySQLTestServer.caFile)
            let connection = try await MySQLConnection.connect(configuration)
            #expect(connection.isTLS)
            let result = try await connection.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            #expect(result.rows.first?[1].string?.isEmpty == false)
            // Larger than one TLS record, to exercise reads across records.
            let big = try await connection.query("SELECT REPEAT('x', 100000) AS big")
            #expect(big.rows[0][0].string?.count == 100000)
            await connection.close()
        }

        @Test(.enabled(if: MySQLTestServer.tlsReachable, "lab CA not readable"))
        func tlsPreferredUpgradesAndDisabledStaysPlain() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.tlsMode = .preferred
            configuration.tls = TLSConfiguration(verification: .full, caFile: MySQLTestServer.caFile)
            let secure = try await MySQLConnection.connect(configuration)
            #expect(secure.isTLS)
            let prepared = try await secure.query("SELECT ?, REPEAT('y', 70000)", [.string("over TLS")])
            #expect(prepared.rows[0][0] == .string("over TLS"))
            await secure.close()
            configuration.tlsMode = .disabled
            let plain = try await MySQLConnection.connect(configuration)
            #expect(!plain.isTLS)
            #expect(try await plain.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").rows.first?[1] == .string(""))
            await plain.close()
        }

        @Test func tlsWithUntrustedCAFails() async throws {
            var configuration = MySQLTestServer.configuration()
            configuration.tlsMode = .required
            configuration.tls = TLSConfiguration(verification: .full, caFile: nil)
            let error = await MySQLTestServer.connectFailure(configuration)
            if case .connection? = error {} else { Issue.record("expected a connection (TLS) error, got \(String(describing: error))") }
        }

        @Test(.enabled(if: MySQLTestServer.ed25519URL != nil, "LAB_MYSQL_ED25519_URL not set (auth_ed25519 not installed)"))
        func ed25519AccountAuthenticates() async throws {
            // The server greets with mysql_native_password, then switches to client_ed25519.
            let configuration = try #require(MySQLConfiguration(url: MySQLTestServer.ed25519URL!))
            let connection = try await MySQLConnection.connect(configuration)
            #expect(connection.authPlugin == "client_ed25519")
            #expect(try await connection.query("SELECT CURRENT_USER()").rows[0][0].string?.hasPrefix("lab_ed25519@") == true)
            await connection.close()

            var wrong = configuration
            wrong.password = "not-lab"
            #expect(await MySQLTestServer.connectFailure(wrong)?.serverError?.code == .accessDenied)
        }

        @Test func pingResetAndSessionState() async throws {
            let connection = try await MySQLTestServer.connect()
            _ = try await connection.query("SET @marker = 42")
            #expect(try await connection.query("SELECT @marker").rows[0][0] == .int(42))
            try await connection.resetConnection()
            #expect(try await connection.query("SELECT @marker").rows[0][0] == .null)
            try await connection.ping()
            await connection.close()
        }

        @Test func concurrentCallersAreSerialised() async throws {
            let connection = try await MySQLTestServer.connect()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let result = try await connection.query("SELECT \(i)")
                        #expect(result.rows[0][0] == .int(Int64(i)))
                    }
                }
                try await group.waitForAll()
            }
            await connection.close()
        }
    }
}

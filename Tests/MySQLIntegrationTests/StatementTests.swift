import MySQLWire
import Testing

extension MariaDB {
    @Suite("MariaDB: statements, results, errors, transactions", .enabled(if: MySQLTestServer.reachable, MySQLTestServer.skipReason))
    struct StatementTests {
        @Test func multiStatementsGiveMultipleResultSets() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("multi")
            let result = try await connection.query("""
                CREATE TEMPORARY TABLE \(table) (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10));
                INSERT INTO \(table) (v) VALUES ('a'), ('b');
                SELECT id, v FROM \(table) ORDER BY id;
                SELECT COUNT(*) AS n FROM \(table);
                UPDATE \(table) SET v = 'z' WHERE id = 2
                """)
            #expect(result.resultSets.count == 5)
            #expect(result.resultSets[1].affectedRows == 2)
            #expect(result.resultSets[1].lastInsertID == 1)
            #expect(result.resultSets[2].rows == [[.int(1), .string("a")], [.int(2), .string("b")]])
            #expect(result.resultSets[3].columns.map(\.name) == ["n"])
            #expect(result.resultSets[3].rows == [[.int(2)]])
            #expect(result.resultSets[4].affectedRows == 1)
            // The connection is back in sync afterwards.
            #expect(try await connection.query("SELECT 7").rows == [[.int(7)]])
            await connection.close()
        }

        @Test func storedProcedureResultsThroughBothProtocols() async throws {
            let connection = try await MySQLTestServer.connect()
            let procedure = MySQLTestServer.tableName("proc")
            _ = try await connection.query("CREATE PROCEDURE \(procedure)() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END")
            defer { Task { _ = try? await connection.query("DROP PROCEDURE \(procedure)"); await connection.close() } }
            let text = try await connection.query("CALL \(procedure)()")
            #expect(text.resultSets.count == 3)  // two SELECTs + the CALL's own OK
            #expect(text.resultSets[0].rows == [[.int(1)]])
            #expect(text.resultSets[1].rows == [[.string("x"), .int(2)]])
            let binary = try await connection.query("CALL \(procedure)()", [])
            #expect(binary.resultSets.map(\.rows) == text.resultSets.map(\.rows))
        }

        /// MariaDB's cache-metadata capability: repeated executes skip the column definitions
        /// the connection already holds; when the table changes the server sends them again and
        /// later executes use the new ones; a CALL's several result sets still decode.
        @Test func preparedStatementsUnderMetadataCaching() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("meta")
            let procedure = MySQLTestServer.tableName("metaproc")
            _ = try await connection.query("CREATE TABLE \(table) (id INT PRIMARY KEY, v VARCHAR(10))")
            _ = try await connection.query("INSERT INTO \(table) VALUES (1, 'a'), (2, 'b')")
            _ = try await connection.query("CREATE PROCEDURE \(procedure)() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END")
            do {
                let select = try await connection.prepare("SELECT * FROM \(table) WHERE id = ?")
                for round in 0..<3 {
                    let result = try await connection.execute(select, [.int(Int64(round % 2 + 1))])
                    #expect(result.columns.map(\.name) == ["id", "v"])
                    #expect(result.rows == [[.int(Int64(round % 2 + 1)), .string(round % 2 == 0 ? "a" : "b")]])
                }
                _ = try await connection.query("ALTER TABLE \(table) ADD COLUMN w INT NOT NULL DEFAULT 7")
                for _ in 0..<3 {
                    let result = try await connection.execute(select, [.int(2)])
                    #expect(result.columns.map(\.name) == ["id", "v", "w"])
                    #expect(result.rows == [[.int(2), .string("b"), .int(7)]])
                }
                try await connection.close(select)
                let call = try await connection.prepare("CALL \(procedure)()")
                for _ in 0..<3 {
                    let result = try await connection.execute(call)
                    #expect(result.resultSets.count == 3)
                    #expect(result.resultSets[0].rows == [[.int(1)]])
                    #expect(result.resultSets[1].rows == [[.string("x"), .int(2)]])
                }
                try await connection.close(call)
                #expect(try await connection.query("SELECT 7").rows == [[.int(7)]])
            } catch {
                Issue.record("\(error)")
            }
            _ = try? await connection.query("DROP TABLE \(table)")
            _ = try? await connection.query("DROP PROCEDURE \(procedure)")
            await connection.close()
        }

        @Test func insertCountsAndLastInsertID() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("ids")
            _ = try await connection.query("CREATE TEMPORARY TABLE \(table) (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
            _ = try await connection.query("ALTER TABLE \(table) AUTO_INCREMENT = 1000")
            let insert = try await connection.query("INSERT INTO \(table) (v) VALUES (?), (?), (?)", [1, 2, 3])
            #expect(insert.affectedRows == 3)
            #expect(insert.lastInsertID == 1000)
            let update = try await connection.query("UPDATE \(table) SET v = v + 1 WHERE v >= 2")
            #expect(update.affectedRows == 2)
            let warn = try await connection.query("SELECT CAST('abc' AS INTEGER)")
            #expect(warn.warnings >= 1)
            await connection.close()
        }

        @Test func serverErrorsAreTypedAndTheConnectionSurvives() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("dup")
            _ = try await connection.query("CREATE TEMPORARY TABLE \(table) (id INT PRIMARY KEY)")
            _ = try await connection.query("INSERT INTO \(table) VALUES (1)")

            let duplicate = await errorOf { _ = try await connection.query("INSERT INTO \(table) VALUES (1)") }
            #expect(duplicate?.serverError?.code == .duplicateEntry)
            #expect(duplicate?.serverError?.sqlState == "23000")
            #expect(duplicate?.serverError?.isDuplicateKey == true)

            let prepared = await errorOf { _ = try await connection.query("INSERT INTO \(table) VALUES (?)", [1]) }
            #expect(prepared?.serverError?.code == .duplicateEntry)

            let missing = await errorOf { _ = try await connection.query("SELECT * FROM no_such_table_xyz") }
            #expect(missing?.serverError?.code == .noSuchTable)
            #expect(missing?.serverError?.sqlState == "42S02")

            let prepareMissing = await errorOf { _ = try await connection.prepare("SELECT * FROM no_such_table_xyz") }
            #expect(prepareMissing?.serverError?.code == .noSuchTable)

            let syntax = await errorOf { _ = try await connection.query("SELEC 1") }
            #expect(syntax?.serverError?.code == .parseError)

            // An error in the middle of a multi-statement batch.
            let midBatch = await errorOf { _ = try await connection.query("SELECT 1; SELECT * FROM no_such_table_xyz; SELECT 3") }
            #expect(midBatch?.serverError?.code == .noSuchTable)

            #expect(try await connection.query("SELECT 'still alive'").rows == [[.string("still alive")]])
            await connection.close()
        }

        @Test func transactionCommitsAndRollsBack() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("tx")
            _ = try await connection.query("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB")
            defer { Task { _ = try? await connection.query("DROP TABLE \(table)"); await connection.close() } }

            try await connection.transaction { tx in
                _ = try await tx.query("INSERT INTO \(table) VALUES (1)")
            }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await connection.transaction { tx in
                    _ = try await tx.query("INSERT INTO \(table) VALUES (2)")
                    throw Boom()
                }
            }
            let rows = try await connection.query("SELECT id FROM \(table) ORDER BY id").rows
            #expect(rows == [[.int(1)]])
        }

        @Test func preparedStatementReuseAndReset() async throws {
            let connection = try await MySQLTestServer.connect()
            let statement = try await connection.prepare("SELECT ? + 1")
            for i in 0..<50 {
                let result = try await connection.execute(statement, [.int(Int64(i))])
                #expect(result.rows[0][0].int64 == Int64(i + 1))
            }
            try await connection.reset(statement)
            let wrongCount = await errorOf { _ = try await connection.execute(statement, []) }
            if case .invalidArgument? = wrongCount {} else { Issue.record("expected invalidArgument, got \(String(describing: wrongCount))") }
            try await connection.close(statement)
            let closed = await errorOf { _ = try await connection.execute(statement, [1]) }
            #expect(closed?.serverError?.code == .unknownStatement)
            await connection.close()
        }

        @Test func deadlockBetweenTwoConnectionsIsTyped() async throws {
            let setup = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("deadlock")
            _ = try await setup.query("CREATE TABLE \(table) (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
            _ = try await setup.query("INSERT INTO \(table) VALUES (1, 0), (2, 0)")
            defer { Task { _ = try? await setup.query("DROP TABLE \(table)"); await setup.close() } }

            let a = try await MySQLTestServer.connect()
            let b = try await MySQLTestServer.connect()
            _ = try await a.query("BEGIN")
            _ = try await b.query("BEGIN")
            _ = try await a.query("UPDATE \(table) SET v = 1 WHERE id = 1")
            _ = try await b.query("UPDATE \(table) SET v = 2 WHERE id = 2")
            // Each now wants the other's row: InnoDB picks a victim.
            async let first = errorOf { _ = try await a.query("UPDATE \(table) SET v = 1 WHERE id = 2") }
            try await Task.sleep(for: .milliseconds(200))
            let second = await errorOf { _ = try await b.query("UPDATE \(table) SET v = 2 WHERE id = 1") }
            let errors = [await first, second].compactMap { $0 }
            #expect(errors.count == 1)
            #expect(errors.first?.serverError?.code == .deadlock)
            #expect(errors.first?.serverError?.sqlState == "40001")
            #expect(errors.first?.serverError?.isTransactionRetriable == true)
            _ = try await a.query("ROLLBACK")
            _ = try await b.query("ROLLBACK")
            await a.close()
            await b.close()
        }

        @Test func lockWaitTimeoutIsTyped() async throws {
            let setup = try await MySQLTestServer.connect()
            let table = MySQLTestServer.tableName("lockwait")
            _ = try await setup.query("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB")
            _ = try await setup.query("INSERT INTO \(table) VALUES (1)")
            defer { Task { _ = try? await setup.query("DROP TABLE \(table)"); await setup.close() } }
            let holder = try await MySQLTestServer.connect()
            let waiter = try await MySQLTestServer.connect()
            _ = try await holder.query("BEGIN; SELECT * FROM \(table) WHERE id = 1 FOR UPDATE")
            _ = try await waiter.query("SET SESSION innodb_lock_wait_timeout = 1")
            let error = await errorOf { _ = try await waiter.query("UPDATE \(table) SET id = 2 WHERE id = 1") }
            #expect(error?.serverError?.code == .lockWaitTimeout)
            _ = try await holder.query("ROLLBACK")
            await holder.close()
            await waiter.close()
        }

        @Test func queryTimeoutKillsTheQueryAndKeepsTheConnection() async throws {
            let connection = try await MySQLTestServer.connect()
            let start = ContinuousClock.now
            let error = await errorOf { _ = try await connection.query("SELECT SLEEP(30)", timeout: .milliseconds(300)) }
            let elapsed = ContinuousClock.now - start
            #expect(error == .queryTimeout(after: .milliseconds(300), killed: true))
            #expect(elapsed < .seconds(5))
            // KILL QUERY leaves the session usable.
            #expect(try await connection.query("SELECT 1").rows == [[.int(1)]])

            // Prepared statements too, and the configured default timeout.
            let timed = try await MySQLTestServer.connect(queryTimeout: .milliseconds(300))
            let statement = try await timed.prepare("SELECT SLEEP(?)")
            let preparedError = await errorOf { _ = try await timed.execute(statement, [.int(30)]) }
            #expect(preparedError == .queryTimeout(after: .milliseconds(300), killed: true))
            #expect(try await timed.execute(statement, [.int(0)]).rows == [[.int(0)]])
            // A fast query under the timeout is unaffected.
            #expect(try await timed.query("SELECT 2").rows == [[.int(2)]])
            await timed.close()
            await connection.close()
        }
    }
}

/// The MySQLError an operation fails with, nil if it succeeds.
func errorOf(_ body: () async throws -> Void) async -> MySQLError? {
    do {
        try await body()
        return nil
    } catch let error as MySQLError {
        return error
    } catch {
        Issue.record("expected a MySQLError, got \(error)")
        return nil
    }
}

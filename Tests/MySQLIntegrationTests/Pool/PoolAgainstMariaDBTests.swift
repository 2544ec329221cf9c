import Foundation
import LabTestSupport
import MetricsTestKit
import MySQLWire
import Synchronization
import Testing
import WireCore

extension MariaDB {
    /// The pool against the real server: the burst of the pool-exhaustion scenario in small,
    /// and a server restart under load.
    @Suite("MariaDB: connection pool", .enabled(if: MySQLTestServer.reachable, MySQLTestServer.skipReason))
    struct PoolAgainstMariaDBTests {
        enum Outcome: Sendable { case served, timedOut, failed(String) }

        /// 100 concurrent callers × 3 operations on a pool of 20 (timeout 2 s); every tenth
        /// operation holds its connection for 3 s (the scenario's poison message). The held
        /// connections exhaust the pool: callers wait (pending > 0) and some time out, every
        /// other operation is served, and afterwards nothing is left in use.
        @Test func burstExhaustsThePoolAndRecovers() async throws {
            let metrics = TestMetrics()
            let pool = ConnectionPool<MySQLConnection>(
                name: "burst", configuration: .burstScenario, metricsFactory: metrics
            ) {
                try await MySQLTestServer.connect()
            }
            defer { pool.shutdown() }
            let table = MySQLTestServer.tableName("burst")
            try await pool.withConnection { connection in
                _ = try await connection.query("CREATE TABLE \(table) (id INT PRIMARY KEY, note VARCHAR(32))")
            }

            let peaks = Peaks()
            let sampling = Task {
                while !Task.isCancelled {
                    let snapshot = pool.snapshot
                    peaks.pending.max(snapshot.pending)
                    peaks.active.max(snapshot.active)
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }

            let outcomes = await withTaskGroup(of: [(id: Int, outcome: Outcome)].self) { group in
                for caller in 0..<100 {
                    group.addTask {
                        var results: [(id: Int, outcome: Outcome)] = []
                        for step in 0..<3 {
                            let id = caller * 3 + step
                            do {
                                try await pool.withConnection { connection in
                                    if id % 10 == 0 {
                                        _ = try await connection.query("SELECT SLEEP(3)")
                                    } else {
                                        _ = try await connection.query("SELECT note FROM \(table) WHERE id = \(id)")
                                        _ = try await connection.query("INSERT INTO \(table) VALUES (\(id), 'ok')")
                                    }
                                }
                                results.append((id, .served))
                            } catch let error as ConnectionPoolError {
                                if case .timedOut = error { results.append((id, .timedOut)) } else { results.append((id, .failed("\(error)"))) }
                            } catch {
                                results.append((id, .failed("\(error)")))
                            }
                        }
                        return results
                    }
                }
                return await group.reduce(into: [(id: Int, outcome: Outcome)]()) { $0 += $1 }
            }
            sampling.cancel()

            let served = outcomes.filter { if case .served = $0.outcome { return true } else { return false } }.count
            let timedOut = outcomes.filter { if case .timedOut = $0.outcome { return true } else { return false } }.count
            let failures = outcomes.compactMap { if case let .failed(reason) = $0.outcome { return reason } else { return nil } }
            #expect(outcomes.count == 300)
            #expect(failures.isEmpty, "operations failed other than by timing out: \(failures.prefix(3))")
            #expect(timedOut > 0, "30 operations holding 3 s on 20 connections must make some callers wait past 2 s")
            #expect(served + timedOut == 300)
            #expect(peaks.pending.load(ordering: .relaxed) > 0)
            #expect(peaks.active.load(ordering: .relaxed) == 20, "the burst should use the whole pool")

            // Every served insert is in the table, once; no timed-out one is.
            let inserted = try await pool.withConnection { connection in
                try await connection.query("SELECT COUNT(*) FROM \(table)").rows.first?.first?.int64
            }
            let servedInserts = outcomes.filter { entry in
                if case .served = entry.outcome, entry.id % 10 != 0 { return true } else { return false }
            }.count
            #expect(inserted == Int64(servedInserts))

            // Afterwards: nothing in use, nobody waiting, no more connections than the maximum,
            // and the hikaricp_* metrics say the same.
            let after = pool.snapshot
            #expect(after.active == 0 && after.pending == 0 && after.total <= 20, "\(after)")
            #expect(after.timeouts == timedOut)
            let timeoutCounter = try metrics.expectCounter("hikaricp_connections_timeout_total", [("pool", "burst")])
            #expect(timeoutCounter.totalValue == Int64(timedOut))
            let pendingGauge = try metrics.expectGauge("hikaricp_connections_pending", [("pool", "burst")])
            #expect(pendingGauge.values.contains { $0 > 0 })
            #expect(pendingGauge.lastValue == 0)
            let activeGauge = try metrics.expectGauge("hikaricp_connections_active", [("pool", "burst")])
            #expect(activeGauge.values.max() == 20)
            #expect(try metrics.expectGauge("hikaricp_connections_max", [("pool", "burst")]).lastValue == 20)
            #expect(try metrics.expectTimer("hikaricp_connections_acquire_seconds", [("pool", "burst")]).values.count >= served)
            #expect(try metrics.expectTimer("hikaricp_connections_creation_seconds", [("pool", "burst")]).values.count >= 20)
            #expect(try metrics.expectTimer("hikaricp_connections_usage_seconds", [("pool", "burst")]).values.count >= served)

            try await pool.withConnection { connection in _ = try await connection.query("DROP TABLE \(table)") }
        }

        /// The server is killed (SIGKILL) and started again while callers keep querying:
        /// calls fail while it is down, the pool replaces its dead connections, and queries
        /// succeed again once it is back, with no connection leaked.
        @Test func survivesAServerRestart() async throws {
            let pool = ConnectionPool<MySQLConnection>(
                name: "restart",
                configuration: ConnectionPoolConfiguration(
                    maximumPoolSize: 5, minimumIdle: 2, connectionTimeout: .seconds(2), validationTimeout: .seconds(1),
                    aliveBypassWindow: .milliseconds(100), creationBackoffCap: .seconds(1))
            ) {
                try await MySQLTestServer.connect()
            }
            defer { pool.shutdown() }
            let pidFile = try await pool.withConnection { connection in
                try await connection.query("SELECT @@pid_file").rows.first?.first?.description
            }
            let path = try #require(pidFile)
            let pid = try #require(Int32(String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))

            let progress = RestartProgress()
            let callers = (0..<4).map { _ in
                Task {
                    var failures = 0
                    while !progress.stop.load(ordering: .relaxed) {
                        do {
                            let value = try await pool.withConnection { connection in
                                try await connection.query("SELECT 1").rows.first?.first?.int64
                            }
                            if value == 1, progress.restarted.load(ordering: .relaxed) { progress.succeededAfterRestart.add(1, ordering: .relaxed) }
                        } catch {
                            failures += 1
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    return failures
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(kill(pid, SIGKILL) == 0)
            try await Task.sleep(for: .seconds(1))
            // Bring it back the way the lab does (same datadir, same port).
            let status = await ChildProcess.run(MySQLTestServer.packageRoot + "/scripts/infra", ["up", "mariadb"])
            #expect(status == 0, "scripts/infra up mariadb failed")
            progress.restarted.store(true, ordering: .relaxed)

            let deadline = ContinuousClock.now + .seconds(30)
            while progress.succeededAfterRestart.load(ordering: .relaxed) < 20 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            progress.stop.store(true, ordering: .relaxed)
            var failures = 0
            for caller in callers { failures += await caller.value }
            #expect(progress.succeededAfterRestart.load(ordering: .relaxed) >= 20, "queries did not recover after the restart")
            #expect(failures > 0, "the outage should have been visible to callers")
            let after = pool.snapshot
            #expect(after.active == 0 && after.pending == 0 && after.total <= 5, "\(after)")
        }
    }
}

/// Highest counts seen while sampling the pool.
final class Peaks: Sendable {
    let pending = Atomic<Int>(0)
    let active = Atomic<Int>(0)
}

/// Shared between the restart test and its callers.
final class RestartProgress: Sendable {
    let stop = Atomic<Bool>(false)
    let restarted = Atomic<Bool>(false)
    let succeededAfterRestart = Atomic<Int>(0)
}

extension Atomic where Value == Int {
    /// Raises the stored value to `candidate` if it is larger.
    func max(_ candidate: Int) {
        var current = load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

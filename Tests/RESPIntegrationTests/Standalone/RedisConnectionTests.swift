import RESP
import Synchronization
import Testing
import WireCore

/// One `RedisConnection` against the standalone server: protocol negotiation, pipelining,
/// deadlines and a server that drops the connection.
@Suite(.enabled(if: TestServers.redisReachable, TestServers.redisSkipReason))
struct RedisConnectionTests {
    // MARK: Handshake

    @Test func hello3NegotiatesRESP3() async throws {
        try await withRedis { connection, _ throws in
            #expect(connection.protocolVersion == 3)
            let info = try #require(try await connection.send(["CLIENT", "INFO"]).string)
            #expect(info.contains("resp=3"), "server says: \(info)")
        }
    }

    @Test func preferringRESP2StaysOnRESP2() async throws {
        try await withRedis(preferRESP3: false) { connection, _ throws in
            #expect(connection.protocolVersion == 2)
            let info = try #require(try await connection.send(["CLIENT", "INFO"]).string)
            #expect(info.contains("resp=2"), "server says: \(info)")
        }
    }

    @Test(arguments: [true, false])
    func clientNameAndDatabaseAreSetDuringTheHandshake(preferRESP3: Bool) async throws {
        var configuration = TestServers.configuration(preferRESP3: preferRESP3)
        let name = "lab-test-\(UInt32.random(in: 0...UInt32.max))"
        configuration.clientName = name
        configuration.database = 3
        let connection = try await RedisConnection.connect(configuration)
        defer { connection.close() }
        #expect(try await connection.send(["CLIENT", "GETNAME"]).string == name)
        let info = try #require(try await connection.send(["CLIENT", "INFO"]).string)
        #expect(info.contains(" db=3 "), "server says: \(info)")
    }

    /// The same typed helpers read RESP3's maps, sets and doubles and RESP2's flat arrays and
    /// numeric strings into the same values.
    @Test func bothProtocolsGiveTheSameTypedResults() async throws {
        try await withRedis { resp3, prefix throws in
            let resp2 = try await RedisConnection.connect(TestServers.configuration(preferRESP3: false))
            defer { resp2.close() }
            #expect(resp3.protocolVersion == 3)
            #expect(resp2.protocolVersion == 2)

            let hash = prefix + "hash", zset = prefix + "zset", set = prefix + "set"
            try await resp3.hset(hash, [("name", "ada"), ("born", "1815"), ("empty", "")])
            try await resp3.zadd(zset, [(1.5, "b"), (-2.25, "a"), (1e10, "c"), (.infinity, "top")])
            try await resp3.sadd(set, ["x", "y", "z"])

            // Raw replies really differ in shape…
            #expect(try await resp3.send(["HGETALL", hash]).pairs != nil)
            #expect(try await resp2.send(["HGETALL", hash]).pairs == nil)
            #expect(try await resp3.send(["ZSCORE", zset, "b"]).double == 1.5)
            #expect(try await resp2.send(["ZSCORE", zset, "b"]).string == "1.5")

            // …and the typed helpers agree.
            for connection in [resp3, resp2] {
                let label = "RESP\(connection.protocolVersion)"
                #expect(try await connection.hgetall(hash) == ["name": Array("ada".utf8), "born": Array("1815".utf8), "empty": []], "\(label)")
                let ranked = try await connection.zrangeWithScores(zset, start: 0, stop: -1)
                #expect(ranked.map(\.member) == ["a", "b", "c", "top"], "\(label)")
                #expect(ranked.map(\.score) == [-2.25, 1.5, 1e10, .infinity], "\(label)")
                #expect(try await connection.zscore(zset, "b") == 1.5, "\(label)")
                #expect(try await connection.zscore(zset, "top") == .infinity, "\(label)")
                #expect(try await connection.zscore(zset, "missing") == nil, "\(label)")
                #expect(try await connection.smembers(set) == ["x", "y", "z"], "\(label)")
                #expect(try await connection.hgetall(prefix + "missing").isEmpty, "\(label)")
                #expect(try await connection.smembers(prefix + "missing").isEmpty, "\(label)")
            }
        }
    }

    // MARK: Pipelining

    /// 20 tasks share one connection: every INCR gets exactly its own reply, so the counter
    /// ends at 10,000 and the values handed out are exactly 1…10,000, increasing per task.
    @Test func tenThousandConcurrentIncrsOnOneConnection() async throws {
        try await withRedis { connection, prefix throws in
            let key = prefix + "counter"
            let tasks = 20, perTask = 500
            let results = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        var seen: [Int64] = []
                        seen.reserveCapacity(perTask)
                        for _ in 0..<perTask { seen.append(try await connection.incr(key)) }
                        return seen
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            #expect(try await connection.getString(key) == "10000")
            for seen in results {
                #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "one task's replies came back out of order")
            }
            #expect(results.flatMap { $0 }.sorted() == Array(1...Int64(tasks * perTask)))
        }
    }

    @Test func aPipelineOfAThousandMixedCommandsAnswersInOrder() async throws {
        try await withRedis { connection, prefix throws in
            var commands: [RedisCommand] = []
            for index in 0..<250 {
                let key = prefix + "k\(index)"
                commands.append(RedisCommand("SET").key(key).argument("v\(index)"))
                commands.append(RedisCommand("GET").key(key))
                commands.append(RedisCommand("INCR").key(prefix + "counter"))
                // Every 50th is an error reply, which a pipeline returns as a value.
                commands.append(index % 50 == 0 ? RedisCommand("INCR").key(key) : RedisCommand("STRLEN").key(key))
            }
            let replies = try await connection.pipeline(commands)
            try #require(replies.count == 1000)
            for index in 0..<250 {
                let base = index * 4
                #expect(replies[base].string == "OK")
                #expect(replies[base + 1].string == "v\(index)")
                #expect(replies[base + 2].int == Int64(index + 1))
                if index % 50 == 0 {
                    #expect(replies[base + 3].redisError?.kind == .generic(code: "ERR"))
                } else {
                    #expect(replies[base + 3].int == Int64("v\(index)".utf8.count))
                }
            }
        }
    }

    /// Pipelines and single commands from many tasks interleave on the wire without their
    /// replies crossing over.
    @Test func concurrentPipelinesKeepTheirRepliesApart() async throws {
        try await withRedis { connection, prefix throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<10 {
                    group.addTask {
                        for round in 0..<30 {
                            let key = prefix + "t\(task)"
                            let value = "\(task)-\(round)"
                            let replies = try await connection.pipeline([
                                RedisCommand("SET").key(key).argument(value),
                                RedisCommand("GET").key(key),
                                RedisCommand("ECHO").argument(value),
                            ])
                            #expect(replies.map(\.string) == ["OK", value, value])
                            #expect(try await connection.send(RedisCommand("ECHO").argument(value)).string == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func anEmptyPipelineSendsNothing() async throws {
        try await withRedis { connection, _ throws in
            #expect(try await connection.pipeline([]).isEmpty)
            #expect(try await connection.ping() == "PONG")
        }
    }

    // MARK: Deadlines

    /// A blocking command that outlives its own timeout fails with `.timedOut` close to that
    /// timeout, even though the connection's default timeout is much longer, and the
    /// connection is closed (its reply stream can no longer be trusted).
    @Test func aCommandPastItsTimeoutFailsAndClosesTheConnection() async throws {
        try await withRedis(commandTimeout: .seconds(10)) { connection, prefix throws in
            _ = try await connection.ping()  // a reply timer for the default timeout is now armed
            let timeout = Duration.milliseconds(300)
            let start = ContinuousClock.now
            let error = await redisFailure { () async throws(RedisError) in
                // BLPOP would block for 30 s on the server: only the client's timeout can end it sooner.
                try await connection.send(RedisCommand("BLPOP").key(prefix + "empty").argument(30), timeout: timeout)
            }
            let elapsed = ContinuousClock.now - start
            #expect(error == .timedOut(command: "BLPOP", after: timeout))
            #expect(elapsed >= timeout - .milliseconds(5))
            // Well below the connection's 10 s default and BLPOP's 30 s; generous because a
            // loaded 2-core test run can delay resuming the waiting task by seconds.
            #expect(elapsed < .seconds(8), "timed out after \(elapsed)")
            #expect(!connection.isOpen)

            let next = await redisFailure { () async throws(RedisError) in try await connection.ping() }
            #expect(next?.wireError != nil, "a closed connection answered with \(String(describing: next))")
        }
    }

    /// Requests queued behind the one that timed out fail with it; none of them hangs.
    /// (The timeout applies to the handshake too, so it leaves room for a busy server.)
    @Test func requestsBehindATimedOutOneFailToo() async throws {
        try await withRedis(commandTimeout: .seconds(1)) { connection, prefix throws in
            let outcomes = await withTaskGroup(of: RedisError?.self) { group in
                group.addTask {
                    do throws(RedisError) {
                        _ = try await connection.send(RedisCommand("BLPOP").key(prefix + "empty").argument(5))
                        return nil
                    } catch {
                        return error
                    }
                }
                for _ in 0..<5 {
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(50))
                        do throws(RedisError) { _ = try await connection.ping(); return nil } catch { return error }
                    }
                }
                return await group.reduce(into: [RedisError?]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 != nil }, "a request behind the blocked BLPOP succeeded: \(outcomes)")
            #expect(!connection.isOpen)
        }
    }

    @Test func theReconnectingClientRecoversAfterATimeout() async throws {
        let client = RedisClient(TestServers.configuration())
        defer { client.close() }
        let key = uniqueKeyPrefix() + "empty"
        let connection = try await client.connection()
        let firstID = try #require(try await connection.send(["CLIENT", "ID"]).int)
        let start = ContinuousClock.now
        let error = await redisFailure { () async throws(RedisError) in
            try await connection.send(RedisCommand("BLPOP").key(key).argument(30), timeout: .milliseconds(300))
        }
        #expect(error == .timedOut(command: "BLPOP", after: .milliseconds(300)))
        #expect(ContinuousClock.now - start < .seconds(8), "far below BLPOP's 30 s")
        #expect(!connection.isOpen)
        #expect(try await client.ping() == "PONG")
        let secondID = try #require(try await client.send(["CLIENT", "ID"]).int)
        #expect(secondID != firstID, "the client kept using the timed-out connection")
    }

    // MARK: A server that hangs up

    /// CLIENT KILL from another connection: the victim's next command fails as a connection
    /// error, never as a hang or a wrong reply.
    @Test func aConnectionKilledByTheServerFailsItsNextCommand() async throws {
        try await withRedis { killer, _ throws in
            let victim = try await RedisConnection.connect(TestServers.configuration())
            defer { victim.close() }
            let id = try #require(try await victim.send(["CLIENT", "ID"]).int)
            #expect(try await killer.send(["CLIENT", "KILL", "ID", String(id)]).int == 1)

            let error = await redisFailure { () async throws(RedisError) in try await victim.ping() }
            #expect(error?.wireError != nil, "expected .connection(…), got \(String(describing: error))")
            #expect(await eventually(timeout: .seconds(5)) { !victim.isOpen })
        }
    }

    @Test func theReconnectingClientRecoversAfterAServerSideKill() async throws {
        try await withRedis { killer, _ throws in
            let client = RedisClient(TestServers.configuration())
            defer { client.close() }
            let id = try #require(try await client.send(["CLIENT", "ID"]).int)
            #expect(try await killer.send(["CLIENT", "KILL", "ID", String(id)]).int == 1)

            // The next command either meets the dead connection (a connection error: it may
            // or may not have been applied, so it is not retried) or, when the hangup was
            // already seen, runs on a fresh one.
            do throws(RedisError) {
                _ = try await client.ping()
            } catch {
                #expect(error.wireError != nil, "expected .connection(…), got \(error)")
            }
            #expect(try await client.ping() == "PONG")
            let newID = try #require(try await client.send(["CLIENT", "ID"]).int)
            #expect(newID != id)
        }
    }

    @Test func theClientSpreadsCommandsOverItsConnections() async throws {
        let client = RedisClient(TestServers.configuration(), connections: 3)
        defer { client.close() }
        var ids: Set<Int64> = []
        for _ in 0..<6 { ids.insert(try #require(try await client.send(["CLIENT", "ID"]).int)) }
        #expect(ids.count == 3)
    }

    /// A refused connect fails at once; the next attempt waits out the reconnect backoff
    /// instead of hammering the server.
    @Test func theClientBacksOffAfterAFailedConnect() async throws {
        let refusing = try RefusingPort()
        defer { refusing.close() }
        var configuration = TestServers.configuration()
        configuration.host = "127.0.0.1"
        configuration.port = refusing.port
        let client = RedisClient(configuration, reconnectBackoff: .milliseconds(300))
        defer { client.close() }

        let first = await redisFailure { () async throws(RedisError) in try await client.ping() }
        #expect(first == .connection(.connectionRefused(peer: "127.0.0.1:\(refusing.port)")))
        let start = ContinuousClock.now
        let second = await redisFailure { () async throws(RedisError) in try await client.ping() }
        #expect(second == .connection(.connectionRefused(peer: "127.0.0.1:\(refusing.port)")))
        #expect(ContinuousClock.now - start >= .milliseconds(250), "reconnected without backing off")
    }
}

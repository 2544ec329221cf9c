import RESP
import Testing
import WireCore

/// Every typed helper against the real server, in both protocols where the reply shapes
/// differ. Each test works under its own key prefix and deletes it afterwards.
@Suite(.enabled(if: TestServers.redisReachable, TestServers.redisSkipReason))
struct RedisCommandsTests {
    static let protocols = [true, false]  // preferRESP3

    // MARK: SET and its options

    @Test(arguments: protocols)
    func setHonoursItsConditions(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "k"
            #expect(try await redis.set(key, "one"))
            #expect(try await redis.getString(key) == "one")

            // NX refuses an existing key and leaves it alone; XX refuses a missing one.
            #expect(try await redis.set(key, "two", condition: .ifNotExists) == false)
            #expect(try await redis.getString(key) == "one")
            #expect(try await redis.set(prefix + "fresh", "x", condition: .ifNotExists))
            #expect(try await redis.set(prefix + "absent", "x", condition: .ifExists) == false)
            #expect(try await redis.exists([prefix + "absent"]) == 0)
            #expect(try await redis.set(key, "three", condition: .ifExists))
            #expect(try await redis.getString(key) == "three")
        }
    }

    @Test(arguments: protocols)
    func setHonoursItsExpirations(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "k"
            try await redis.set(key, "v", expiration: .seconds(100))
            #expect((1...100).contains(try await redis.ttl(key)))

            try await redis.set(key, "v", expiration: .milliseconds(5000))
            #expect((1...5000).contains(try await redis.pttl(key)))
            #expect((1...5).contains(try await redis.ttl(key)))

            // KEEPTTL keeps the deadline a plain SET would clear.
            try await redis.set(key, "kept", expiration: .keepTTL)
            #expect((1...5000).contains(try await redis.pttl(key)))
            #expect(try await redis.getString(key) == "kept")
            try await redis.set(key, "plain")
            #expect(try await redis.ttl(key) == -1)

            // A short PX really expires.
            try await redis.set(prefix + "short", "v", expiration: .milliseconds(50))
            #expect(await eventually(timeout: .seconds(3)) { (try? await redis.get(prefix + "short")) == .some(nil) })
        }
    }

    @Test(arguments: protocols)
    func setAndGetReturnsThePreviousValue(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "k"
            #expect(try await redis.setAndGet(key, "first") == nil)
            #expect(try await redis.setAndGet(key, "second") == Array("first".utf8))
            // NX with GET: refused, but still says what is there.
            #expect(try await redis.setAndGet(key, "third", condition: .ifNotExists) == Array("second".utf8))
            #expect(try await redis.getString(key) == "second")
            #expect(try await redis.setAndGet(key, "fourth", expiration: .seconds(60)) == Array("second".utf8))
            #expect((1...60).contains(try await redis.ttl(key)))
        }
    }

    // MARK: Strings and keys

    @Test(arguments: protocols)
    func stringsCountersAndExpiry(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let a = prefix + "a", b = prefix + "b", counter = prefix + "n"
            #expect(try await redis.get(a) == nil)
            #expect(try await redis.getString(a) == nil)
            try await redis.mset([(a, "1"), (b, "2")])
            #expect(try await redis.mget([a, prefix + "missing", b]) == [Array("1".utf8), nil, Array("2".utf8)])
            #expect(try await redis.exists([a, b, prefix + "missing", a]) == 3, "EXISTS counts a repeated key twice")

            #expect(try await redis.incr(counter) == 1)
            #expect(try await redis.incrBy(counter, 41) == 42)
            #expect(try await redis.decr(counter) == 41)
            #expect(try await redis.decrBy(counter, 50) == -9)
            #expect(try await redis.incrBy(counter, Int(Int32.max) + 10) == Int64(Int32.max) + 1)

            #expect(try await redis.ttl(prefix + "missing") == -2)
            #expect(try await redis.pttl(prefix + "missing") == -2)
            #expect(try await redis.ttl(a) == -1)
            #expect(try await redis.expire(a, seconds: 30))
            #expect((1...30).contains(try await redis.ttl(a)))
            #expect(try await redis.pexpire(b, milliseconds: 30_000))
            #expect((1...30_000).contains(try await redis.pttl(b)))
            #expect(try await redis.expire(prefix + "missing", seconds: 30) == false)

            #expect(try await redis.del([a, b, prefix + "missing"]) == 2)
            #expect(try await redis.del(counter) == 1)
            #expect(try await redis.exists([a, b, counter]) == 0)
        }
    }

    @Test func valuesAreBinarySafe() async throws {
        try await withRedis { redis, prefix throws in
            let value: [UInt8] = [0, 13, 10, 0xFF, 0xFE, 36, 42, 13, 10] + Array(0...255)
            try await redis.set(prefix + "bin", value)
            #expect(try await redis.get(prefix + "bin") == value)
            let binaryKey: [UInt8] = Array(prefix.utf8) + [0, 13, 10, 0xFF]
            try await redis.set(binaryKey, "under a binary key")
            #expect(try await redis.getString(binaryKey) == "under a binary key")
            // SCAN-based cleanup reads keys as text, which cannot name this one: delete it here.
            #expect(try await redis.send(RedisCommand("DEL").key(binaryKey)).int == 1)
        }
    }

    // MARK: Hashes, sets, sorted sets

    @Test(arguments: protocols)
    func hashes(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "h"
            #expect(try await redis.hset(key, [("a", "1"), ("b", "2")]) == 2)
            #expect(try await redis.hset(key, [("a", "10"), ("c", "3")]) == 1, "updating a field does not count")
            #expect(try await redis.hget(key, field: "a") == Array("10".utf8))
            #expect(try await redis.hget(key, field: "zz") == nil)
            #expect(try await redis.hincrBy(key, field: "c", by: -5) == -2)
            #expect(try await redis.hlen(key) == 3)
            #expect(try await redis.hdel(key, fields: ["a", "zz"]) == 1)
            #expect(try await redis.hgetall(key) == ["b": Array("2".utf8), "c": Array("-2".utf8)])
        }
    }

    @Test(arguments: protocols)
    func sets(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "s"
            #expect(try await redis.sadd(key, ["a", "b", "c", "a"]) == 3)
            #expect(try await redis.sadd(key, ["c", "d"]) == 1)
            #expect(try await redis.sismember(key, "d"))
            #expect(try await redis.sismember(key, "e") == false)
            #expect(try await redis.scard(key) == 4)
            #expect(try await redis.srem(key, ["a", "e"]) == 1)
            #expect(try await redis.smembers(key) == ["b", "c", "d"])
        }
    }

    @Test(arguments: protocols)
    func sortedSets(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let key = prefix + "z"
            #expect(try await redis.zadd(key, [(3, "c"), (1, "a"), (2, "b")]) == 3)
            #expect(try await redis.zadd(key, [(0.5, "a"), (-.infinity, "bottom")]) == 1)
            #expect(try await redis.zrange(key, start: 0, stop: -1) == ["bottom", "a", "b", "c"])
            #expect(try await redis.zrange(key, start: 1, stop: 2) == ["a", "b"])
            #expect(try await redis.zscore(key, "a") == 0.5)
            #expect(try await redis.zscore(key, "bottom") == -.infinity)
            #expect(try await redis.zincrBy(key, 2.25, "a") == 2.75)
            #expect(try await redis.zrangeWithScores(key, start: -2, stop: -1).map(\.member) == ["a", "c"])
            #expect(try await redis.zrem(key, ["bottom", "nope"]) == 1)
            #expect(try await redis.zcard(key) == 3)
            #expect(try await redis.zrangeWithScores(prefix + "missing", start: 0, stop: -1).isEmpty)
        }
    }

    // MARK: SCAN

    @Test(arguments: protocols)
    func scanAllFindsExactlyTheKeysCreated(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let created = Set((0..<250).map { prefix + "key:\($0)" })
            for chunk in Array(created).chunked(50) {
                try await redis.mset(chunk.map { ($0, "v") })
            }
            try await redis.hset(prefix + "other-type", [("f", "v")])

            #expect(Set(try await redis.scanAll(match: prefix + "key:*", count: 37)) == created)

            // Stepping by hand, filtered by type, ends at cursor 0 with the same keys.
            var cursor: UInt64 = 0
            var stepped: Set<String> = []
            var steps = 0
            repeat {
                let step = try await redis.scan(cursor: cursor, match: prefix + "*", count: 100, type: "string")
                stepped.formUnion(step.keys)
                cursor = step.cursor
                steps += 1
            } while cursor != 0 && steps < 10_000
            #expect(stepped == created)
        }
    }

    // MARK: Raw commands

    @Test(arguments: protocols)
    func rawCommandsFromWords(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            #expect(try await redis.send(["SET", prefix + "k", "hello world"]).string == "OK")
            #expect(try await redis.send(["GET", prefix + "k"]).string == "hello world")
            #expect(try await redis.send(["APPEND", prefix + "k", "!"]).int == 12)
            #expect(try await redis.send(["PING"]).string == "PONG")
            #expect(try await redis.send(["ECHO", "é\r\n"]).string == "é\r\n")
            #expect(try await redis.send(["TYPE", prefix + "k"]).string == "string")
            let error = await redisFailure { () async throws(RedisError) in try await redis.send([String]()) }
            #expect(error == .invalidRequest("empty command"))
        }
    }

    // MARK: Errors

    @Test(arguments: protocols)
    func serverErrorsAreTyped(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            try await redis.sadd(prefix + "set", ["a"])
            let wrongType = await redisFailure { () async throws(RedisError) in try await redis.get(prefix + "set") }
            #expect(wrongType?.serverKind == .wrongType)

            let unknown = await redisFailure { () async throws(RedisError) in try await redis.send(["NOSUCHCOMMAND", "x"]) }
            #expect(unknown?.serverKind == .generic(code: "ERR"))
            if case let .server(error)? = unknown { #expect(error.message.lowercased().contains("unknown command")) }

            let sha = Digest.hex(Digest.sha1(Array("never loaded \(prefix)".utf8)))
            let noScript = await redisFailure { () async throws(RedisError) in
                try await redis.send(RedisCommand("EVALSHA").argument(sha).argument(0))
            }
            #expect(noScript?.serverKind == .noScript)

            let notInteger = await redisFailure { () async throws(RedisError) in
                try await redis.set(prefix + "text", "abc")
                return try await redis.incr(prefix + "text")
            }
            #expect(notInteger?.serverKind == .generic(code: "ERR"))

            // The connection is still good after error replies.
            #expect(try await redis.ping() == "PONG")
        }
    }

    // MARK: Transactions

    @Test(arguments: protocols)
    func transactionReturnsEveryQueuedCommandsReply(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let results = try #require(try await redis.transaction([
                RedisCommand("SET").key(prefix + "k").argument("v"),
                RedisCommand("INCR").key(prefix + "n"),
                RedisCommand("INCR").key(prefix + "n"),
                RedisCommand("GET").key(prefix + "k"),
                RedisCommand("INCR").key(prefix + "k"),  // fails at EXEC time, the rest still applies
            ]))
            #expect(results.count == 5)
            #expect(results[0].string == "OK")
            #expect(results[1].int == 1)
            #expect(results[2].int == 2)
            #expect(results[3].string == "v")
            #expect(results[4].redisError?.kind == .generic(code: "ERR"))
            #expect(try await redis.getString(prefix + "n") == "2")
        }
    }

    /// WATCH is per connection: a key changed by someone else between WATCH and EXEC makes
    /// the server discard the transaction, which the client reports as nil.
    @Test(arguments: protocols)
    func aWatchedKeyChangedElsewhereAbortsTheTransaction(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { other, prefix throws in
            let key = prefix + "balance"
            try await other.set(key, "100")
            let watcher = try await RedisConnection.connect(TestServers.configuration(preferRESP3: preferRESP3))
            defer { watcher.close() }

            #expect(try await watcher.send(RedisCommand("WATCH").key(key)).string == "OK")
            try await other.set(key, "50")
            let aborted = try await watcher.transaction([RedisCommand("SET").key(key).argument("0")])
            #expect(aborted == nil)
            #expect(try await other.getString(key) == "50")

            // Without interference the same sequence commits.
            #expect(try await watcher.send(RedisCommand("WATCH").key(key)).string == "OK")
            let committed = try await watcher.transaction([RedisCommand("DECRBY").key(key).argument(20)])
            #expect(committed == [.integer(30)])
        }
    }

    @Test(arguments: protocols)
    func aCommandRefusedWhileQueuingAbortsTheTransaction(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let error = await redisFailure { () async throws(RedisError) in
                try await redis.transaction([
                    RedisCommand("SET").key(prefix + "k").argument("v"),
                    RedisCommand("NOSUCHCOMMAND").argument("x"),
                ])
            }
            #expect(error?.serverKind == .execAbort)
            if case let .server(serverError)? = error {
                #expect(serverError.message.lowercased().contains("unknown command"), "\(serverError.message)")
            }
            #expect(try await redis.get(prefix + "k") == nil, "a discarded transaction applied a command")
            #expect(try await redis.ping() == "PONG")
        }
    }

    // MARK: Server commands

    /// Uses a database of its own (SELECT through the configuration), since FLUSHDB would
    /// wipe the keys of every test running in parallel in database 0.
    @Test func infoDbsizeAndFlushdbInAPrivateDatabase() async throws {
        var configuration = TestServers.configuration()
        configuration.database = 11
        let redis = try await RedisConnection.connect(configuration)
        defer { redis.close() }
        let info = try await redis.info("server")
        #expect(info["redis_version"] != nil)
        #expect(info["tcp_port"] != nil)

        try await redis.flushdb()
        #expect(try await redis.dbsize() == 0)
        try await redis.mset([("a", "1"), ("b", "2"), ("c", "3")])
        #expect(try await redis.dbsize() == 3)
        try await redis.flushdb()
        #expect(try await redis.dbsize() == 0)
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

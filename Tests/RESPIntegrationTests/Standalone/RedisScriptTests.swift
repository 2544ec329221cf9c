import RESP
import Testing
import WireCore

/// Scripting. Serialized: SCRIPT FLUSH empties the server-wide script cache, which would
/// pull the ground from under a parallel test that just loaded a script.
@Suite(.serialized, .enabled(if: TestServers.redisReachable, TestServers.redisSkipReason))
struct RedisScriptTests {
    static let protocols = [true, false]  // preferRESP3

    @Test(arguments: protocols)
    func evalPassesKeysAndArguments(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let reply = try await redis.eval(
                "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1]), tonumber(ARGV[2]) + 1}",
                keys: [prefix + "k"], arguments: ["stored", "41"])
            let items = try #require(reply.array)
            #expect(items.map(\.description) == ["\"\(prefix)k\"", "\"stored\"", "(integer) 42"])
            #expect(try await redis.getString(prefix + "k") == "stored")
        }
    }

    /// EVALSHA of a script the server does not have (here: after SCRIPT FLUSH) takes the
    /// NOSCRIPT path and must still run the script, with or without keys.
    @Test(arguments: protocols)
    func evalScriptWorksAfterTheScriptCacheIsFlushed(preferRESP3: Bool) async throws {
        try await withRedis(preferRESP3: preferRESP3) { redis, prefix throws in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) .. '/' .. '\(prefix)'")
            let noKeys = RedisScript("return 'no keys \(prefix)'")

            _ = try await redis.send(["SCRIPT", "FLUSH"])
            #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]).array == [.integer(0)])
            #expect(try await redis.evalScript(script, keys: [prefix + "n"], arguments: ["5"]).string == "5/\(prefix)")
            #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]).array == [.integer(1)], "EVAL did not cache it")
            #expect(try await redis.evalScript(script, keys: [prefix + "n"], arguments: ["5"]).string == "10/\(prefix)")

            _ = try await redis.send(["SCRIPT", "FLUSH"])
            #expect(try await redis.evalScript(noKeys).string == "no keys \(prefix)")
            #expect(try await redis.evalScript(noKeys).string == "no keys \(prefix)")

            // The script ran exactly once per call (the NOSCRIPT path did not run it twice)…
            #expect(try await redis.getString(prefix + "n") == "10")
            // …and the EVAL fallback cached the keyless one too.
            #expect(try await redis.send(["SCRIPT", "EXISTS", noKeys.sha1]).array == [.integer(1)])
        }
    }

    @Test func scriptLoadReturnsTheSHA1ItIsKnownBy() async throws {
        try await withRedis { redis, prefix throws in
            let script = RedisScript("return '\(prefix)'")
            #expect(try await redis.scriptLoad(script.source) == script.sha1)
            #expect(try await redis.send(RedisCommand("EVALSHA").argument(script.sha1).argument(0)).string == prefix)
        }
    }
}

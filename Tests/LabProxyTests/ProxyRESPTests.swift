import LabProxy
import RESP
import Testing
import WireCore

/// Redis through the proxy: the Swift client and redis-cli unchanged, the trace's fields, and
/// each network fault.
@Suite(.serialized, .enabled(if: Servers.redisReachable, "Redis not reachable at LAB_REDIS_URL (default 127.0.0.1:16379); start it with `scripts/infra up redis`"))
struct ProxyRESPTests {
    static func configuration(port: Int, timeout: Duration = .seconds(5)) throws -> RedisConnectionConfiguration {
        var configuration = try RedisConnectionConfiguration(url: "redis://127.0.0.1:\(port)")
        configuration.commandTimeout = timeout
        return configuration
    }

    @Test func redisClientWorksThroughTheProxyAndTheTraceHoldsCommandsSlotsAndReplies() async throws {
        let fixture = try ProxyFixture(port: 18510, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18510))
        defer { client.close() }
        let key = "proxy-test:\(UInt32.random(in: 0...UInt32.max))"
        _ = try await client.send(["SET", key, "v1"])
        #expect(try await client.send(["GET", key]).string == "v1")
        let error = await #expect(throws: RedisError.self) { _ = try await client.send(["INCR", key]) }
        #expect(error.map { "\($0)" }?.contains("ERR") == true)
        _ = try await client.send(["DEL", key])

        let get = try #require(await fixture.trace.wait { $0.name == "GET" })
        #expect(get.proto == .resp)
        #expect(get["slot"] == .int(Int64(HashSlot.slot(forKey: key))))
        #expect(get["reply"] == .string("bulk"))
        #expect(get.latencyMicros != nil)
        let incr = try #require(await fixture.trace.wait { $0.name == "INCR" })
        #expect(incr["reply"] == .string("error"))
        #expect(incr["error"]?.stringValue?.hasPrefix("ERR") == true)
        #expect(get.jsonLine.contains("\"api\":\"GET\""))
        #expect(get.textLine.contains("GET"))
    }

    @Test(.enabled(if: Servers.which("redis-cli") != nil, "redis-cli not installed"))
    func redisCliWorksThroughTheProxy() async throws {
        let cli = try #require(Servers.which("redis-cli"))
        let fixture = try ProxyFixture(port: 18511, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let result = await Servers.run(cli, ["-h", "127.0.0.1", "-p", "18511", "PING"])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG")
        #expect(await fixture.trace.wait { $0.name == "PING" && $0["reply"] == .string("simple") } != nil)
    }

    @Test func latencyFaultIsMeasured() async throws {
        let fixture = try ProxyFixture(port: 18512, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18512))
        defer { client.close() }
        _ = try await client.send(["PING"])
        let clock = ContinuousClock()
        let before = try await clock.measure { _ = try await client.send(["PING"]) }
        try fixture.proxy.setFault(route: "18512", Fault(.latency(ms: 150, jitterMs: 0), direction: .downstream))
        let after = try await clock.measure { _ = try await client.send(["PING"]) }
        #expect(after >= .milliseconds(150))
        #expect(after < before + .milliseconds(1000))
        try fixture.proxy.clearFaults(route: "18512")
        let cleared = try await clock.measure { _ = try await client.send(["PING"]) }
        #expect(cleared < .milliseconds(150))
    }

    @Test func blackholeTurnsIntoTheClientsTimeout() async throws {
        let fixture = try ProxyFixture(port: 18513, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let connection = try await RedisConnection.connect(try Self.configuration(port: 18513, timeout: .milliseconds(300)))
        _ = try await connection.send(["PING"])
        try fixture.proxy.setFault(route: "18513", Fault(.blackhole))
        await #expect(throws: RedisError.self) { _ = try await connection.send(["PING"]) }
        connection.close()
    }

    @Test func resetTurnsIntoAReconnect() async throws {
        let fixture = try ProxyFixture(port: 18514, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18514), reconnectBackoff: .milliseconds(20))
        defer { client.close() }
        _ = try await client.send(["PING"])
        #expect(fixture.proxy.connectionCount(route: "18514") == 1)
        try fixture.proxy.setFault(route: "18514", Fault(.reset))
        try await Task.sleep(for: .milliseconds(50))
        // The RST fails at most the command in flight; the client reconnects for the next.
        var answered = false
        for _ in 0..<20 where !answered {
            if let reply = try? await client.send(["PING"]), reply.string == "PONG" { answered = true }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(answered)
        #expect(fixture.trace.all.filter { $0.name == "HELLO" || $0.name == "PING" }.map(\.connection).max() ?? 0 >= 2)
    }

    @Test func downRefusesAndCutsThenUpRecovers() async throws {
        let fixture = try ProxyFixture(port: 18515, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18515, timeout: .seconds(2)), reconnectBackoff: .milliseconds(20))
        defer { client.close() }
        _ = try await client.send(["PING"])
        try fixture.proxy.setFault(route: "18515", Fault(.down))
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: RedisError.self) { _ = try await client.send(["PING"]) }
        var refused = false
        do throws(WireError) {
            _ = try await Channel.connect(host: "127.0.0.1", port: 18515)
        } catch {
            refused = error == .connectionRefused(peer: "127.0.0.1:18515")
        }
        #expect(refused)
        try fixture.proxy.up("18515")
        var recovered = false
        for _ in 0..<50 where !recovered {
            if let reply = try? await client.send(["PING"]), reply.string == "PONG" { recovered = true }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(recovered)
    }

    @Test func failFaultAnswersErrWithoutForwarding() async throws {
        let fixture = try ProxyFixture(port: 18516, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18516))
        defer { client.close() }
        try fixture.proxy.setFault(route: "18516", Fault(.fail(command: "GET", message: "injected outage")))
        let error = await #expect(throws: RedisError.self) { _ = try await client.send(["GET", "proxy-test:fail"]) }
        #expect(error.map { "\($0)" }?.contains("ERR injected outage") == true)
        #expect(try await client.send(["PING"]).string == "PONG")
        let event = try #require(await fixture.trace.wait { $0.name == "GET" })
        #expect(event["injected"] == .bool(true))
        try fixture.proxy.setFault(route: "18516", Fault(.delay(command: "PING", ms: 120)))
        let elapsed = try await ContinuousClock().measure { _ = try await client.send(["PING"]) }
        #expect(elapsed >= .milliseconds(120))
    }

    @Test func sliceAndCloseAfterBytesFaults() async throws {
        let fixture = try ProxyFixture(port: 18517, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18517))
        defer { client.close() }
        let key = "proxy-test:slice:\(UInt32.random(in: 0...UInt32.max))"
        let value = String(repeating: "x", count: 2000)
        _ = try await client.send(["SET", key, value])
        try fixture.proxy.setFault(route: "18517", Fault(.slice(bytes: 100, delayMs: 2), direction: .downstream))
        #expect(try await client.send(["GET", key]).string == value)
        try fixture.proxy.clearFaults(route: "18517")
        _ = try await client.send(["DEL", key])

        let connection = try await RedisConnection.connect(try Self.configuration(port: 18517, timeout: .seconds(2)))
        try fixture.proxy.setFault(route: "18517", Fault(.closeAfter(bytes: 10), direction: .upstream))
        await #expect(throws: RedisError.self) { _ = try await connection.send(["SET", key, value]) }
        connection.close()
    }

    /// A 256 KiB value each way under a 256 KiB/s limit takes about a second per direction
    /// (and about the same with the limit on one direction only for that direction), while
    /// unlimited it takes milliseconds.
    @Test func bandwidthFaultLimitsEachDirection() async throws {
        let fixture = try ProxyFixture(port: 19500, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 19500, timeout: .seconds(20)))
        defer { client.close() }
        let key = "proxy-test:bandwidth:\(UInt32.random(in: 0...UInt32.max))"
        let value = [UInt8](repeating: 0x61, count: 256 * 1024)
        let rate = 256 * 1024
        let clock = ContinuousClock()
        let unlimited = try await clock.measure { _ = try await client.send(RedisCommand("SET").key(key).argument(value)) }

        try fixture.proxy.setFault(route: "19500", Fault(.bandwidth(bytesPerSecond: rate), direction: .upstream))
        let up = try await clock.measure { _ = try await client.send(RedisCommand("SET").key(key).argument(value)) }
        // The small reply is not limited downstream; a GET's small request is not much limited upstream.
        var back: [UInt8]?
        let getWithUpstreamLimit = try await clock.measure { back = try await client.send(RedisCommand("GET").key(key)).bytes }
        #expect(back == value)

        try fixture.proxy.clearFaults(route: "19500")
        try fixture.proxy.setFault(route: "19500", Fault(.bandwidth(bytesPerSecond: rate), direction: .downstream))
        let down = try await clock.measure { back = try await client.send(RedisCommand("GET").key(key)).bytes }
        #expect(back == value)
        try fixture.proxy.clearFaults(route: "19500")
        _ = try await client.send(["DEL", key])

        func rateOf(_ elapsed: Duration) -> Double {
            Double(value.count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        print("bandwidth fault: limit \(rate) B/s; upstream SET \(up) (\(Int(rateOf(up))) B/s), downstream GET \(down) (\(Int(rateOf(down))) B/s), unlimited SET \(unlimited), GET under the upstream limit \(getWithUpstreamLimit)")
        // Measured rate within the limit (minus a little for the piece granularity) and not far below it.
        #expect(up >= .milliseconds(900) && up < .seconds(4))
        #expect(down >= .milliseconds(900) && down < .seconds(4))
        #expect(getWithUpstreamLimit < .milliseconds(500))
        #expect(unlimited < .milliseconds(500))
    }

    /// Large values both ways: the pump's backpressure (paused reads while a side's queue is
    /// over its high-water mark) keeps every byte in order.
    @Test func largeValuesPassBothWays() async throws {
        let fixture = try ProxyFixture(port: 18519, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let client = RedisClient(try Self.configuration(port: 18519, timeout: .seconds(20)))
        defer { client.close() }
        let key = "proxy-test:large:\(UInt32.random(in: 0...UInt32.max))"
        var value = [UInt8](repeating: 0, count: 12 << 20)
        for index in stride(from: 0, to: value.count, by: 4096) { value[index] = UInt8(truncatingIfNeeded: index >> 12) }
        _ = try await client.send(RedisCommand("SET").key(key).argument(value))
        let back = try await client.send(RedisCommand("GET").key(key)).bytes
        #expect(back == value)
        _ = try await client.send(["DEL", key])
        let set = try #require(await fixture.trace.wait { $0.name == "SET" })
        #expect(set["reply"] == .string("simple"))
    }

    @Test func garbageIsForwardedWithoutCrashing() async throws {
        let fixture = try ProxyFixture(port: 18518, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: 18518)
        let collector = ByteCollector()
        channel.setHandler(collector)
        channel.write(bytes: [0x00, 0xFF, 0x13] + Array("*x\r\nPING\r\n".utf8))
        let event = try #require(await fixture.trace.wait { $0.name == "unparsed" })
        #expect(event["direction"] == .string("upstream"))
        // Redis answers (or hangs up on) the garbage; either way the proxy relays and survives.
        try await Task.sleep(for: .milliseconds(200))
        channel.close()
        let client = RedisClient(try Self.configuration(port: 18518))
        defer { client.close() }
        #expect(try await client.send(["PING"]).string == "PONG")
    }
}

import Foundation
import LabTestSupport
import LabProxy
import RESP
import Testing
import WireCore

@Suite(.serialized, .enabled(if: Servers.redisReachable, "Redis not reachable at LAB_REDIS_URL (default 127.0.0.1:16379); start it with `scripts/infra up redis`"))
struct AdminAndCLITests {
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    @Test func adminAPIListsSetsAndClearsFaults() async throws {
        let fixture = try ProxyFixture(port: 18590, upstream: Servers.redis, proto: .resp)
        defer { fixture.stop() }
        let admin = try AdminServer(proxy: fixture.proxy, port: 18591)
        defer { admin.stop() }
        let client = RedisClient(try ProxyRESPTests.configuration(port: 18590))
        defer { client.close() }
        _ = try await client.send(["PING"])

        let listed = try await ProxyAdminClient.request("GET", port: 18591, path: "/faults")
        #expect(listed.status == 200)
        let routes = JSONValue.parse(listed.body)?["routes"]?.arrayValue
        #expect(routes?.first?["route"] == .string("18590"))
        #expect(routes?.first?["connections"] == .int(1))

        let set = try await ProxyAdminClient.request("POST", port: 18591, path: ProxyAdminClient.faultPath(
            route: "18590", parameters: [("kind", "latency"), ("ms", "120"), ("jitter", "10"), ("direction", "upstream")]))
        #expect(set.status == 200, "\(set.body)")
        let slow = try await ContinuousClock().measure { _ = try await client.send(["PING"]) }
        #expect(slow >= .milliseconds(110))
        let faults = JSONValue.parse(try await ProxyAdminClient.request("GET", port: 18591, path: "/faults").body)?["routes"]?
            .arrayValue?.first?["faults"]?.arrayValue
        #expect(faults?.first?["kind"] == .string("latency"))
        #expect(faults?.first?["ms"] == .int(120))

        let bad = try await ProxyAdminClient.request("POST", port: 18591, path: "/faults/18590?kind=latency")
        #expect(bad.status == 400)
        #expect(try await ProxyAdminClient.request("POST", port: 18591, path: "/faults/nope?kind=blackhole").status == 400)
        #expect(try await ProxyAdminClient.request("GET", port: 18591, path: "/elsewhere").status == 404)

        #expect(try await ProxyAdminClient.request("DELETE", port: 18591, path: "/faults/18590").status == 200)
        let fast = try await ContinuousClock().measure { _ = try await client.send(["PING"]) }
        #expect(fast < .milliseconds(110))
    }

    /// The `lab` executable end to end: `lab proxy` with a text trace file and an admin port,
    /// steered by `lab proxy fault`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: packageRoot + "/.build/debug/lab"),
                   "needs the lab executable (swift build)"))
    func labProxyAndLabProxyFaultEndToEnd() async throws {
        let lab = Self.packageRoot + "/.build/debug/lab"
        let traceFile = NSTemporaryDirectory() + "lab-proxy-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { try? FileManager.default.removeItem(atPath: traceFile) }
        let proxy = try #require(ChildProcess.start(lab, [
            "proxy", "--protocol", "resp", "--listen", "127.0.0.1:18595", "--upstream", Servers.redis,
            "--trace", traceFile, "--format", "text", "--admin", "127.0.0.1:18596"]))
        defer {
            // Stop the child this test started, by its PID (waited for by its own thread).
            proxy.kill(SIGTERM)
            Task { _ = await proxy.wait() }
        }
        var up = false
        for _ in 0..<200 where !up {
            up = Servers.reachable("127.0.0.1:18595") && Servers.reachable("127.0.0.1:18596")
            if !up { try await Task.sleep(for: .milliseconds(25)) }
        }
        try #require(up, "lab proxy did not start listening")

        let client = RedisClient(try ProxyRESPTests.configuration(port: 18595))
        defer { client.close() }
        #expect(try await client.send(["PING"]).string == "PONG")

        let set = await Servers.run(lab, ["proxy", "fault", "--admin", "127.0.0.1:18596", "set", "18595", "--kind", "latency", "--ms", "150"])
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output.contains("\"ok\":true"))
        let slow = try await ContinuousClock().measure { _ = try await client.send(["PING"]) }
        #expect(slow >= .milliseconds(140))
        let list = await Servers.run(lab, ["proxy", "fault", "--admin", "127.0.0.1:18596", "list"])
        #expect(list.output.contains("\"kind\":\"latency\""))
        let clear = await Servers.run(lab, ["proxy", "fault", "--admin", "127.0.0.1:18596", "clear", "18595"])
        #expect(clear.status == 0, "\(clear.output)")
        let bad = await Servers.run(lab, ["proxy", "fault", "--admin", "127.0.0.1:18596", "set", "18595", "--kind", "bogus"])
        #expect(bad.status != 0)

        try await Task.sleep(for: .milliseconds(50))
        let text = (try? String(contentsOfFile: traceFile, encoding: .utf8)) ?? ""
        let pings = text.split(separator: "\n").filter { $0.contains(" resp PING ") }
        #expect(pings.count >= 2, "\(text)")
        #expect(pings.allSatisfy { $0.contains("reply=simple") })
    }
}

import RESP
import Testing
import WireCore

/// A fake server (no Redis needed) that answers with broken, unsolicited, truncated or no
/// replies: the client must fail with a typed error promptly, never crash or hang.
@Suite struct RedisMisbehavingServerTests {
    func configuration(_ server: FakeRESPServer, commandTimeout: Duration = .seconds(5)) -> RedisConnectionConfiguration {
        RedisConnectionConfiguration(host: "127.0.0.1", port: server.port, commandTimeout: commandTimeout)
    }

    /// Answers HELLO with `hello` and everything else with +PONG / +OK.
    static func server(hello: FakeRESPServer.Action) throws -> FakeRESPServer {
        try FakeRESPServer { words in
            switch words.first?.uppercased() {
            case "HELLO": return hello
            case "PING": return .text("+PONG\r\n")
            default: return .text("+OK\r\n")
            }
        }
    }

    @Test func garbageInsteadOfAHelloReplyIsAProtocolViolation() async throws {
        let server = try Self.server(hello: .text("?bogus\r\n"))
        defer { server.stop() }
        let start = ContinuousClock.now
        let error = await redisFailure { () async throws(RedisError) in
            try await RedisConnection.connect(configuration(server, commandTimeout: .seconds(30)))
        }
        guard case .protocolViolation? = error else {
            Issue.record("expected .protocolViolation, got \(String(describing: error))")
            return
        }
        // Detected from the bytes, not by waiting out the 30 s timeout (generous for a loaded run).
        #expect(ContinuousClock.now - start < .seconds(8))
        #expect(server.commands.first?.first == "HELLO")
    }

    @Test(arguments: [
        "$-5\r\n",                   // negative length other than -1
        "*1\r\n$3\r\nabcdef\r\n",    // bulk longer than its length
        ":12ab\r\n",                 // not an integer
        "$3\r\nabcXY",               // missing CRLF after the bulk
    ])
    func malformedRepliesAreProtocolViolations(reply: String) async throws {
        let server = try Self.server(hello: .text(reply))
        defer { server.stop() }
        let error = await redisFailure { () async throws(RedisError) in try await RedisConnection.connect(configuration(server)) }
        guard case .protocolViolation? = error else {
            Issue.record("\(reply.debugDescription): expected .protocolViolation, got \(String(describing: error))")
            return
        }
    }

    /// A server from before RESP3 (Redis < 6) answers HELLO with an unknown-command error:
    /// the client stays on RESP2 and works.
    @Test func aServerWithoutHelloFallsBackToRESP2() async throws {
        let server = try Self.server(hello: .text("-ERR unknown command 'HELLO'\r\n"))
        defer { server.stop() }
        let redis = try await RedisConnection.connect(configuration(server))
        defer { redis.close() }
        #expect(redis.protocolVersion == 2)
        #expect(try await redis.ping() == "PONG")
        #expect(server.commands.map { $0.first ?? "" } == ["HELLO", "PING"])
    }

    @Test func aReplyNobodyAskedForClosesTheConnection() async throws {
        let server = try FakeRESPServer { words in
            switch words.first?.uppercased() {
            case "HELLO": return .text("%0\r\n")
            case "PING": return .text("+PONG\r\n+PONG\r\n")  // one too many
            default: return .text("+OK\r\n")
            }
        }
        defer { server.stop() }
        let redis = try await RedisConnection.connect(configuration(server))
        defer { redis.close() }
        #expect(redis.protocolVersion == 3)
        _ = try? await redis.ping()
        #expect(await eventually(timeout: .seconds(5)) { !redis.isOpen }, "an unsolicited reply was ignored")
        let next = await redisFailure { () async throws(RedisError) in try await redis.ping() }
        #expect(next != nil)
    }

    @Test func aServerThatNeverAnswersTimesOutTheHandshake() async throws {
        let server = try Self.server(hello: .silence)
        defer { server.stop() }
        let start = ContinuousClock.now
        let error = await redisFailure { () async throws(RedisError) in
            try await RedisConnection.connect(configuration(server, commandTimeout: .milliseconds(300)))
        }
        #expect(error == .timedOut(command: "HELLO", after: .milliseconds(300)))
        #expect(ContinuousClock.now - start < .seconds(8), "bounded by the handshake's own timeout, not a hang")
    }

    @Test func aServerThatHangsUpMidReplyIsAConnectionError() async throws {
        let server = try FakeRESPServer { words in
            switch words.first?.uppercased() {
            case "HELLO": return .text("%0\r\n")
            case "GET": return .text("$10\r\nabc")  // then silence
            default: return .close
            }
        }
        defer { server.stop() }
        let redis = try await RedisConnection.connect(configuration(server, commandTimeout: .seconds(2)))
        defer { redis.close() }
        // The truncated reply waits for more bytes; the hangup that follows the next command
        // must fail both requests at once rather than leave them to their timeout.
        async let get = redisFailure { () async throws(RedisError) in try await redis.get("k") }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        let ping = await redisFailure { () async throws(RedisError) in try await redis.ping() }
        let getError = await get
        #expect(getError?.wireError != nil, "\(String(describing: getError))")
        #expect(ping?.wireError != nil, "\(String(describing: ping))")
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func aServerThatHangsUpOnHelloIsAConnectionError() async throws {
        let server = try Self.server(hello: .close)
        defer { server.stop() }
        let error = await redisFailure { () async throws(RedisError) in try await RedisConnection.connect(configuration(server)) }
        #expect(error == .connection(.closedByPeer(peer: "127.0.0.1:\(server.port)")))
    }
}

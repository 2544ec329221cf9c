import Testing
import WireCore

/// TLS against the lab's TLS Redis, whose certificate is issued by the lab CA for
/// IP:127.0.0.1 and DNS:localhost. The tests speak raw RESP, so they need no RESP code.
@Suite(.enabled(if: TestEnvironment.redisTLSReachable, TestEnvironment.redisTLSSkipReason))
struct TLSChannelTests {
    let host = TestEnvironment.redisTLSEndpoint.host
    let port = TestEnvironment.redisTLSEndpoint.port
    let ca = TestEnvironment.redisTLSCA

    func connect(host: String? = nil, _ tls: TLSConfiguration) async throws(WireError) -> Channel {
        try await Channel.connect(host: host ?? self.host, port: port, tls: tls,
                                  options: ChannelOptions(connectTimeout: .seconds(5)))
    }

    static func command(_ words: [[UInt8]]) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeString("*\(words.count)\r\n")
        for word in words {
            writer.writeString("$\(word.count)\r\n")
            writer.writeBytes(word)
            writer.writeString("\r\n")
        }
        return writer.bytes
    }

    static func command(_ words: String...) -> [UInt8] { command(words.map { Array($0.utf8) }) }

    /// Sends PING over the channel and waits for PONG: the handshake really produced a
    /// working session in both directions.
    func expectPong(_ channel: Channel, sourceLocation: SourceLocation = #_sourceLocation) async {
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        #expect(channel.write(bytes: Self.command("PING")), sourceLocation: sourceLocation)
        let pong = Array("+PONG\r\n".utf8)
        #expect(await handler.wait(timeout: .seconds(5)) { $0.bytes == pong || !$0.closeErrors.isEmpty },
                sourceLocation: sourceLocation)
        #expect(handler.snapshot.bytes == pong, sourceLocation: sourceLocation)
        #expect(handler.snapshot.closeErrors.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func handshakeWithTheLabCASucceeds() async throws {
        let channel = try await connect(TLSConfiguration(caFile: ca))
        defer { channel.close() }
        #expect(channel.isActive)
        await expectPong(channel)
    }

    @Test func theCertificateNamesLocalhostToo() async throws {
        let channel = try await connect(host: "localhost", TLSConfiguration(caFile: ca))
        defer { channel.close() }
        await expectPong(channel)
    }

    /// Large values cross many TLS records and partial writes in both directions.
    @Test func aLargeValueRoundTripsOverTLS() async throws {
        let channel = try await connect(TLSConfiguration(caFile: ca))
        defer { channel.close() }
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        let key = Array("wirecore-test:tls:\(UInt64.random(in: 0...UInt64.max))".utf8)
        let value = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 8)) }  // 1.5 MiB
        #expect(channel.write(bytes: Self.command([Array("SET".utf8), key, value, Array("EX".utf8), Array("60".utf8)])))
        #expect(channel.write(bytes: Self.command([Array("GET".utf8), key])))
        #expect(channel.write(bytes: Self.command([Array("DEL".utf8), key])))

        var expected = Array("+OK\r\n$\(value.count)\r\n".utf8)
        expected += value
        expected += Array("\r\n:1\r\n".utf8)
        let complete = await handler.wait(timeout: .seconds(20)) {
            $0.bytes.count >= expected.count || !$0.closeErrors.isEmpty
        }
        #expect(complete)
        #expect(handler.snapshot.bytes == expected)
        #expect(handler.snapshot.closeErrors.isEmpty)
    }

    @Test func theSystemTrustStoreRejectsTheLabCertificate() async {
        let error = await failure { () async throws(WireError) in try await connect(TLSConfiguration()) }
        guard case .certificateRejected(let peer, let reason)? = error else {
            Issue.record("expected .certificateRejected, got \(String(describing: error))")
            return
        }
        #expect(peer == "\(host):\(port)")
        #expect(!reason.isEmpty)
    }

    @Test func aServerNameTheCertificateDoesNotCarryIsRejected() async {
        let error = await failure { () async throws(WireError) in
            try await connect(TLSConfiguration(verification: .full, caFile: ca, serverName: "redis.wrong.example"))
        }
        guard case .certificateRejected(_, let reason)? = error else {
            Issue.record("expected .certificateRejected, got \(String(describing: error))")
            return
        }
        #expect(reason.lowercased().contains("hostname"), "reason: \(reason)")
    }

    @Test func chainOnlyVerificationIgnoresTheName() async throws {
        let channel = try await connect(TLSConfiguration(verification: .chainOnly, caFile: ca, serverName: "redis.wrong.example"))
        defer { channel.close() }
        await expectPong(channel)
    }

    @Test func noVerificationAcceptsAnyCertificate() async throws {
        let channel = try await connect(TLSConfiguration(verification: .none))
        defer { channel.close() }
        await expectPong(channel)
    }

    @Test func aMissingCAFileIsATLSErrorNotACrash() async {
        let error = await failure { () async throws(WireError) in
            try await connect(TLSConfiguration(caFile: "/nonexistent/lab-ca.crt"))
        }
        guard case .tls(_, let reason)? = error else {
            Issue.record("expected .tls, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("/nonexistent/lab-ca.crt"))
    }

    /// A plain-TCP client talking to a TLS port gets no valid reply, and a TLS client talking
    /// to a plain port fails the handshake instead of hanging.
    @Test func tlsToAPlainServerFailsTheHandshake() async throws {
        let server = try TestTCPServer(.echo)
        defer { server.stop() }
        let start = ContinuousClock.now
        let error = await failure { () async throws(WireError) in
            try await Channel.connect(host: "127.0.0.1", port: server.port, tls: TLSConfiguration(verification: .none),
                                      options: ChannelOptions(connectTimeout: .seconds(5)))
        }
        #expect(error != nil)
        if case .timedOut? = error { Issue.record("the handshake hung until the deadline instead of failing") }
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}

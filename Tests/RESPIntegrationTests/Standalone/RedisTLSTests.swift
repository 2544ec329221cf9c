import RESP
import Testing
import WireCore

/// RedisConnection over rediss:// against the lab's TLS Redis (certificate for
/// IP:127.0.0.1 and DNS:localhost, issued by the lab CA).
@Suite(.enabled(if: TestServers.redisTLSReachable, TestServers.redisTLSSkipReason))
struct RedisTLSTests {
    /// The TLS URL with its host replaced (the certificate names both 127.0.0.1 and localhost).
    static func url(host: String) throws -> String {
        let configuration = try RedisConnectionConfiguration(url: TestServers.redisTLSURL)
        return "rediss://\(host):\(configuration.port)"
    }

    @Test(arguments: [true, false])
    func setAndGetOverTLSWithTheLabCA(preferRESP3: Bool) async throws {
        var configuration = try TestServers.tlsConfiguration()
        configuration.preferRESP3 = preferRESP3
        #expect(configuration.tls?.caFile == TestServers.redisTLSCA)
        let redis = try await RedisConnection.connect(configuration)
        defer { redis.close() }
        #expect(redis.protocolVersion == (preferRESP3 ? 3 : 2))
        let key = uniqueKeyPrefix() + "k"
        try await redis.set(key, "over tls", expiration: .seconds(60))
        #expect(try await redis.getString(key) == "over tls")
        #expect(try await redis.del(key) == 1)
    }

    @Test func theHostNameLocalhostVerifiesToo() async throws {
        let redis = try await RedisConnection.connect(try TestServers.tlsConfiguration(url: Self.url(host: "localhost")))
        defer { redis.close() }
        let key = uniqueKeyPrefix() + "k"
        try await redis.set(key, "via localhost", expiration: .seconds(60))
        #expect(try await redis.getString(key) == "via localhost")
        #expect(try await redis.del(key) == 1)
    }

    /// Large values and many concurrent commands cross TLS record and partial-write
    /// boundaries in both directions.
    @Test func pipeliningAndLargeValuesOverTLS() async throws {
        let redis = try await RedisConnection.connect(try TestServers.tlsConfiguration())
        defer { redis.close() }
        let prefix = uniqueKeyPrefix()
        let big = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 10)) }
        try await redis.set(prefix + "big", big, expiration: .seconds(60))
        #expect(try await redis.get(prefix + "big") == big)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { for _ in 0..<200 { try await redis.incr(prefix + "n") } }
            }
            try await group.waitForAll()
        }
        #expect(try await redis.getString(prefix + "n") == "2000")
        #expect(try await redis.del([prefix + "big", prefix + "n"]) == 2)
    }

    @Test func withoutTheLabCATheCertificateIsRejected() async throws {
        var configuration = try TestServers.tlsConfiguration()
        configuration.tls = TLSConfiguration()  // system trust store only
        let error = await redisFailure { () async throws(RedisError) in try await RedisConnection.connect(configuration) }
        guard case .connection(.certificateRejected)? = error else {
            Issue.record("expected .connection(.certificateRejected), got \(String(describing: error))")
            return
        }
    }

    @Test func plainRESPToTheTLSPortFailsInsteadOfHanging() async throws {
        var configuration = try TestServers.tlsConfiguration()
        configuration.tls = nil
        configuration.commandTimeout = .seconds(3)
        let start = ContinuousClock.now
        let error = await redisFailure { () async throws(RedisError) in try await RedisConnection.connect(configuration) }
        #expect(error != nil)
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}

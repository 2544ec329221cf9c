import RESP
import Testing
import WireCore

/// Authentication with an ACL user created for the test (and deleted after it): HELLO 3's
/// AUTH clause on RESP3, the AUTH command on RESP2.
@Suite(.enabled(if: TestServers.redisReachable, TestServers.redisSkipReason))
struct RedisAuthTests {
    static let password = "s3cr:t@lab"

    /// Creates a user with a unique name, runs `body`, deletes the user.
    func withUser(_ body: (String) async throws -> Void) async throws {
        let admin = try await RedisConnection.connect(TestServers.configuration())
        defer { admin.close() }
        let user = "labtest-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        #expect(try await admin.send(["ACL", "SETUSER", user, "on", ">" + Self.password, "~*", "+@all"]).string == "OK")
        do {
            try await body(user)
        } catch {
            _ = try? await admin.send(["ACL", "DELUSER", user])
            throw error
        }
        #expect(try await admin.send(["ACL", "DELUSER", user]).int == 1)
    }

    func configuration(user: String?, password: String?, preferRESP3: Bool) -> RedisConnectionConfiguration {
        var configuration = TestServers.configuration(preferRESP3: preferRESP3)
        configuration.username = user
        configuration.password = password
        return configuration
    }

    @Test(arguments: [true, false])
    func theRightPasswordAuthenticatesTheUser(preferRESP3: Bool) async throws {
        try await withUser { user throws in
            let redis = try await RedisConnection.connect(configuration(user: user, password: Self.password, preferRESP3: preferRESP3))
            defer { redis.close() }
            #expect(redis.protocolVersion == (preferRESP3 ? 3 : 2))
            #expect(try await redis.send(["ACL", "WHOAMI"]).string == user)
            #expect(try await redis.ping() == "PONG")
        }
    }

    @Test(arguments: [true, false])
    func aWrongPasswordIsWrongPass(preferRESP3: Bool) async throws {
        try await withUser { user throws in
            for (name, password) in [(user, "not-the-password"), ("no-such-user-\(user)", Self.password)] {
                let error = await redisFailure { () async throws(RedisError) in
                    try await RedisConnection.connect(configuration(user: name, password: password, preferRESP3: preferRESP3))
                }
                #expect(error?.serverKind == .wrongPass, "\(name): \(String(describing: error))")
            }
        }
    }

    /// Credentials in the URL, percent-encoded where they contain ':' and '@'.
    @Test func credentialsFromAURL() async throws {
        try await withUser { user throws in
            let base = try RedisConnectionConfiguration(url: TestServers.redisURL)
            let url = "redis://\(user):s3cr%3At%40lab@\(base.host):\(base.port)/0"
            let configuration = try RedisConnectionConfiguration(url: url)
            #expect(configuration.username == user)
            #expect(configuration.password == Self.password)
            let redis = try await RedisConnection.connect(configuration)
            defer { redis.close() }
            #expect(try await redis.send(["ACL", "WHOAMI"]).string == user)
        }
    }

    /// A disabled user cannot log in even with the right password.
    @Test func aDisabledUserIsRefused() async throws {
        try await withUser { user throws in
            let admin = try await RedisConnection.connect(TestServers.configuration())
            defer { admin.close() }
            #expect(try await admin.send(["ACL", "SETUSER", user, "off"]).string == "OK")
            let error = await redisFailure { () async throws(RedisError) in
                try await RedisConnection.connect(configuration(user: user, password: Self.password, preferRESP3: true))
            }
            #expect(error?.serverKind == .wrongPass)
        }
    }
}

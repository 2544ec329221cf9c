import LabTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import RESP
import Testing
import WireCore

/// The standalone and TLS Redis servers that `scripts/infra up redis redis-tls` runs, found
/// through the environment it publishes (`.infra/env`), with the lab's defaults.
enum TestServers {
    static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The package root, from this file's path (Tests/RESPIntegrationTests/Support/…).
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    static let redisURL = variable("LAB_REDIS_URL") ?? "redis://127.0.0.1:16379"
    static let redisTLSURL = variable("LAB_REDIS_TLS_URL") ?? "rediss://127.0.0.1:16380"
    static let redisTLSCA = variable("LAB_REDIS_TLS_CA") ?? packageRoot + "/.infra/tls/ca.crt"

    static func configuration(
        preferRESP3: Bool = true, commandTimeout: Duration = .seconds(10)
    ) -> RedisConnectionConfiguration {
        // A malformed URL in the environment is a setup error worth failing loudly on.
        var configuration = try! RedisConnectionConfiguration(url: redisURL)
        configuration.preferRESP3 = preferRESP3
        configuration.commandTimeout = commandTimeout
        return configuration
    }

    static func tlsConfiguration(url: String? = nil) throws -> RedisConnectionConfiguration {
        try RedisConnectionConfiguration(url: url ?? redisTLSURL, caFile: redisTLSCA)
    }

    static let redisReachable: Bool = {
        guard let configuration = try? RedisConnectionConfiguration(url: redisURL) else { return false }
        return TCPProbe.isReachable(host: configuration.host, port: configuration.port)
    }()

    static let redisTLSReachable: Bool = {
        guard let configuration = try? RedisConnectionConfiguration(url: redisTLSURL) else { return false }
        return TCPProbe.isReachable(host: configuration.host, port: configuration.port) && access(redisTLSCA, R_OK) == 0
    }()

    static let redisSkipReason: Comment = "Redis not reachable at LAB_REDIS_URL (default redis://127.0.0.1:16379); start it with `scripts/infra up redis`"
    static let redisTLSSkipReason: Comment = "TLS Redis not reachable at LAB_REDIS_TLS_URL (default rediss://127.0.0.1:16380) or its CA (LAB_REDIS_TLS_CA) unreadable; start it with `scripts/infra up redis-tls`"
}

/// A key prefix no other test (or run) uses: tests run in parallel against one server.
func uniqueKeyPrefix(_ name: String = #function) -> String {
    let test = name.prefix { $0 != "(" }
    return "lab-test:\(test):\(String(UInt64.random(in: 0...UInt64.max), radix: 36)):"
}

/// Opens a connection to the standalone Redis, runs `body` with it and a fresh key prefix,
/// then deletes every key under the prefix and closes the connection, whatever happened.
func withRedis<T>(
    preferRESP3: Bool = true,
    commandTimeout: Duration = .seconds(10),
    name: String = #function,
    _ body: (RedisConnection, String) async throws -> T
) async throws -> T {
    let prefix = uniqueKeyPrefix(name)
    let connection = try await RedisConnection.connect(
        TestServers.configuration(preferRESP3: preferRESP3, commandTimeout: commandTimeout))
    defer { connection.close() }
    do {
        let result = try await body(connection, prefix)
        await deleteKeys(prefix: prefix)
        return result
    } catch {
        await deleteKeys(prefix: prefix)
        throw error
    }
}

/// Deletes every key starting with `prefix`, on a connection of its own (the test's may be
/// closed or subscribed by now).
func deleteKeys(prefix: String) async {
    guard let connection = try? await RedisConnection.connect(TestServers.configuration()) else { return }
    defer { connection.close() }
    guard let keys = try? await connection.scanAll(match: prefix + "*"), !keys.isEmpty else { return }
    _ = try? await connection.del(keys)
}

/// The error a throwing async call failed with, or nil (recording an issue) when it succeeded.
func redisFailure<T>(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws(RedisError) -> T
) async -> RedisError? {
    do {
        let value = try await body()
        Issue.record("expected a RedisError, but the call returned \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
func eventually(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if await condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

extension RedisError {
    /// The transport error, when this is a connection failure.
    var wireError: WireError? {
        if case let .connection(error) = self { return error }
        return nil
    }
}

/// A port on 127.0.0.1 that refuses connections: bound (so nothing else takes it while the
/// test runs) but not listening.
struct RefusingPort {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireError.io(operation: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = fd
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { let code = errno; Glibc.close(fd); throw WireError.io(operation: "bind", errno: code) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}

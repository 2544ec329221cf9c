import LabTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import MySQLWire
import Testing
import WireCore

/// The MariaDB that `scripts/infra up mariadb` runs, found through the environment it
/// publishes (`.infra/env`), with the lab's defaults.
enum MySQLTestServer {
    static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The package root, from this file's path (Tests/MySQLIntegrationTests/Support/…).
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    static let url = variable("LAB_MYSQL_URL") ?? "mysql://lab:lab@127.0.0.1:13306/lab"
    static let caFile = variable("LAB_MYSQL_TLS_CA") ?? packageRoot + "/.infra/tls/ca.crt"
    static let ed25519URL = variable("LAB_MYSQL_ED25519_URL")

    static func configuration(queryTimeout: Duration? = nil) -> MySQLConfiguration {
        // A malformed URL in the environment is a setup error worth failing loudly on.
        var configuration = MySQLConfiguration(url: url)!
        configuration.queryTimeout = queryTimeout
        configuration.connectTimeout = .seconds(10)
        return configuration
    }

    static func connect(queryTimeout: Duration? = nil) async throws -> MySQLConnection {
        try await MySQLConnection.connect(configuration(queryTimeout: queryTimeout))
    }

    /// The error a connection attempt fails with (nil if it succeeds; it is then closed).
    static func connectFailure(_ configuration: MySQLConfiguration) async -> MySQLError? {
        let outcome: Result<MySQLConnection, MySQLError>
        do { outcome = .success(try await MySQLConnection.connect(configuration)) } catch { outcome = .failure(error) }
        switch outcome {
        case let .success(connection):
            await connection.close()
            return nil
        case let .failure(error):
            return error
        }
    }

    static let reachable: Bool = {
        guard let configuration = MySQLConfiguration(url: url) else { return false }
        return TCPProbe.isReachable(host: configuration.host, port: configuration.port)
    }()

    static let tlsReachable: Bool = reachable && access(caFile, R_OK) == 0

    static let skipReason: Comment = "MariaDB not reachable at LAB_MYSQL_URL (default mysql://lab:lab@127.0.0.1:13306/lab); start it with `scripts/infra up mariadb`"

    /// A table name unique to this test run, so concurrent runs do not collide.
    static func tableName(_ base: String) -> String {
        "t_\(base)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    }
}

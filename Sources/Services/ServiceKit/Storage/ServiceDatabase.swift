import Logging
import MySQLWire

/// A service's MySQL access: one HikariCP-style pool (metrics `hikaricp_*` with label `pool`).
public final class ServiceDatabase: Sendable {
    public let pool: ConnectionPool<MySQLConnection>
    public let configuration: MySQLConfiguration

    public init(url: String, poolName: String, pool poolConfiguration: ConnectionPoolConfiguration,
                logger: Logger = Logger(label: "lab.pool")) throws(ServiceError) {
        guard var configuration = MySQLConfiguration(url: url) else {
            throw .invalidConfiguration("not a MySQL URL: \(url) (mysql://USER:PASS@HOST:PORT/DB)")
        }
        configuration.tlsMode = .disabled
        self.configuration = configuration
        let connectConfiguration = configuration
        pool = ConnectionPool(name: poolName, configuration: poolConfiguration, logger: logger) {
            try await MySQLConnection.connect(connectConfiguration)
        }
    }

    /// Runs `body` in a transaction on a pooled connection: COMMIT when it returns, ROLLBACK
    /// when it throws. The connection goes back to the pool on every path.
    public func transaction<T: Sendable>(
        file: String = #fileID, line: Int = #line, _ body: (MySQLConnection) async throws -> T
    ) async throws -> T {
        try await pool.withConnection(file: file, line: line) { connection in
            try await connection.transaction(body)
        }
    }

    /// Runs one statement (with `?` parameters) on a pooled connection.
    @discardableResult
    public func query(
        _ sql: String, _ parameters: [MySQLValue] = [], file: String = #fileID, line: Int = #line
    ) async throws -> MySQLResult {
        try await pool.withConnection(file: file, line: line) { connection in
            parameters.isEmpty ? try await connection.query(sql) : try await connection.query(sql, parameters)
        }
    }

    public func shutdown() { pool.shutdown() }
}

/// Errors a service reports for its own configuration and inputs.
public enum ServiceError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case invalidInput(String)
    case dependency(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(why): "invalid configuration: \(why)"
        case let .invalidInput(why): "invalid input: \(why)"
        case let .dependency(why): why
        }
    }
}

import WireCore

/// Everything a MySQL operation can fail with.
public enum MySQLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The transport failed (refused, reset, closed, TLS, connect timeout).
    case connection(WireError)
    /// The server sent bytes that break the protocol; the connection is closed.
    case protocolViolation(MySQLProtocolError)
    /// The server refused the command (an ERR packet); the connection stays usable unless
    /// this happened during authentication.
    case server(MySQLServerError)
    case authentication(MySQLAuthenticationError)
    /// TLS is required but the server does not offer it.
    case tlsUnavailable
    /// The statement ran longer than its timeout; `killed` says whether `KILL QUERY` reached
    /// the server (the connection stays usable) or the connection was closed instead.
    case queryTimeout(after: Duration, killed: Bool)
    /// The connection is closed (after `close()`, COM_QUIT or an earlier fatal error).
    case connectionClosed
    case invalidArgument(String)

    public var serverError: MySQLServerError? {
        if case let .server(error) = self { return error }
        return nil
    }

    public var description: String {
        switch self {
        case let .connection(error): return "MySQL connection failed: \(error)"
        case let .protocolViolation(error): return "MySQL protocol violation: \(error)"
        case let .server(error): return error.description
        case let .authentication(error): return "MySQL authentication failed: \(error)"
        case .tlsUnavailable: return "TLS is required but the MySQL server does not offer it"
        case let .queryTimeout(after, killed):
            return "query timed out after \(after.formattedMilliseconds)" + (killed ? " (killed on the server)" : " (connection closed)")
        case .connectionClosed: return "MySQL connection is closed"
        case let .invalidArgument(reason): return "invalid argument: \(reason)"
        }
    }
}

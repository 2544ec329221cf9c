/// Why `ConnectionPool.acquire` failed.
public enum ConnectionPoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HikariCP's "Connection is not available, request timed out after N ms".
    case timedOut(pool: String, waited: Duration, snapshot: ConnectionPoolSnapshot, lastCreationError: String?)
    case shutdown(pool: String)
    case cancelled(pool: String)

    public var description: String {
        switch self {
        case let .timedOut(pool, waited, snapshot, cause):
            let milliseconds = Int((waited.seconds * 1000).rounded())
            var text = "\(pool) - Connection is not available, request timed out after \(milliseconds)ms (\(snapshot))"
            if let cause { text += "; last connection attempt failed: \(cause)" }
            return text
        case let .shutdown(pool): return "\(pool) - pool has been shut down"
        case let .cancelled(pool): return "\(pool) - acquire cancelled"
        }
    }
}

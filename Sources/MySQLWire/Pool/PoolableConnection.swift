/// What the pool needs from a connection.
public protocol PoolableConnection: AnyObject, Sendable {
    /// False once the connection is known to be closed or broken.
    var isOpen: Bool { get }
    /// A liveness check (MySQL: COM_PING) that gives up after `timeout`.
    func validate(timeout: Duration) async -> Bool
    func close() async
}

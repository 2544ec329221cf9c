import Synchronization
import WireCore

/// A standalone-server client over a fixed number of shared, pipelined connections that are
/// reopened on demand after they fail.
///
/// A command whose connection fails is not retried automatically: it may have been applied,
/// and only the caller knows whether repeating it is safe. The next command opens a new
/// connection (after `reconnectBackoff` if the last attempt failed).
public final class RedisClient: RedisCommandExecutor, @unchecked Sendable {
    struct Slot {
        var connection: RedisConnection?
        var connecting: Task<RedisConnection, any Error>?
        var lastFailure: NanoTime?
    }

    public let configuration: RedisConnectionConfiguration
    public let reconnectBackoff: Duration
    private let slots: Mutex<[Slot]>
    private let cursor = Atomic<Int>(0)

    public init(_ configuration: RedisConnectionConfiguration, connections: Int = 1, reconnectBackoff: Duration = .milliseconds(100)) {
        precondition(connections > 0)
        self.configuration = configuration
        self.reconnectBackoff = reconnectBackoff
        slots = Mutex([Slot](repeating: Slot(), count: connections))
    }

    deinit { close() }

    public func close() {
        let open = slots.withLock { slots -> [RedisConnection] in
            defer { for index in slots.indices { slots[index] = Slot() } }
            return slots.compactMap(\.connection)
        }
        for connection in open { connection.close() }
    }

    /// An open connection (round-robin), reconnecting if needed.
    public func connection() async throws(RedisError) -> RedisConnection {
        let index = cursor.wrappingAdd(1, ordering: .relaxed).oldValue % slots.withLock { $0.count }
        enum Step {
            case ready(RedisConnection)
            case wait(Task<RedisConnection, any Error>, delay: Duration?)
        }
        let step = slots.withLock { slots -> Step in
            if let connection = slots[index].connection, connection.isOpen { return .ready(connection) }
            slots[index].connection = nil
            if let pending = slots[index].connecting { return .wait(pending, delay: nil) }
            var delay: Duration?
            if let failed = slots[index].lastFailure {
                let since = NanoTime.now() - failed
                if since < reconnectBackoff { delay = reconnectBackoff - since }
            }
            let configuration = configuration
            let wait = delay
            let task = Task { () throws -> RedisConnection in
                if let wait { try? await Task.sleep(for: wait) }
                return try await RedisConnection.connect(configuration)
            }
            slots[index].connecting = task
            return .wait(task, delay: delay)
        }
        switch step {
        case let .ready(connection):
            return connection
        case let .wait(task, _):
            do {
                let connection = try await task.value
                slots.withLock { slots in
                    if slots[index].connecting == task {
                        slots[index].connecting = nil
                        slots[index].connection = connection
                        slots[index].lastFailure = nil
                    }
                }
                return connection
            } catch {
                slots.withLock { slots in
                    if slots[index].connecting == task {
                        slots[index].connecting = nil
                        slots[index].lastFailure = NanoTime.now()
                    }
                }
                if let redisError = error as? RedisError { throw redisError }
                throw .connection(.closed(peer: "\(configuration.host):\(configuration.port)"))
            }
        }
    }

    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await connection().send(command)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        try await connection().pipeline(commands)
    }

    public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue]? {
        try await connection().transaction(commands)
    }
}

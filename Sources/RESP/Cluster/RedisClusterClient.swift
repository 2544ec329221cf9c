import Synchronization
import WireCore

/// Settings for a cluster client.
public struct RedisClusterConfiguration: Sendable {
    public enum ReadPreference: Sendable {
        /// Every command goes to the slot's primary.
        case primary
        /// Read-only commands go to a healthy replica of the slot (READONLY mode), writes to
        /// the primary; replicas may lag behind the primary.
        case replicaPreferred
    }

    /// Nodes to ask for the topology; any reachable node of the cluster will do.
    public var seeds: [RedisClusterEndpoint]
    /// Authentication, TLS and timeouts for every node connection (host/port are replaced).
    public var connection: RedisConnectionConfiguration
    public var readPreference: ReadPreference
    /// MOVED/ASK redirects followed for one command before giving up.
    public var maxRedirects: Int
    /// Retries of TRYAGAIN, CLUSTERDOWN, LOADING and connection failures, spaced by
    /// exponential backoff from `retryBackoffBase` up to `retryBackoffCap`, within `retryBudget`.
    public var maxRetries: Int
    public var retryBackoffBase: Duration
    public var retryBackoffCap: Duration
    public var retryBudget: Duration
    /// Refuse multi-key commands whose keys span slots before sending them.
    public var checksCrossSlot: Bool
    /// Retry a write whose connection failed after it was sent (reset, timeout). Such a write
    /// may already have been applied, so retrying it can apply it twice (an INCR counted
    /// double); off by default. Failures before sending, and read-only commands, are always
    /// retried.
    public var retriesAmbiguousWrites: Bool
    /// Periodic topology refresh, on top of the refreshes that redirects and failures trigger.
    public var refreshInterval: Duration?

    public init(
        seeds: [RedisClusterEndpoint],
        connection: RedisConnectionConfiguration = RedisConnectionConfiguration(),
        readPreference: ReadPreference = .primary,
        maxRedirects: Int = 5,
        maxRetries: Int = 30,
        retryBackoffBase: Duration = .milliseconds(25),
        retryBackoffCap: Duration = .milliseconds(500),
        retryBudget: Duration = .seconds(15),
        checksCrossSlot: Bool = true,
        retriesAmbiguousWrites: Bool = false,
        refreshInterval: Duration? = .seconds(30)
    ) {
        self.seeds = seeds
        self.connection = connection
        self.readPreference = readPreference
        self.maxRedirects = maxRedirects
        self.maxRetries = maxRetries
        self.retryBackoffBase = retryBackoffBase
        self.retryBackoffCap = retryBackoffCap
        self.retryBudget = retryBudget
        self.checksCrossSlot = checksCrossSlot
        self.retriesAmbiguousWrites = retriesAmbiguousWrites
        self.refreshInterval = refreshInterval
    }
}

/// Counters of what the cluster client had to do; experiments and tests read them.
public struct RedisClusterStatistics: Sendable, Equatable {
    public var movedRedirects = 0
    public var askRedirects = 0
    public var retries = 0
    public var topologyRefreshes = 0
    public var connectionsOpened = 0
}

/// A Redis Cluster client: routes each command to the node serving its keys' slot, follows
/// MOVED (updating its slot table and refreshing the topology) and ASK (ASKING + the command,
/// written together), retries TRYAGAIN/CLUSTERDOWN/LOADING and connection failures with
/// bounded backoff (which is how it rides out a failover), splits pipelines per node, and
/// can read from replicas.
public final class RedisClusterClient: RedisCommandExecutor, @unchecked Sendable {
    struct State {
        var topology: RedisClusterTopology?
        var connections: [RedisClusterEndpoint: RedisConnection] = [:]
        var connecting: [RedisClusterEndpoint: Task<RedisConnection, any Error>] = [:]
        var refresh: Task<Void, Never>?
        var replicaCursor = 0
        var closed = false
        var statistics = RedisClusterStatistics()
    }

    public let configuration: RedisClusterConfiguration
    private let state = Mutex(State())
    private let periodicRefresh = Mutex<Task<Void, Never>?>(nil)

    private init(configuration: RedisClusterConfiguration) {
        self.configuration = configuration
    }

    /// Connects to the seeds and loads the topology.
    public static func connect(_ configuration: RedisClusterConfiguration) async throws(RedisError) -> RedisClusterClient {
        guard !configuration.seeds.isEmpty else { throw .invalidRequest("a cluster client needs at least one seed node") }
        let client = RedisClusterClient(configuration: configuration)
        try await client.refreshTopology()
        if let interval = configuration.refreshInterval {
            let task = Task { [weak client] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let client, !Task.isCancelled else { return }
                    try? await client.refreshTopology()
                }
            }
            client.periodicRefresh.withLock { $0 = task }
        }
        return client
    }

    /// Closes every node connection.
    public func close() {
        periodicRefresh.withLock { $0?.cancel() }
        let connections = state.withLock { state -> [RedisConnection] in
            state.closed = true
            state.refresh?.cancel()
            for task in state.connecting.values { task.cancel() }
            return Array(state.connections.values)
        }
        for connection in connections { connection.close() }
    }

    deinit { close() }

    public var statistics: RedisClusterStatistics { state.withLock { $0.statistics } }
    public var topology: RedisClusterTopology? { state.withLock { $0.topology } }

    // MARK: Topology

    /// Reloads the topology from the known nodes (then the seeds), using CLUSTER SHARDS and
    /// falling back to CLUSTER SLOTS. Concurrent callers share one refresh.
    public func refreshTopology() async throws(RedisError) {
        let task = state.withLock { state -> Task<Void, Never> in
            if let running = state.refresh { return running }
            let task = Task { [self] in
                await performRefresh()
            }
            state.refresh = task
            return task
        }
        await task.value
        if state.withLock({ $0.topology }) == nil {
            throw .topologyUnavailable("no seed or known node answered CLUSTER SHARDS/SLOTS: \(configuration.seeds)")
        }
    }

    private func performRefresh() async {
        defer { state.withLock { $0.refresh = nil } }
        var candidates = state.withLock { $0.topology?.allNodes.filter(\.isHealthy).map(\.endpoint) } ?? []
        for seed in configuration.seeds where !candidates.contains(seed) { candidates.append(seed) }
        for endpoint in candidates {
            guard let connection = try? await connection(to: endpoint) else { continue }
            var topology: RedisClusterTopology?
            do {
                let reply = try await connection.send(RedisCommand("CLUSTER").argument("SHARDS"))
                topology = try RedisClusterTopology.fromShards(reply, fallbackHost: endpoint.host)
            } catch let error {
                if case .connection = error { dropConnection(to: endpoint, connection); continue }
                if let reply = try? await connection.send(RedisCommand("CLUSTER").argument("SLOTS")) {
                    topology = try? RedisClusterTopology.fromSlots(reply, fallbackHost: endpoint.host)
                }
            }
            if let topology, topology.coveredSlotCount > 0 {
                state.withLock {
                    $0.topology = topology
                    $0.statistics.topologyRefreshes += 1
                }
                return
            }
        }
    }

    private func scheduleRefresh() {
        Task { [weak self] in try? await self?.refreshTopology() }
    }

    // MARK: Connections

    /// The connection to one node, opened on first use and shared by all callers.
    public func connection(to endpoint: RedisClusterEndpoint) async throws(RedisError) -> RedisConnection {
        enum Step {
            case ready(RedisConnection)
            case wait(Task<RedisConnection, any Error>)
            case closed
        }
        let step = state.withLock { state -> Step in
            if state.closed { return .closed }
            if let existing = state.connections[endpoint], existing.isOpen { return .ready(existing) }
            state.connections[endpoint] = nil
            if let pending = state.connecting[endpoint] { return .wait(pending) }
            var configuration = configuration.connection
            configuration.host = endpoint.host
            configuration.port = endpoint.port
            configuration.readOnlyReplica = self.configuration.readPreference != .primary
            let task = Task { () throws -> RedisConnection in
                try await RedisConnection.connect(configuration)
            }
            state.connecting[endpoint] = task
            return .wait(task)
        }
        switch step {
        case let .ready(connection): return connection
        case .closed: throw .connection(.closed(peer: endpoint.description))
        case let .wait(task):
            do {
                let connection = try await task.value
                state.withLock { state in
                    if state.connecting[endpoint] == task {
                        state.connecting[endpoint] = nil
                        state.connections[endpoint] = connection
                        state.statistics.connectionsOpened += 1
                    }
                }
                return connection
            } catch {
                state.withLock { state in
                    if state.connecting[endpoint] == task { state.connecting[endpoint] = nil }
                }
                if let redisError = error as? RedisError { throw redisError }
                throw .connection(.closed(peer: endpoint.description))
            }
        }
    }

    private func dropConnection(to endpoint: RedisClusterEndpoint, _ connection: RedisConnection) {
        let removed = state.withLock { state -> Bool in
            guard state.connections[endpoint] === connection else { return false }
            state.connections[endpoint] = nil
            return true
        }
        if removed { connection.close() }
    }

    /// The node that should serve `slot`.
    func endpoint(forSlot slot: UInt16?, readOnly: Bool) -> RedisClusterEndpoint? {
        state.withLock { state -> RedisClusterEndpoint? in
            guard let topology = state.topology else { return nil }
            guard let slot else {
                return topology.primaries.first?.endpoint
            }
            guard let shard = topology.shard(forSlot: slot) else { return nil }
            if readOnly, configuration.readPreference == .replicaPreferred {
                let replicas = shard.replicas.filter(\.isHealthy)
                if !replicas.isEmpty {
                    state.replicaCursor &+= 1
                    return replicas[state.replicaCursor % replicas.count].endpoint
                }
            }
            return shard.primary.endpoint
        }
    }

    // MARK: Commands

    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        let reply = try await execute(command)
        if let error = reply.redisError { throw .server(error) }
        return reply
    }

    /// Sends commands grouped by node, each group as one pipeline, concurrently; commands
    /// redirected or refused with a retriable error are re-run one by one. Replies come back
    /// in the order of `commands`.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        if commands.isEmpty { return [] }
        if configuration.checksCrossSlot, let spanning = commands.first(where: \.spansSlots) {
            throw crossSlotError(spanning)
        }
        var groups: [RedisClusterEndpoint: [Int]] = [:]
        var unroutable: [Int] = []
        for (index, command) in commands.enumerated() {
            if let endpoint = endpoint(forSlot: command.slot, readOnly: command.isReadOnly) {
                groups[endpoint, default: []].append(index)
            } else {
                unroutable.append(index)
            }
        }
        var replies = [RESPValue?](repeating: nil, count: commands.count)
        await withTaskGroup(of: [(Int, RESPValue)].self) { group in
            for (endpoint, indices) in groups {
                group.addTask { [self] in
                    guard let connection = try? await connection(to: endpoint),
                          let results = try? await connection.pipeline(indices.map { commands[$0] }) else { return [] }
                    return Array(zip(indices, results))
                }
            }
            for await results in group {
                for (index, reply) in results { replies[index] = reply }
            }
        }
        // Anything not answered, redirected or refused for now goes through the full retry path.
        for index in commands.indices {
            if let reply = replies[index], !Self.needsRetry(reply) { continue }
            replies[index] = try await execute(commands[index])
        }
        _ = unroutable
        return replies.map { $0 ?? .null }
    }

    /// MULTI/EXEC on the node serving the commands' slot; every key must share one slot.
    public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue]? {
        let slots = Set(commands.compactMap(\.slot))
        if slots.count > 1 || commands.contains(where: \.spansSlots) {
            throw .crossSlot(command: "MULTI", keys: commands.flatMap(\.keyNames), slots: slots.sorted())
        }
        guard let endpoint = endpoint(forSlot: slots.first, readOnly: false) else {
            throw .topologyUnavailable("no node serves slot \(slots.first.map(String.init) ?? "-")")
        }
        return try await connection(to: endpoint).transaction(commands)
    }

    /// Runs a command on every primary (FLUSHALL, SCRIPT LOAD, DBSIZE, …) and returns the replies.
    public func sendToAllPrimaries(_ command: RedisCommand) async throws(RedisError) -> [RedisClusterEndpoint: RESPValue] {
        guard let primaries = topology?.primaries else { throw .topologyUnavailable("no topology") }
        var replies: [RedisClusterEndpoint: RESPValue] = [:]
        for node in primaries {
            replies[node.endpoint] = try await connection(to: node.endpoint).send(command)
        }
        return replies
    }

    /// True for connection errors raised before the request reached the socket: the
    /// connection was already closed or could not be opened.
    static func wasNotSent(_ error: RedisError) -> Bool {
        switch error {
        case .connection(.closed), .connection(.connectionRefused), .connection(.hostNotFound): return true
        default: return false
        }
    }

    private static func needsRetry(_ reply: RESPValue) -> Bool {
        guard let error = reply.redisError else { return false }
        switch error.kind {
        case .moved, .ask, .tryAgain, .clusterDown, .loading, .masterDown: return true
        default: return false
        }
    }

    private func crossSlotError(_ command: RedisCommand) -> RedisError {
        let slots = Set(command.keyNames.map { HashSlot.slot(forKey: $0) }).sorted()
        return .crossSlot(command: command.name, keys: command.keyNames, slots: slots)
    }

    /// Routes one command, following redirects and retrying within the bounds; returns the
    /// final reply, which may be an error reply the caller should see (WRONGTYPE, …).
    private func execute(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        if configuration.checksCrossSlot && command.spansSlots { throw crossSlotError(command) }
        let started = NanoTime.now()
        var redirects = 0
        var retries = 0
        var askTarget: RedisClusterEndpoint?
        var lastProblem = "no attempt"

        while true {
            let target: RedisClusterEndpoint
            if let askTarget {
                target = askTarget
            } else if let routed = endpoint(forSlot: command.slot, readOnly: command.isReadOnly) {
                target = routed
            } else {
                lastProblem = "no node serves slot \(command.slot.map(String.init) ?? "-")"
                try await backoff(&retries, started: started, command: command, problem: lastProblem, refresh: true)
                continue
            }

            let connection: RedisConnection
            do {
                connection = try await self.connection(to: target)
            } catch let error {
                // Nothing was sent: always safe to retry once the topology has been refreshed.
                lastProblem = "\(target): \(error)"
                askTarget = nil
                try await backoff(&retries, started: started, command: command, problem: lastProblem, refresh: true)
                continue
            }
            let reply: RESPValue
            do {
                if askTarget != nil {
                    let replies = try await connection.pipeline([RedisCommand("ASKING"), command])
                    reply = replies[1]
                } else {
                    reply = try await connection.pipeline([command])[0]
                }
            } catch let error {
                guard Self.wasNotSent(error) || command.isReadOnly || configuration.retriesAmbiguousWrites else {
                    // The command may have been applied before the connection failed.
                    scheduleRefresh()
                    throw error
                }
                switch error {
                case .connection, .timedOut, .protocolViolation:
                    lastProblem = "\(target): \(error)"
                    askTarget = nil
                    try await backoff(&retries, started: started, command: command, problem: lastProblem, refresh: true)
                    continue
                default:
                    throw error
                }
            }

            guard let error = reply.redisError else { return reply }
            switch error.kind {
            case let .moved(slot, host, port):
                redirects += 1
                let endpoint = RedisClusterEndpoint(host: host.isEmpty ? target.host : host, port: port)
                state.withLock {
                    $0.statistics.movedRedirects += 1
                    $0.topology?.move(slot: slot, to: endpoint)
                }
                scheduleRefresh()
                askTarget = nil
                if redirects > configuration.maxRedirects {
                    throw .retriesExhausted(command: command.name, attempts: redirects, lastError: error.message)
                }
            case let .ask(_, host, port):
                redirects += 1
                state.withLock { $0.statistics.askRedirects += 1 }
                askTarget = RedisClusterEndpoint(host: host.isEmpty ? target.host : host, port: port)
                if redirects > configuration.maxRedirects {
                    throw .retriesExhausted(command: command.name, attempts: redirects, lastError: error.message)
                }
            case .tryAgain, .clusterDown, .loading, .masterDown:
                lastProblem = error.message
                askTarget = nil
                try await backoff(&retries, started: started, command: command, problem: lastProblem, refresh: error.kind != .tryAgain)
            default:
                return reply
            }
        }
    }

    private func backoff(
        _ retries: inout Int, started: NanoTime, command: RedisCommand, problem: String, refresh: Bool
    ) async throws(RedisError) {
        retries += 1
        let elapsed = NanoTime.now() - started
        if retries > configuration.maxRetries || elapsed > configuration.retryBudget {
            throw .retriesExhausted(command: command.name, attempts: retries, lastError: problem)
        }
        state.withLock { $0.statistics.retries += 1 }
        if refresh { scheduleRefresh() }
        let exponent = min(retries - 1, 16)
        let base = configuration.retryBackoffBase * (1 << exponent)
        let capped = min(base, configuration.retryBackoffCap)
        // Full jitter keeps many clients from retrying in lockstep.
        let jittered = Duration.nanoseconds(Int64.random(in: Int64(capped.wholeNanoseconds / 2)...Int64(max(1, capped.wholeNanoseconds))))
        try? await Task.sleep(for: jittered)
    }
}

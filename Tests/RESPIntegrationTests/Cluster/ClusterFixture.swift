import Foundation
import RESP
import Testing
import WireCore

/// The 6-node cluster that `scripts/infra up redis-cluster` runs on 127.0.0.1:17000–17005.
enum ClusterFixture {
    static let seeds: [RedisClusterEndpoint] = {
        let raw = ProcessInfo.processInfo.environment["LAB_REDIS_CLUSTER"] ?? "127.0.0.1:17000,127.0.0.1:17001,127.0.0.1:17002"
        return raw.split(separator: ",").compactMap { RedisClusterEndpoint(String($0)) }
    }()

    /// Whether the first seed accepts a connection and says the cluster is healthy; checked
    /// once, asynchronously (a blocking wait here could starve the cooperative pool the check
    /// itself needs).
    static let availability = Task<Bool, Never> {
        guard let seed = seeds.first,
              let connection = try? await RedisConnection.connect(RedisConnectionConfiguration(
                  host: seed.host, port: seed.port, commandTimeout: .seconds(2),
                  channelOptions: ChannelOptions(connectTimeout: .seconds(2)))) else { return false }
        defer { connection.close() }
        let info = try? await connection.send(RedisCommand("CLUSTER").argument("INFO"))
        return info?.string?.contains("cluster_state:ok") == true
    }

    static func isAvailable() async -> Bool { await availability.value }

    static let skipReason: Comment = "Redis Cluster not reachable at LAB_REDIS_CLUSTER (start it with `scripts/infra up redis-cluster`)"

    static func client(
        readPreference: RedisClusterConfiguration.ReadPreference = .primary,
        checksCrossSlot: Bool = true
    ) async throws -> RedisClusterClient {
        try await RedisClusterClient.connect(RedisClusterConfiguration(
            seeds: seeds,
            connection: RedisConnectionConfiguration(commandTimeout: .seconds(3)),
            readPreference: readPreference,
            retryBudget: .seconds(25),
            checksCrossSlot: checksCrossSlot,
            refreshInterval: nil
        ))
    }

    /// A direct connection to one node (administrative commands).
    static func node(_ endpoint: RedisClusterEndpoint) async throws -> RedisConnection {
        try await RedisConnection.connect(RedisConnectionConfiguration(host: endpoint.host, port: endpoint.port))
    }

    /// The node id of the node at `endpoint` (CLUSTER MYID).
    static func nodeID(_ endpoint: RedisClusterEndpoint) async throws -> String {
        let connection = try await node(endpoint)
        defer { connection.close() }
        return try #require(try await connection.send(RedisCommand("CLUSTER").argument("MYID")).string)
    }

    /// A hash tag whose slot is served by `owner`, distinct per call.
    static func tag(ownedBy owner: RedisClusterEndpoint, in topology: RedisClusterTopology, prefix: String) -> (tag: String, slot: UInt16) {
        var counter = 0
        while true {
            let candidate = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))-\(counter)"
            let slot = HashSlot.slot(forKey: candidate)
            if topology.shard(forSlot: slot)?.primary.endpoint == owner { return (candidate, slot) }
            counter += 1
        }
    }

    /// Waits until every primary reports cluster_state:ok and agrees on the owner of `slot`.
    static func waitForConvergence(slot: UInt16? = nil, owner: String? = nil, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var healthy = true
            for endpoint in allNodes {
                guard let connection = try? await node(endpoint) else { healthy = false; break }
                defer { connection.close() }
                let info = try? await connection.send(RedisCommand("CLUSTER").argument("INFO"))
                if info?.string?.contains("cluster_state:ok") != true { healthy = false; break }
                if let slot, let owner {
                    let nodes = try? await connection.send(RedisCommand("CLUSTER").argument("NODES"))
                    if !(nodes?.string.map { ownsSlot(nodesText: $0, nodeID: owner, slot: slot) } ?? false) { healthy = false; break }
                }
            }
            if healthy { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("cluster did not converge within \(timeout)")
    }

    static let allNodes: [RedisClusterEndpoint] = (17000...17005).map { RedisClusterEndpoint(host: "127.0.0.1", port: $0) }

    /// Reads CLUSTER NODES text: does `nodeID` list `slot` among its ranges?
    static func ownsSlot(nodesText: String, nodeID: String, slot: UInt16) -> Bool {
        for line in nodesText.split(separator: "\n") where line.hasPrefix(nodeID) {
            for field in line.split(separator: " ").dropFirst(8) {
                if field.hasPrefix("[") { continue }
                let bounds = field.split(separator: "-").compactMap { UInt16($0) }
                if bounds.count == 1, bounds[0] == slot { return true }
                if bounds.count == 2, (bounds[0]...bounds[1]).contains(slot) { return true }
            }
        }
        return false
    }
}

/// A Bool shared between load tasks and the test.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    func set(_ value: Bool) { lock.lock(); stored = value; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return stored }
}

/// Thread-safe counters for load generators.
final class LoadCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var succeeded = 0
    private var failures: [String] = []
    private var increments: [String: Int] = [:]

    func success(incremented key: String? = nil) {
        lock.lock()
        succeeded += 1
        if let key { increments[key, default: 0] += 1 }
        lock.unlock()
    }

    func failure(_ description: String) {
        lock.lock()
        failures.append(description)
        lock.unlock()
    }

    var snapshot: (succeeded: Int, failures: [String], increments: [String: Int]) {
        lock.lock()
        defer { lock.unlock() }
        return (succeeded, failures, increments)
    }
}

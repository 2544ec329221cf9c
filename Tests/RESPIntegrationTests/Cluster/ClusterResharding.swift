import Foundation
import RESP
import Testing
import WireCore

/// Moves a slot between primaries the way `redis-cli --cluster reshard` does: IMPORTING on
/// the target, MIGRATING on the source, MIGRATE the keys in batches, then SETSLOT NODE.
enum ClusterResharding {
    /// `betweenBatches` runs after each MIGRATE batch while the slot is half-moved (the window
    /// in which clients get ASK).
    static func migrate(
        slot: UInt16,
        from source: RedisClusterEndpoint,
        to target: RedisClusterEndpoint,
        batchSize: Int = 10,
        betweenBatches: @Sendable () async throws -> Void = {}
    ) async throws {
        let sourceID = try await ClusterFixture.nodeID(source)
        let targetID = try await ClusterFixture.nodeID(target)
        let sourceConnection = try await ClusterFixture.node(source)
        let targetConnection = try await ClusterFixture.node(target)
        defer {
            sourceConnection.close()
            targetConnection.close()
        }
        _ = try await targetConnection.send(RedisCommand("CLUSTER").argument("SETSLOT").argument(Int(slot)).argument("IMPORTING").argument(sourceID))
        _ = try await sourceConnection.send(RedisCommand("CLUSTER").argument("SETSLOT").argument(Int(slot)).argument("MIGRATING").argument(targetID))
        while true {
            let keys = try await sourceConnection.send(
                RedisCommand("CLUSTER").argument("GETKEYSINSLOT").argument(Int(slot)).argument(batchSize)
            ).array?.compactMap(\.bytes) ?? []
            if keys.isEmpty { break }
            let migrate = RedisCommand("MIGRATE").argument(target.host).argument(target.port).argument("")
                .argument(0).argument(5000).argument("KEYS").arguments(keys)
            _ = try await sourceConnection.send(migrate)
            try await betweenBatches()
        }
        // Assign the slot on target, source, then every other primary (as redis-cli does).
        let assign = RedisCommand("CLUSTER").argument("SETSLOT").argument(Int(slot)).argument("NODE").argument(targetID)
        _ = try await targetConnection.send(assign)
        _ = try await sourceConnection.send(assign)
        for endpoint in ClusterFixture.allNodes where endpoint != source && endpoint != target {
            if let connection = try? await ClusterFixture.node(endpoint) {
                _ = try? await connection.send(assign)
                connection.close()
            }
        }
        try await ClusterFixture.waitForConvergence(slot: slot, owner: targetID)
    }
}

extension ClusterTests {
    @Test("a live reshard while the client reads and writes: MOVED and ASK both handled, no failed operation, no lost increment")
    func liveReshard() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let topology = try #require(client.topology)
        let source = topology.primaries[0].endpoint
        let target = topology.primaries[2].endpoint
        let (tag, slot) = ClusterFixture.tag(ownedBy: source, in: topology, prefix: "reshard")
        let keyCount = 60
        let counters = (0..<keyCount).map { "{\(tag)}counter:\($0)" }
        for key in counters { try await client.set(key, "0") }

        let load = LoadCounters()
        let stop = LockedFlag()
        // Writers and readers on the migrating slot, plus multi-key reads that see TRYAGAIN
        // while their keys are split between the nodes.
        let workers = (0..<4).map { worker in
            Task {
                var index = worker
                while !stop.value {
                    let key = counters[index % keyCount]
                    do {
                        switch index % 3 {
                        case 0:
                            _ = try await client.incr(key)
                            load.success(incremented: key)
                        case 1:
                            _ = try await client.get(key)
                            load.success()
                        default:
                            _ = try await client.mget([key, counters[(index + 1) % keyCount]])
                            load.success()
                        }
                    } catch {
                        load.failure("\(key): \(error)")
                    }
                    index += 4
                }
            }
        }

        try await Task.sleep(for: .milliseconds(200))
        let askBefore = client.statistics.askRedirects
        try await ClusterResharding.migrate(slot: slot, from: source, to: target, batchSize: 5) {
            // Hold the slot half-migrated until the client has been redirected with ASK.
            let deadline = ContinuousClock.now + .seconds(5)
            while client.statistics.askRedirects == askBefore && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        // After SETSLOT NODE the old owner answers MOVED.
        let movedDeadline = ContinuousClock.now + .seconds(5)
        while client.statistics.movedRedirects == 0 && ContinuousClock.now < movedDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        stop.set(true)
        for worker in workers { await worker.value }

        let statistics = client.statistics
        let result = load.snapshot
        #expect(statistics.askRedirects > 0, "the client should have followed ASK during the migration")
        #expect(statistics.movedRedirects > 0, "the client should have followed MOVED after it")
        #expect(result.failures.isEmpty, "failed operations: \(result.failures.prefix(5))")
        #expect(result.succeeded > 100)
        // Every acknowledged INCR is in the final value: nothing lost or doubled by redirects.
        for key in counters {
            let value = try await client.getString(key).flatMap { Int($0) }
            #expect(value == result.increments[key, default: 0], "\(key)")
        }
        // The slot now lives on the target.
        let after = try #require(client.topology)
        #expect(after.shard(forSlot: slot)?.primary.endpoint == target || statistics.movedRedirects > 0)

        // Put the slot back so the cluster keeps its layout for the other tests.
        try await ClusterResharding.migrate(slot: slot, from: target, to: source)
        _ = try await client.del(counters)
    }
}

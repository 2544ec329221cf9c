import Foundation
import LabTestSupport
import RESP
import Testing
import WireCore

extension ClusterTests {
    @Test("a primary killed with SIGKILL: its replica is promoted and the client recovers")
    func failover() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let topology = try #require(client.topology)
        let shard = topology.shards[1]
        let victim = shard.primary.endpoint
        let replica = try #require(shard.replicas.first?.endpoint, "the shard needs a replica to fail over to")
        let (tag, slot) = ClusterFixture.tag(ownedBy: victim, in: topology, prefix: "failover")

        // The victim's process, as the server reports it (it was started by scripts/infra).
        let victimConnection = try await ClusterFixture.node(victim)
        let info = try await victimConnection.info("server")
        victimConnection.close()
        let pid = try #require(info["process_id"].flatMap { Int32($0) })
        let configFile = try #require(info["config_file"])
        let victimID = try await ClusterFixture.nodeID(victim)

        let load = LoadCounters()
        let ambiguous = LoadCounters()
        let stop = LockedFlag()
        let workers = (0..<3).map { worker in
            Task {
                var index = 0
                while !stop.value {
                    // Keys in the victim's slot and elsewhere.
                    let key = index % 2 == 0 ? "{\(tag)}k\(worker)" : "failover-\(worker)-\(index % 50)"
                    do {
                        try await client.set(key, "\(index)")
                        _ = try await client.get(key)
                        load.success()
                    } catch let error as RedisError {
                        // A write in flight when the primary died has an unknown outcome; the
                        // client reports it rather than risk applying it twice.
                        switch error {
                        case .connection(.connectionReset), .connection(.closedByPeer), .timedOut:
                            ambiguous.failure("\(key): \(error)")
                        default:
                            load.failure("\(key): \(error)")
                        }
                    } catch {
                        load.failure("\(key): \(error)")
                    }
                    index += 1
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))

        #expect(kill(pid, SIGKILL) == 0)
        let killedAt = ContinuousClock.now

        // The replica is promoted (cluster-node-timeout 2 s) and the client finds it.
        var promoted = false
        while ContinuousClock.now - killedAt < .seconds(30) {
            try? await client.refreshTopology()
            if client.topology?.shard(forSlot: slot)?.primary.endpoint == replica {
                promoted = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(promoted, "replica \(replica) was not promoted for slot \(slot)")
        let recoveredAt = ContinuousClock.now
        let successesAtRecovery = load.snapshot.succeeded
        try await Task.sleep(for: .seconds(1))
        stop.set(true)
        for worker in workers { await worker.value }

        let result = load.snapshot
        #expect(result.failures.isEmpty, "operations failed instead of riding out the failover: \(result.failures.prefix(5))")
        #expect(ambiguous.snapshot.failures.count <= 3, "at most one in-flight write per worker is ambiguous: \(ambiguous.snapshot.failures)")
        #expect(result.succeeded > successesAtRecovery, "no operation succeeded after the failover")
        #expect(client.statistics.retries > 0)
        print("failover: promoted after \(recoveredAt - killedAt), \(result.succeeded) ops ok, \(ambiguous.snapshot.failures.count) ambiguous")

        // Bring the killed node back (it rejoins as a replica), then give it its primary role
        // back so the cluster keeps the layout the other tests expect.
        #expect(await ChildProcess.run("/usr/bin/env", ["redis-server", configFile]) == 0)
        try await ClusterFixture.waitForConvergence()
        let deadline = ContinuousClock.now + .seconds(30)
        var restored = false
        while ContinuousClock.now < deadline {
            if let node = try? await ClusterFixture.node(victim) {
                let role = try? await node.send(RedisCommand("ROLE"))
                let synced = (try? await node.info("replication"))?["master_link_status"] == "up"
                if role?.array?.first?.string == "slave" && synced {
                    _ = try? await node.send(RedisCommand("CLUSTER").argument("FAILOVER"))
                }
                let isPrimary = role?.array?.first?.string == "master"
                node.close()
                if isPrimary { restored = true; break }
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(restored, "the restarted node did not take its primary role back")
        try await ClusterFixture.waitForConvergence(slot: slot, owner: victimID)
    }
}

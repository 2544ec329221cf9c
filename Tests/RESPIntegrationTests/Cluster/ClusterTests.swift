import Foundation
import RESP
import Testing
import WireCore

/// Tests against the real 6-node cluster. Serialized: the reshard and failover tests change
/// the cluster's layout, and every test here leaves it healthy for the next.
@Suite("Redis Cluster", .serialized, .enabled(ClusterFixture.skipReason) { await ClusterFixture.isAvailable() })
struct ClusterTests {
    @Test("HashSlot agrees with CLUSTER KEYSLOT for thousands of random and edge-case keys")
    func slotsAgreeWithServer() async throws {
        let connection = try await ClusterFixture.node(ClusterFixture.seeds[0])
        defer { connection.close() }
        var keys: [[UInt8]] = [
            Array("".utf8), Array("{}".utf8), Array("{}a".utf8), Array("{{a}}".utf8), Array("a{b}c{d}".utf8),
            Array("{user1000}.following".utf8), Array("{user1000}.followers".utf8), Array("foo{}{bar}".utf8),
            Array("foo{{bar}}zap".utf8), Array("foo{bar}{zap}".utf8), Array("}{".utf8), Array("{a".utf8), Array("a}".utf8),
            [0x00, 0xff, 0x7b, 0x7d], [0x7b, 0x00, 0x7d],
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab{}x:".utf8)
        for index in 0..<4000 {
            let length = Int.random(in: 0...24, using: &generator)
            if index % 2 == 0 {
                // Brace-heavy keys stress the hash-tag rule.
                keys.append((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            } else {
                keys.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
        }
        let commands = keys.map { RedisCommand("CLUSTER").argument("KEYSLOT").argument($0) }
        let replies = try await connection.pipeline(commands)
        #expect(replies.count == keys.count)
        var mismatches: [String] = []
        for (key, reply) in zip(keys, replies) {
            let ours = Int64(HashSlot.slot(forKey: key))
            if reply.int != ours { mismatches.append("\(key): server \(reply) ours \(ours)") }
        }
        #expect(mismatches.isEmpty, "slot mismatches: \(mismatches.prefix(5))")
    }

    @Test("commands are routed to the slot's node; every key reads back what was written")
    func routesBySlot() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let prefix = "route-\(UUID().uuidString)"
        let keys = (0..<300).map { "\(prefix):\($0)" }
        for key in keys { try await client.set(key, "v-\(key)") }
        for key in keys { #expect(try await client.getString(key) == "v-\(key)") }
        // The keys really are spread over every primary, and each lives where its slot says.
        let topology = try #require(client.topology)
        var perNode: [RedisClusterEndpoint: Int] = [:]
        for key in keys {
            let owner = try #require(topology.shard(forSlot: HashSlot.slot(forKey: key))?.primary.endpoint)
            let direct = try await ClusterFixture.node(owner)
            #expect(try await direct.send(RedisCommand("EXISTS").key(key)).int == 1)
            direct.close()
            perNode[owner, default: 0] += 1
        }
        #expect(perNode.count == 3)
        #expect(client.statistics.movedRedirects == 0)
        _ = try await client.pipeline(keys.map { RedisCommand("DEL").key($0) })
    }

    @Test("a pipeline spanning all nodes is split per node and answered in order")
    func pipelineSplitsPerNode() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let prefix = "pipe-\(UUID().uuidString)"
        let sets = (0..<500).map { RedisCommand("SET").key("\(prefix):\($0)").argument("\($0)") }
        let setReplies = try await client.pipeline(sets)
        #expect(setReplies.allSatisfy { $0.string == "OK" })
        let gets = (0..<500).map { RedisCommand("GET").key("\(prefix):\($0)") }
        let values = try await client.pipeline(gets).map { $0.string }
        #expect(values == (0..<500).map { "\($0)" })
        _ = try await client.pipeline((0..<500).map { RedisCommand("DEL").key("\(prefix):\($0)") })
    }

    @Test("multi-key commands: the client refuses CROSSSLOT before sending; the server says CROSSSLOT; hash tags work")
    func crossSlotRules() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let id = UUID().uuidString
        // Client-side check, with a clear error naming keys and slots.
        await #expect {
            try await client.mset([("a-\(id)", "1"), ("b-\(id)", "2")])
        } throws: { error in
            guard case let .crossSlot(_, keys, slots)? = error as? RedisError else { return false }
            return keys.count == 2 && Set(slots).count == 2
        }
        // With the check off, the server itself refuses with CROSSSLOT.
        let unchecked = try await ClusterFixture.client(checksCrossSlot: false)
        defer { unchecked.close() }
        await #expect {
            try await unchecked.mset([("a-\(id)", "1"), ("b-\(id)", "2")])
        } throws: { error in
            (error as? RedisError)?.serverKind == .crossSlot
        }
        // Lua touching keys of two slots fails on the server too.
        await #expect {
            _ = try await unchecked.eval("return redis.call('GET', KEYS[2])", keys: ["a-\(id)", "b-\(id)"])
        } throws: { error in
            (error as? RedisError)?.serverKind == .crossSlot
        }
        // Hash-tagged keys share a slot: multi-key commands, transactions and Lua succeed.
        let tagged = [("{\(id)}a", "1"), ("{\(id)}b", "2")]
        try await client.mset(tagged)
        #expect(try await client.mget(tagged.map(\.0)).map { $0.map { String(decoding: $0, as: UTF8.self) } } == ["1", "2"])
        let results = try await client.transaction([RedisCommand("INCR").key("{\(id)}a"), RedisCommand("INCR").key("{\(id)}b")])
        #expect(results?.compactMap(\.int) == [2, 3])
        let sum = try await client.eval(
            "return tonumber(redis.call('GET', KEYS[1])) + tonumber(redis.call('GET', KEYS[2]))",
            keys: tagged.map(\.0))
        #expect(sum.int == 5)
        #expect(try await client.del(tagged.map(\.0)) == 2)
    }

    @Test("reads from replicas return replicated data")
    func replicaReads() async throws {
        let client = try await ClusterFixture.client(readPreference: .replicaPreferred)
        defer { client.close() }
        let key = "replica-read-\(UUID().uuidString)"
        try await client.set(key, "replicated")
        // Replication is asynchronous: WAIT until one replica has the write, then read.
        let topology = try #require(client.topology)
        let owner = try #require(topology.shard(forSlot: HashSlot.slot(forKey: key))?.primary.endpoint)
        let primary = try await client.connection(to: owner)
        _ = try await primary.send(RedisCommand("WAIT").argument(1).argument(2000))
        #expect(try await client.getString(key) == "replicated")
        #expect(try await client.del(key) == 1)
    }

    @Test("MOVED after a slot changes hands updates the slot table, and later commands go straight to the new owner")
    func movedUpdatesRouting() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let topology = try #require(client.topology)
        let (source, target) = (topology.primaries[0].endpoint, topology.primaries[1].endpoint)
        let (tag, slot) = ClusterFixture.tag(ownedBy: source, in: topology, prefix: "moved")
        let key = "{\(tag)}k"
        try await client.set(key, "before")
        try await ClusterResharding.migrate(slot: slot, from: source, to: target)
        #expect(try await client.getString(key) == "before")
        #expect(client.statistics.movedRedirects == 1)
        #expect(try await client.getString(key) == "before")
        #expect(client.statistics.movedRedirects == 1, "the second read must be routed by the updated table")
        try await ClusterResharding.migrate(slot: slot, from: target, to: source)
        _ = try await client.del(key)
    }

    @Test("evalScript runs on the key's node and recovers from NOSCRIPT after SCRIPT FLUSH")
    func scriptsAcrossNodes() async throws {
        let client = try await ClusterFixture.client()
        defer { client.close() }
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        _ = try await client.sendToAllPrimaries(RedisCommand("SCRIPT").argument("FLUSH"))
        let keys = (0..<30).map { "script-\(UUID().uuidString)-\($0)" }
        for key in keys {
            #expect(try await client.evalScript(script, keys: [key], arguments: ["5"]).int == 5)
            #expect(try await client.evalScript(script, keys: [key], arguments: ["2"]).int == 7)
        }
        // After the first NOSCRIPT each node has the script cached: EVALSHA now works directly.
        for key in keys.prefix(3) {
            let reply = try await client.send(RedisCommand("EVALSHA").argument(script.sha1).argument(1).key(key).argument("1"))
            #expect(reply.int == 8)
        }
        _ = try await client.pipeline(keys.map { RedisCommand("DEL").key($0) })
    }
}

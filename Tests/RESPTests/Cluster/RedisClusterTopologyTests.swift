import RESP
import Testing

@Suite("RedisClusterTopology")
struct RedisClusterTopologyTests {
    static func node(_ fields: [(String, RESPValue)]) -> RESPValue {
        .map(fields.map { RESPPair(key: .bulkString(Array($0.0.utf8)), value: $0.1) })
    }

    static func text(_ string: String) -> RESPValue { .bulkString(Array(string.utf8)) }

    /// A CLUSTER SHARDS reply as Redis 7 sends it over RESP3.
    static let shardsReply: RESPValue = .array([
        node([
            ("slots", .array([.integer(0), .integer(5460)])),
            ("nodes", .array([
                node([("id", text("aaa")), ("port", .integer(17000)), ("ip", text("127.0.0.1")), ("endpoint", text("127.0.0.1")),
                      ("role", text("master")), ("replication-offset", .integer(10)), ("health", text("online"))]),
                node([("id", text("ddd")), ("port", .integer(17003)), ("ip", text("127.0.0.1")), ("endpoint", text("?")),
                      ("role", text("replica")), ("replication-offset", .integer(10)), ("health", text("online"))]),
            ])),
        ]),
        node([
            ("slots", .array([.integer(5461), .integer(10922), .integer(16000), .integer(16383)])),
            ("nodes", .array([
                node([("id", text("bbb")), ("port", .integer(17001)), ("ip", text("127.0.0.1")), ("endpoint", text("127.0.0.1")),
                      ("role", text("master")), ("health", text("online"))]),
                node([("id", text("eee")), ("port", .integer(17004)), ("ip", text("127.0.0.1")), ("endpoint", text("127.0.0.1")),
                      ("role", text("replica")), ("health", text("failed"))]),
            ])),
        ]),
        node([
            ("slots", .array([.integer(10923), .integer(15999)])),
            ("nodes", .array([
                node([("id", text("ccc")), ("port", .integer(17002)), ("ip", text("127.0.0.1")), ("endpoint", text("")),
                      ("role", text("master")), ("health", text("online"))]),
            ])),
        ]),
    ])

    @Test("CLUSTER SHARDS: slot table, roles, health and unknown endpoints")
    func shards() throws {
        let topology = try RedisClusterTopology.fromShards(Self.shardsReply, fallbackHost: "seed-host")
        #expect(topology.coveredSlotCount == 16384)
        #expect(topology.shard(forSlot: 0)?.primary.port == 17000)
        #expect(topology.shard(forSlot: 5460)?.primary.port == 17000)
        #expect(topology.shard(forSlot: 5461)?.primary.port == 17001)
        #expect(topology.shard(forSlot: 16383)?.primary.port == 17001)
        #expect(topology.shard(forSlot: 12000)?.primary.port == 17002)
        #expect(topology.shard(forSlot: 12000)?.primary.host == "127.0.0.1")  // empty endpoint → ip
        let replica = try #require(topology.shard(forSlot: 0)?.replicas.first)
        #expect(replica.host == "127.0.0.1" && !replica.isPrimary && replica.isHealthy)
        #expect(topology.shard(forSlot: 6000)?.replicas.first?.isHealthy == false)
        #expect(topology.primaries.map(\.port) == [17000, 17001, 17002])
    }

    @Test("CLUSTER SHARDS in RESP2 form (flat key/value arrays) parses the same")
    func shardsRESP2() throws {
        func flatten(_ value: RESPValue) -> RESPValue {
            switch value {
            case let .map(pairs): return .array(pairs.flatMap { [flatten($0.key), flatten($0.value)] })
            case let .array(items): return .array(items.map(flatten))
            default: return value
            }
        }
        let resp3 = try RedisClusterTopology.fromShards(Self.shardsReply, fallbackHost: "x")
        let resp2 = try RedisClusterTopology.fromShards(flatten(Self.shardsReply), fallbackHost: "x")
        #expect(resp2 == resp3)
    }

    @Test("CLUSTER SLOTS fallback")
    func slots() throws {
        let reply: RESPValue = .array([
            .array([.integer(0), .integer(5460), .array([Self.text("127.0.0.1"), .integer(17000), Self.text("aaa")]),
                    .array([Self.text("127.0.0.1"), .integer(17003), Self.text("ddd")])]),
            .array([.integer(5461), .integer(10922), .array([Self.text(""), .integer(17001), Self.text("bbb")])]),
            .array([.integer(10923), .integer(16383), .array([Self.text("127.0.0.1"), .integer(17002), Self.text("ccc")])]),
        ])
        let topology = try RedisClusterTopology.fromSlots(reply, fallbackHost: "10.9.9.9")
        #expect(topology.coveredSlotCount == 16384)
        #expect(topology.shard(forSlot: 100)?.replicas.map(\.port) == [17003])
        #expect(topology.shard(forSlot: 6000)?.primary.host == "10.9.9.9")
    }

    @Test("malformed replies give typed errors")
    func malformed() {
        #expect(throws: RedisError.self) { try RedisClusterTopology.fromShards(.integer(1), fallbackHost: "x") }
        #expect(throws: RedisError.self) { try RedisClusterTopology.fromShards(.array([]), fallbackHost: "x") }
        #expect(throws: RedisError.self) {
            try RedisClusterTopology.fromShards(.array([Self.node([("slots", .array([.integer(5), .integer(99999)])), ("nodes", .array([]))])]), fallbackHost: "x")
        }
        #expect(throws: RedisError.self) { try RedisClusterTopology.fromSlots(.array([.array([.integer(1)])]), fallbackHost: "x") }
    }

    @Test("a MOVED redirect re-points one slot before the next refresh")
    func move() throws {
        var topology = try RedisClusterTopology.fromShards(Self.shardsReply, fallbackHost: "x")
        topology.move(slot: 42, to: RedisClusterEndpoint(host: "127.0.0.1", port: 17001))
        #expect(topology.shard(forSlot: 42)?.primary.port == 17001)
        #expect(topology.shard(forSlot: 43)?.primary.port == 17000)
        topology.move(slot: 43, to: RedisClusterEndpoint(host: "127.0.0.1", port: 17999))
        #expect(topology.shard(forSlot: 43)?.primary.port == 17999)
    }
}

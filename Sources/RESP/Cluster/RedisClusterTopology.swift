/// Which node serves which slot: a value parsed from `CLUSTER SHARDS` (Redis 7+) or
/// `CLUSTER SLOTS`, with a slot table for O(1) routing.
public struct RedisClusterTopology: Sendable, Equatable {
    public struct Node: Sendable, Hashable, CustomStringConvertible {
        public var id: String?
        public var host: String
        public var port: Int
        public var isPrimary: Bool
        /// False when the cluster reports the node failed or loading.
        public var isHealthy: Bool

        public init(id: String? = nil, host: String, port: Int, isPrimary: Bool, isHealthy: Bool = true) {
            self.id = id
            self.host = host
            self.port = port
            self.isPrimary = isPrimary
            self.isHealthy = isHealthy
        }

        public var endpoint: RedisClusterEndpoint { RedisClusterEndpoint(host: host, port: port) }
        public var description: String { "\(host):\(port)\(isPrimary ? "" : " (replica)")" }
    }

    public struct Shard: Sendable, Equatable {
        public var slots: [ClosedRange<UInt16>]
        public var primary: Node
        public var replicas: [Node]
    }

    public private(set) var shards: [Shard]
    /// For each slot, the index of the shard serving it, or -1.
    private var slotOwners: [Int16]

    public init(shards: [Shard]) {
        self.shards = shards
        slotOwners = [Int16](repeating: -1, count: HashSlot.count)
        for (index, shard) in shards.enumerated() {
            for range in shard.slots {
                for slot in range where Int(slot) < HashSlot.count { slotOwners[Int(slot)] = Int16(index) }
            }
        }
    }

    public func shard(forSlot slot: UInt16) -> Shard? {
        let owner = slotOwners[Int(slot) % HashSlot.count]
        return owner >= 0 ? shards[Int(owner)] : nil
    }

    public var coveredSlotCount: Int { slotOwners.lazy.filter { $0 >= 0 }.count }

    public var primaries: [Node] { shards.map(\.primary) }
    public var allNodes: [Node] { shards.flatMap { [$0.primary] + $0.replicas } }

    /// Applies a MOVED redirect before the next full refresh: the slot now belongs to the
    /// shard whose primary is `endpoint`, or to a new shard if none is known.
    public mutating func move(slot: UInt16, to endpoint: RedisClusterEndpoint) {
        if let index = shards.firstIndex(where: { $0.primary.endpoint == endpoint }) {
            slotOwners[Int(slot)] = Int16(index)
        } else {
            shards.append(Shard(slots: [slot...slot], primary: Node(host: endpoint.host, port: endpoint.port, isPrimary: true), replicas: []))
            slotOwners[Int(slot)] = Int16(shards.count - 1)
        }
    }

    // MARK: Parsing

    /// Parses a `CLUSTER SHARDS` reply (RESP3 maps or RESP2 flat arrays). `fallbackHost`
    /// replaces endpoints the node does not know (`?` or empty).
    public static func fromShards(_ reply: RESPValue, fallbackHost: String) throws(RedisError) -> RedisClusterTopology {
        var shards: [Shard] = []
        for shardValue in try reply.elements(for: "CLUSTER SHARDS") {
            let fields = try dictionary(shardValue)
            guard let slotsValue = fields["slots"], let nodesValue = fields["nodes"] else {
                throw .unexpectedReply(command: "CLUSTER SHARDS", reply: shardValue.description)
            }
            let bounds = try slotsValue.elements(for: "CLUSTER SHARDS").map { value throws(RedisError) -> Int64 in
                if let number = value.int { return number }
                if let text = value.string, let number = Int64(text) { return number }
                throw .unexpectedReply(command: "CLUSTER SHARDS", reply: value.description)
            }
            var ranges: [ClosedRange<UInt16>] = []
            var index = 0
            while index + 1 < bounds.count {
                let low = bounds[index], high = bounds[index + 1]
                guard low >= 0, high >= low, high < HashSlot.count else {
                    throw .unexpectedReply(command: "CLUSTER SHARDS", reply: "slot range \(low)-\(high)")
                }
                ranges.append(UInt16(low)...UInt16(high))
                index += 2
            }
            var primary: Node?
            var replicas: [Node] = []
            for nodeValue in try nodesValue.elements(for: "CLUSTER SHARDS") {
                let node = try dictionary(nodeValue)
                var host = node["endpoint"]?.string ?? node["ip"]?.string ?? ""
                if host.isEmpty || host == "?" { host = node["ip"]?.string ?? fallbackHost }
                if host.isEmpty || host == "?" { host = fallbackHost }
                guard let port = node["port"]?.int ?? node["tls-port"]?.int else { continue }
                let role = node["role"]?.string ?? "master"
                let health = node["health"]?.string ?? "online"
                let parsed = Node(
                    id: node["id"]?.string, host: host, port: Int(port),
                    isPrimary: role == "master" || role == "primary", isHealthy: health == "online"
                )
                if parsed.isPrimary { primary = parsed } else { replicas.append(parsed) }
            }
            // A shard without slots (a primary being added) is not routable yet.
            if let primary, !ranges.isEmpty {
                shards.append(Shard(slots: ranges, primary: primary, replicas: replicas))
            }
        }
        if shards.isEmpty { throw .topologyUnavailable("CLUSTER SHARDS returned no shard with slots") }
        return RedisClusterTopology(shards: shards)
    }

    /// Parses a `CLUSTER SLOTS` reply (Redis 3–6, and where SHARDS is unavailable).
    public static func fromSlots(_ reply: RESPValue, fallbackHost: String) throws(RedisError) -> RedisClusterTopology {
        var shardsByPrimary: [RedisClusterEndpoint: Shard] = [:]
        var order: [RedisClusterEndpoint] = []
        for rangeValue in try reply.elements(for: "CLUSTER SLOTS") {
            let items = try rangeValue.elements(for: "CLUSTER SLOTS")
            guard items.count >= 3, let low = items[0].int, let high = items[1].int,
                  low >= 0, high >= low, high < HashSlot.count else {
                throw .unexpectedReply(command: "CLUSTER SLOTS", reply: rangeValue.description)
            }
            var nodes: [Node] = []
            for (offset, nodeValue) in items.dropFirst(2).enumerated() {
                let fields = try nodeValue.elements(for: "CLUSTER SLOTS")
                guard fields.count >= 2, let port = fields[1].int else { continue }
                var host = fields[0].string ?? ""
                if host.isEmpty || host == "?" { host = fallbackHost }
                nodes.append(Node(id: fields.count > 2 ? fields[2].string : nil, host: host, port: Int(port), isPrimary: offset == 0))
            }
            guard let primary = nodes.first else { continue }
            let key = primary.endpoint
            if shardsByPrimary[key] == nil {
                shardsByPrimary[key] = Shard(slots: [], primary: primary, replicas: Array(nodes.dropFirst()))
                order.append(key)
            }
            shardsByPrimary[key]?.slots.append(UInt16(low)...UInt16(high))
        }
        if order.isEmpty { throw .topologyUnavailable("CLUSTER SLOTS returned no slot range") }
        return RedisClusterTopology(shards: order.compactMap { shardsByPrimary[$0] })
    }

    private static func dictionary(_ value: RESPValue) throws(RedisError) -> [String: RESPValue] {
        var result: [String: RESPValue] = [:]
        for (key, item) in try value.pairs(for: "CLUSTER SHARDS") {
            if let name = key.string { result[name] = item }
        }
        return result
    }
}

/// A node address in a cluster.
public struct RedisClusterEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses "host:port".
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        host = String(text[..<colon])
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

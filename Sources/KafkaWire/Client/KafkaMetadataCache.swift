/// What the client knows about the cluster from Metadata responses: a plain value, updated by
/// `apply`, so its rules are tested without a broker.
public struct KafkaMetadataCache: Sendable, Equatable {
    public struct Broker: Sendable, Hashable {
        public var nodeID: Int32
        public var host: String
        public var port: Int
        public var rack: String?

        public init(nodeID: Int32, host: String, port: Int, rack: String? = nil) {
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.rack = rack
        }

        public var address: String { "\(host):\(port)" }
    }

    public struct Partition: Sendable, Equatable {
        public var index: Int32
        /// -1 when the partition has no leader.
        public var leaderID: Int32
        public var leaderEpoch: Int32
        public var replicas: [Int32]
        public var isr: [Int32]
        public var offlineReplicas: [Int32]
        public var errorCode: KafkaErrorCode

        public init(index: Int32, leaderID: Int32, leaderEpoch: Int32 = -1, replicas: [Int32] = [], isr: [Int32] = [],
                    offlineReplicas: [Int32] = [], errorCode: KafkaErrorCode = .none) {
            self.index = index
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.replicas = replicas
            self.isr = isr
            self.offlineReplicas = offlineReplicas
            self.errorCode = errorCode
        }
    }

    public struct Topic: Sendable, Equatable {
        public var name: String
        public var topicID: KafkaUUID
        public var isInternal: Bool
        /// By partition index.
        public var partitions: [Int32: Partition]

        public init(name: String, topicID: KafkaUUID = .zero, isInternal: Bool = false, partitions: [Int32: Partition] = [:]) {
            self.name = name
            self.topicID = topicID
            self.isInternal = isInternal
            self.partitions = partitions
        }

        public var sortedPartitions: [Partition] { partitions.values.sorted { $0.index < $1.index } }
    }

    public private(set) var brokers: [Int32: Broker] = [:]
    public private(set) var controllerID: Int32 = -1
    public private(set) var clusterID: String?
    public private(set) var topics: [String: Topic] = [:]
    /// When `apply` last ran, on the caller's clock; nil before the first response.
    public private(set) var updatedAt: ContinuousClock.Instant?

    public init() {}

    /// Folds a Metadata response in. `allTopics` says the request asked for every topic, so
    /// topics it does not mention are gone; otherwise only the mentioned topics change.
    /// A topic the broker reports as unknown is dropped; one with another error (say
    /// LEADER_NOT_AVAILABLE while it is being created) keeps what was known of it.
    /// A partition whose leader epoch went backwards is stale news and is ignored.
    public mutating func apply(_ response: MetadataResponse, allTopics: Bool, at instant: ContinuousClock.Instant = .now) {
        if !response.brokers.isEmpty {
            brokers = Dictionary(response.brokers.map {
                ($0.nodeId, Broker(nodeID: $0.nodeId, host: $0.host, port: Int($0.port), rack: $0.rack))
            }, uniquingKeysWith: { _, last in last })
        }
        controllerID = response.controllerId
        if let clusterId = response.clusterId { clusterID = clusterId }
        var seen: Set<String> = []
        for topic in response.topics {
            guard let name = topic.name, !name.isEmpty else { continue }
            seen.insert(name)
            let code = KafkaErrorCode(topic.errorCode)
            if code == .unknownTopicOrPartition || code == .invalidTopicException {
                topics[name] = nil
                continue
            }
            if code != .none && topic.partitions.isEmpty { continue }
            var updated = Topic(name: name, topicID: topic.topicId, isInternal: topic.isInternal)
            let previous = topics[name]
            for partition in topic.partitions {
                var entry = Partition(
                    index: partition.partitionIndex, leaderID: partition.leaderId, leaderEpoch: partition.leaderEpoch,
                    replicas: partition.replicaNodes, isr: partition.isrNodes, offlineReplicas: partition.offlineReplicas,
                    errorCode: KafkaErrorCode(partition.errorCode))
                if let old = previous?.partitions[partition.partitionIndex], old.leaderEpoch >= 0, entry.leaderEpoch >= 0,
                   entry.leaderEpoch < old.leaderEpoch, previous?.topicID == topic.topicId {
                    entry = old
                }
                updated.partitions[partition.partitionIndex] = entry
            }
            topics[name] = updated
        }
        if allTopics { topics = topics.filter { seen.contains($0.key) } }
        updatedAt = instant
    }

    /// Forgets a topic (after deleting it, or when a broker says it is unknown).
    public mutating func removeTopic(_ name: String) { topics[name] = nil }

    /// Marks the cache stale so the next use refreshes it.
    public mutating func invalidate() { updatedAt = nil }

    public func isStale(maxAge: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        guard let updatedAt else { return true }
        return now - updatedAt >= maxAge
    }

    /// The partition's leader broker, or the reason there is none.
    public func leader(for topic: String, partition: Int32) throws(KafkaClientError) -> Broker {
        guard let entry = topics[topic]?.partitions[partition] else {
            throw .unknownTopicOrPartition(topic: topic, partition: partition)
        }
        guard entry.leaderID >= 0 else { throw .leaderNotAvailable(topic: topic, partition: partition) }
        guard let broker = brokers[entry.leaderID] else { throw .unknownBroker(nodeID: entry.leaderID) }
        return broker
    }
}

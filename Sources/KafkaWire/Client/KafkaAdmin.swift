/// Cluster administration over a `KafkaClient`: topics, cluster and configs, offsets, groups.
/// Every operation retries what is retriable (see `KafkaClient.withRetries`); errors thrown are
/// `KafkaClientError`.
public struct KafkaAdmin: Sendable {
    public let client: KafkaClient

    public init(client: KafkaClient) {
        self.client = client
    }

    // MARK: Topics

    public struct CreatedTopic: Sendable, Equatable {
        public var name: String
        public var topicID: KafkaUUID
        /// -1 when the broker's CreateTopics version does not say.
        public var partitions: Int32
        public var replicationFactor: Int16
    }

    /// Creates a topic on the controller (or any broker, which forwards on KRaft clusters).
    /// `partitions` / `replicationFactor` -1 take the broker's defaults (CreateTopics v4+).
    @discardableResult
    public func createTopic(
        _ name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws(KafkaClientError) -> CreatedTopic {
        let client = self.client
        let timeoutMs = timeout.kafkaMilliseconds
        let created: CreatedTopic = try await client.withRetries(refreshing: []) {
            let response: CreateTopicsResponse = try await client.send(to: .controller) { _ in
                CreateTopicsRequest(
                    topics: [.init(name: name, numPartitions: partitions, replicationFactor: replicationFactor,
                                   configs: configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })],
                    timeoutMs: timeoutMs)
            }
            guard let result = response.topics.first(where: { $0.name == name }) ?? response.topics.first else {
                throw KafkaClientError.unexpected("CreateTopics response names no topic")
            }
            let code = KafkaErrorCode(result.errorCode)
            guard code == .none else {
                throw KafkaClientError.broker(code, api: .createTopics, broker: nil, topic: name, partition: nil, message: result.errorMessage)
            }
            return CreatedTopic(name: name, topicID: result.topicId, partitions: result.numPartitions,
                                replicationFactor: result.replicationFactor)
        }
        // Best effort: leaders may take a moment to be elected; callers wait on metadata.
        _ = try? await client.refreshMetadata(topics: [name])
        return created
    }

    /// Deletes topics by name; throws for the first that could not be deleted.
    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws(KafkaClientError) {
        guard !names.isEmpty else { return }
        let client = self.client
        let timeoutMs = timeout.kafkaMilliseconds
        try await client.withRetries(refreshing: []) {
            let response: DeleteTopicsResponse = try await client.send(to: .controller) { version in
                version >= 6
                    ? DeleteTopicsRequest(topics: names.map { .init(name: $0, topicId: .zero) }, timeoutMs: timeoutMs)
                    : DeleteTopicsRequest(topicNames: names, timeoutMs: timeoutMs)
            }
            for result in response.responses {
                let code = KafkaErrorCode(result.errorCode)
                guard code == .none else {
                    throw KafkaClientError.broker(code, api: .deleteTopics, broker: nil, topic: result.name, partition: nil, message: result.errorMessage)
                }
            }
        }
        for name in names { await client.forgetTopic(name) }
    }

    /// Topic names, sorted; internal topics (`__consumer_offsets`, …) only when asked.
    public func listTopics(includeInternal: Bool = false) async throws(KafkaClientError) -> [String] {
        let client = self.client
        let metadata = try await client.withRetries { try await client.refreshMetadata(topics: nil) }
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    // MARK: Cluster and configs

    public struct ClusterDescription: Sendable, Equatable {
        public var clusterID: String?
        public var controllerID: Int32
        public var brokers: [KafkaMetadataCache.Broker]
    }

    /// DescribeCluster where the broker speaks it, else what Metadata says.
    public func describeCluster() async throws(KafkaClientError) -> ClusterDescription {
        let client = self.client
        return try await client.withRetries(refreshing: []) {
            if try await client.versions(for: .anyBroker).version(for: .describeCluster) != nil {
                let response: DescribeClusterResponse = try await client.send(to: .anyBroker) { _ in DescribeClusterRequest() }
                let code = KafkaErrorCode(response.errorCode)
                guard code == .none else {
                    throw KafkaClientError.broker(code, api: .describeCluster, broker: nil, topic: nil, partition: nil, message: response.errorMessage)
                }
                return ClusterDescription(
                    clusterID: response.clusterId, controllerID: response.controllerId,
                    brokers: response.brokers.map { .init(nodeID: $0.brokerId, host: $0.host, port: Int($0.port), rack: $0.rack) }
                        .sorted { $0.nodeID < $1.nodeID })
            }
            let metadata = try await client.refreshMetadata(topics: [])
            return ClusterDescription(clusterID: metadata.clusterID, controllerID: metadata.controllerID,
                                      brokers: metadata.brokers.values.sorted { $0.nodeID < $1.nodeID })
        }
    }

    public struct ConfigEntry: Sendable, Equatable {
        public var name: String
        public var value: String?
        public var readOnly: Bool
        public var isSensitive: Bool
        /// DescribeConfigs `config_source` (1 topic, 4 static broker, 5 default, …; -1 unknown).
        public var source: Int8
    }

    /// A topic's configuration, by name.
    public func describeConfigs(topic: String, keys: [String]? = nil) async throws(KafkaClientError) -> [String: ConfigEntry] {
        let client = self.client
        return try await client.withRetries(refreshing: [topic]) {
            let response: DescribeConfigsResponse = try await client.send(to: .anyBroker) { _ in
                DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: topic, configurationKeys: keys)])
            }
            guard let result = response.results.first else { throw KafkaClientError.unexpected("DescribeConfigs response names no resource") }
            let code = KafkaErrorCode(result.errorCode)
            guard code == .none else {
                throw KafkaClientError.broker(code, api: .describeConfigs, broker: nil, topic: topic, partition: nil, message: result.errorMessage)
            }
            return Dictionary(result.configs.map {
                ($0.name, ConfigEntry(name: $0.name, value: $0.value, readOnly: $0.readOnly, isSensitive: $0.isSensitive, source: $0.configSource))
            }, uniquingKeysWith: { _, last in last })
        }
    }

    // MARK: Offsets

    public enum OffsetSpec: Sendable, Hashable {
        case earliest
        case latest
        /// The first offset whose timestamp is at or after this (ms since the epoch).
        case timestamp(Int64)

        var wireTimestamp: Int64 {
            switch self {
            case .earliest: return -2
            case .latest: return -1
            case let .timestamp(ms): return ms
            }
        }
    }

    public enum IsolationLevel: Int8, Sendable {
        case readUncommitted = 0
        /// `.latest` then answers the last stable offset (LSO) instead of the high watermark.
        case readCommitted = 1
    }

    public struct PartitionOffset: Sendable, Equatable {
        public var partition: Int32
        /// -1 when no offset matches (a timestamp past the last record).
        public var offset: Int64
        public var timestamp: Int64
        public var leaderEpoch: Int32
    }

    /// Offsets of `partitions` (nil: all) of `topic`, asked of each partition's leader.
    public func listOffsets(
        topic: String, partitions: [Int32]? = nil, spec: OffsetSpec, isolation: IsolationLevel = .readUncommitted
    ) async throws(KafkaClientError) -> [Int32: PartitionOffset] {
        let client = self.client
        return try await client.withRetries(refreshing: [topic]) {
            let known = try await client.partitions(of: topic)
            let wanted = partitions ?? known.map(\.index)
            var byLeader: [Int32: [KafkaMetadataCache.Partition]] = [:]
            for index in wanted {
                guard let partition = known.first(where: { $0.index == index }) else {
                    throw KafkaClientError.unknownTopicOrPartition(topic: topic, partition: index)
                }
                guard partition.leaderID >= 0 else { throw KafkaClientError.leaderNotAvailable(topic: topic, partition: index) }
                byLeader[partition.leaderID, default: []].append(partition)
            }
            var offsets: [Int32: PartitionOffset] = [:]
            for (leader, partitions) in byLeader.sorted(by: { $0.key < $1.key }) {
                // Isolation level exists from v2; the leader epoch fences stale leaders from v4.
                let versions: ClosedRange<Int16>? = isolation == .readCommitted ? 2...Int16.max : nil
                let response: ListOffsetsResponse = try await client.send(to: .node(leader), versions: versions) { version in
                    ListOffsetsRequest(
                        replicaId: -1, isolationLevel: version >= 2 ? isolation.rawValue : 0,
                        topics: [.init(name: topic, partitions: partitions.map {
                            .init(partitionIndex: $0.index, currentLeaderEpoch: version >= 4 ? $0.leaderEpoch : -1,
                                  timestamp: spec.wireTimestamp)
                        })],
                        timeoutMs: version >= 10 ? 30_000 : 0)
                }
                for topicResponse in response.topics {
                    for partition in topicResponse.partitions {
                        let code = KafkaErrorCode(partition.errorCode)
                        guard code == .none else {
                            throw KafkaClientError.broker(code, api: .listOffsets, broker: "node \(leader)", topic: topic,
                                                          partition: partition.partitionIndex, message: nil)
                        }
                        offsets[partition.partitionIndex] = PartitionOffset(
                            partition: partition.partitionIndex, offset: partition.offset, timestamp: partition.timestamp,
                            leaderEpoch: partition.leaderEpoch)
                    }
                }
            }
            return offsets
        }
    }

    // MARK: Groups

    public struct GroupListing: Sendable, Equatable {
        public var groupID: String
        public var protocolType: String
        public var state: String
        /// The broker that answered (the group's coordinator).
        public var coordinator: Int32
    }

    /// Groups known to every broker (each lists the groups it coordinates).
    public func listGroups() async throws(KafkaClientError) -> [GroupListing] {
        let client = self.client
        return try await client.withRetries(refreshing: []) {
            let metadata = try await client.refreshMetadata(topics: [])
            var groups: [GroupListing] = []
            for broker in metadata.brokers.values.sorted(by: { $0.nodeID < $1.nodeID }) {
                let response: ListGroupsResponse = try await client.send(to: .node(broker.nodeID)) { _ in ListGroupsRequest() }
                let code = KafkaErrorCode(response.errorCode)
                guard code == .none else {
                    throw KafkaClientError.broker(code, api: .listGroups, broker: broker.address, topic: nil, partition: nil, message: nil)
                }
                groups += response.groups.map {
                    GroupListing(groupID: $0.groupId, protocolType: $0.protocolType, state: $0.groupState, coordinator: broker.nodeID)
                }
            }
            return groups.sorted { $0.groupID < $1.groupID }
        }
    }

    public struct GroupMember: Sendable, Equatable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        public var assignment: [UInt8]
    }

    public struct GroupDescription: Sendable, Equatable {
        public var groupID: String
        public var state: String
        public var protocolType: String
        /// The assignor in use (`range`, `roundrobin`, `cooperative-sticky`, …).
        public var protocolName: String
        public var members: [GroupMember]
    }

    /// The offsets the group committed (OffsetFetch v2+, asked of its coordinator): for every
    /// topic, or only for the partitions named (librdkafka's mock cluster answers the
    /// all-topics form with a null array that the protocol does not allow).
    public func committedOffsets(
        group: String, partitions: [TopicPartition]? = nil
    ) async throws(KafkaClientError) -> [TopicPartition: Int64] {
        let client = self.client
        let coordinator = try await coordinator(forGroup: group)
        let byTopic = partitions.map { Dictionary(grouping: $0, by: \.topic).sorted { $0.key < $1.key } }
        return try await client.withRetries(refreshing: []) {
            let response: OffsetFetchResponse = try await client.send(to: .node(coordinator), versions: 2...Int16.max) { version in
                version >= 8
                    ? OffsetFetchRequest(groups: [.init(groupId: group, topics: byTopic?.map {
                        .init(name: $0.key, partitionIndexes: $0.value.map(\.partition).sorted())
                    })])
                    : OffsetFetchRequest(groupId: group, topics: byTopic?.map {
                        .init(name: $0.key, partitionIndexes: $0.value.map(\.partition).sorted())
                    })
            }
            var offsets: [TopicPartition: Int64] = [:]
            var failure = KafkaErrorCode(response.errorCode)
            if let groupResponse = response.groups.first {
                failure = KafkaErrorCode(groupResponse.errorCode)
                for topic in groupResponse.topics {
                    for partition in topic.partitions where partition.committedOffset >= 0 {
                        offsets[TopicPartition(topic.name, partition.partitionIndex)] = partition.committedOffset
                    }
                }
            } else {
                for topic in response.topics {
                    for partition in topic.partitions where partition.committedOffset >= 0 {
                        offsets[TopicPartition(topic.name, partition.partitionIndex)] = partition.committedOffset
                    }
                }
            }
            guard failure == .none else {
                throw KafkaClientError.broker(failure, api: .offsetFetch, broker: "node \(coordinator)", topic: nil, partition: nil,
                                              message: "group \(group)")
            }
            return offsets
        }
    }

    /// The group's coordinator node id (FindCoordinator, key type 0).
    public func coordinator(forGroup group: String) async throws(KafkaClientError) -> Int32 {
        let client = self.client
        return try await client.withRetries(refreshing: []) {
            try await Self.findCoordinator(client: client, key: group, keyType: .group)
        }
    }

    /// What a coordinator is looked up for.
    public enum CoordinatorKeyType: Int8, Sendable {
        case group = 0
        case transaction = 1
    }

    /// One FindCoordinator for `key` (no retry): the coordinator's node id, or the broker's error.
    public static func findCoordinator(client: KafkaClient, key: String, keyType: CoordinatorKeyType) async throws(KafkaClientError) -> Int32 {
        let type = keyType.rawValue
        let response: FindCoordinatorResponse = try await client.send(to: .anyBroker) { version in
            version >= 4 ? FindCoordinatorRequest(keyType: type, coordinatorKeys: [key]) : FindCoordinatorRequest(key: key, keyType: type)
        }
        let (code, node, message): (Int16, Int32, String?) = response.coordinators.first.map { ($0.errorCode, $0.nodeId, $0.errorMessage) }
            ?? (response.errorCode, response.nodeId, response.errorMessage)
        guard KafkaErrorCode(code) == .none else {
            let subject = keyType == .group ? "group \(key)" : "transactional id \(key)"
            throw .broker(KafkaErrorCode(code), api: .findCoordinator, broker: nil, topic: nil, partition: nil,
                          message: subject + (message.map { ": \($0)" } ?? ""))
        }
        return node
    }

    /// Describes groups, each asked of its coordinator.
    public func describeGroups(_ groups: [String]) async throws(KafkaClientError) -> [GroupDescription] {
        var descriptions: [GroupDescription] = []
        for group in groups {
            let node = try await coordinator(forGroup: group)
            let client = self.client
            let description: GroupDescription = try await client.withRetries(refreshing: []) {
                let response: DescribeGroupsResponse = try await client.send(to: .node(node)) { _ in DescribeGroupsRequest(groups: [group]) }
                guard let described = response.groups.first else { throw KafkaClientError.unexpected("DescribeGroups response names no group") }
                let code = KafkaErrorCode(described.errorCode)
                guard code == .none else {
                    throw KafkaClientError.broker(code, api: .describeGroups, broker: "node \(node)", topic: nil, partition: nil,
                                                  message: "group \(group)" + (described.errorMessage.map { ": \($0)" } ?? ""))
                }
                return GroupDescription(
                    groupID: described.groupId, state: described.groupState, protocolType: described.protocolType,
                    protocolName: described.protocolData,
                    members: described.members.map {
                        GroupMember(memberID: $0.memberId, groupInstanceID: $0.groupInstanceId, clientID: $0.clientId,
                                    clientHost: $0.clientHost, assignment: $0.memberAssignment)
                    })
            }
            descriptions.append(description)
        }
        return descriptions
    }
}

extension KafkaAdmin {
    /// The high watermark of every partition of `topic`, as the leaders' Fetch responses
    /// report it. Kafka's own ListOffsets(latest) answers the same; some Kafka-compatible
    /// brokers (Tansu) answer ListOffsets in batches rather than records, while their Fetch
    /// watermarks are right — so tools that must know where a partition ends ask this.
    public func highWatermarks(topic: String) async throws(KafkaClientError) -> [Int32: Int64] {
        var marks: [Int32: Int64] = [:]
        for (leader, partitions) in try await partitionsByLeader(topic: topic) {
            // Enough bytes for a batch: a broker may send nothing (and no watermark) for a
            // fetch too small to carry one.
            for data in try await fetch(topic: topic, leader: leader, offsets: partitions.map { ($0, 0) }, maxBytes: 1 << 16)
            where partitions.contains(data.partitionIndex) {
                marks[data.partitionIndex] = data.highWatermark
            }
        }
        return marks
    }

    /// The partitions of `topic` grouped by their leader's node id (metadata refreshed first).
    public func partitionsByLeader(topic: String) async throws(KafkaClientError) -> [Int32: [Int32]] {
        _ = try await client.refreshMetadata(topics: [topic])
        var byLeader: [Int32: [Int32]] = [:]
        for partition in try await client.partitions(of: topic) {
            guard partition.leaderID >= 0 else { throw .leaderNotAvailable(topic: topic, partition: partition.index) }
            byLeader[partition.leaderID, default: []].append(partition.index)
        }
        return byLeader
    }

    /// One read_uncommitted Fetch of `offsets` (partition, offset) of `topic` from `leader`,
    /// without waiting for data; a partition-level error is thrown.
    public func fetch(
        topic: String, leader: Int32, offsets: [(partition: Int32, offset: Int64)], maxBytes: Int32
    ) async throws(KafkaClientError) -> [FetchResponse.PartitionData] {
        // v4…12 name the topic (v13+ want its id); v4 is the first with per-partition watermarks.
        let response: FetchResponse = try await client.send(to: .node(leader), versions: 4...12) { _ in
            FetchRequest(maxWaitMs: 50, minBytes: 1, maxBytes: max(maxBytes, 1), isolationLevel: 0, topics: [
                .init(topic: topic, partitions: offsets.map { .init(partition: $0.partition, fetchOffset: $0.offset, partitionMaxBytes: maxBytes) }),
            ])
        }
        let code = KafkaErrorCode(response.errorCode)
        guard code == .none else {
            throw .broker(code, api: .fetch, broker: "node \(leader)", topic: topic, partition: nil, message: nil)
        }
        let partitions = response.responses.first { $0.topic == topic }?.partitions ?? []
        for data in partitions where data.errorCode != 0 {
            throw .broker(KafkaErrorCode(data.errorCode), api: .fetch, broker: "node \(leader)", topic: topic,
                          partition: data.partitionIndex, message: nil)
        }
        return partitions
    }
}

import KafkaWire

/// Reads back what is really on the topics — the records, the high watermarks, a group's
/// committed offsets and lag — with raw Fetch and OffsetFetch requests, independent of the
/// services' consumers. High watermarks come from Fetch responses, not ListOffsets, because
/// some Kafka-compatible brokers (Tansu) answer ListOffsets(latest) in batches, not records.
public struct TopicInspector: Sendable {
    public let client: KafkaClient

    public init(bootstrap: String) throws {
        client = try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-harness-inspector")
    }

    public func close() async { await client.close() }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The high watermark of every partition of `topic`.
    public func highWatermarks(_ topic: String) async throws -> [Int32: Int64] {
        let partitions = try await partitionsByLeader(topic)
        var marks: [Int32: Int64] = [:]
        for (leader, indexes) in partitions {
            let response = try await fetch(topic, leader: leader, offsets: indexes.map { ($0, 0) }, maxBytes: 1 << 16)
            for data in response where indexes.contains(data.partitionIndex) {
                marks[data.partitionIndex] = data.highWatermark
            }
        }
        return marks
    }

    /// Every record of `topic` below the high watermarks taken at the start, per partition in
    /// offset order.
    public func readAll(_ topic: String) async throws -> [ConsumerRecord] {
        let ends = try await highWatermarks(topic)
        var records: [ConsumerRecord] = []
        for (leader, indexes) in try await partitionsByLeader(topic) {
            for partition in indexes.sorted() {
                let end = ends[partition] ?? 0
                var next: Int64 = 0
                var idle = 0
                while next < end {
                    let response = try await fetch(topic, leader: leader, offsets: [(partition, next)], maxBytes: 4 << 20)
                    guard let data = response.first(where: { $0.partitionIndex == partition }) else {
                        throw Failure(description: "Fetch response does not mention \(topic)/\(partition)")
                    }
                    var reader = RecordBatchReader(data.records ?? [])
                    var progressed = false
                    while let batch = try reader.next() {
                        for record in try batch.records() where record.offset >= next && record.offset < end && !batch.header.isControl {
                            records.append(ConsumerRecord(
                                topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                                key: record.key, value: record.value, headers: record.headers))
                        }
                        next = max(next, batch.header.baseOffset + Int64(batch.header.lastOffsetDelta) + 1)
                        progressed = true
                    }
                    if !progressed {
                        idle += 1
                        if idle > 50 { throw Failure(description: "no progress reading \(topic)/\(partition) at \(next) (end \(end))") }
                    }
                }
            }
        }
        return records
    }

    /// The group's committed offsets.
    public func committed(group: String) async throws -> [TopicPartition: Int64] {
        try await KafkaAdmin(client: client).committedOffsets(group: group)
    }

    /// Records of `topics` not yet committed by `group` (high watermark − committed, a partition
    /// never committed counting from 0).
    public func lag(group: String, topics: [String]) async throws -> Int64 {
        let committed = try await committed(group: group)
        var lag: Int64 = 0
        for topic in topics {
            for (partition, end) in try await highWatermarks(topic) {
                lag += max(0, end - (committed[TopicPartition(topic, partition)] ?? 0))
            }
        }
        return lag
    }

    private func partitionsByLeader(_ topic: String) async throws -> [Int32: [Int32]] {
        _ = try await client.refreshMetadata(topics: [topic])
        var byLeader: [Int32: [Int32]] = [:]
        for partition in try await client.partitions(of: topic) {
            guard partition.leaderID >= 0 else { throw Failure(description: "\(topic)/\(partition.index) has no leader") }
            byLeader[partition.leaderID, default: []].append(partition.index)
        }
        return byLeader
    }

    private func fetch(
        _ topic: String, leader: Int32, offsets: [(Int32, Int64)], maxBytes: Int32
    ) async throws -> [FetchResponse.PartitionData] {
        // v4…12 name the topic (v13+ want its id); v4 is the first with per-partition watermarks.
        let response: FetchResponse = try await client.send(to: .node(leader), versions: 4...12) { _ in
            FetchRequest(maxWaitMs: 50, minBytes: 1, maxBytes: max(maxBytes, 1), isolationLevel: 0, topics: [
                .init(topic: topic, partitions: offsets.map { .init(partition: $0.0, fetchOffset: $0.1, partitionMaxBytes: maxBytes) }),
            ])
        }
        if response.errorCode != 0 { throw Failure(description: "Fetch \(topic): \(KafkaErrorCode(response.errorCode))") }
        let partitions = response.responses.first { $0.topic == topic }?.partitions ?? []
        for data in partitions where data.errorCode != 0 {
            throw Failure(description: "Fetch \(topic)/\(data.partitionIndex): \(KafkaErrorCode(data.errorCode))")
        }
        return partitions
    }
}

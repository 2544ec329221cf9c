import KafkaWire

/// Reads back what is really on the topics — the records, the high watermarks, a group's
/// committed offsets and lag — with raw Fetch and OffsetFetch requests, independent of the
/// services' consumers (high watermarks from Fetch: `KafkaAdmin.highWatermarks`).
public struct TopicInspector: Sendable {
    public let client: KafkaClient

    public init(bootstrap: String) throws {
        client = try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-harness-inspector")
    }

    public func close() async { await client.close() }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The high watermark of every partition of `topic` (from Fetch responses).
    public func highWatermarks(_ topic: String) async throws -> [Int32: Int64] {
        try await KafkaAdmin(client: client).highWatermarks(topic: topic)
    }

    /// Every record of `topic` below the high watermarks taken at the start, per partition in
    /// offset order.
    public func readAll(_ topic: String) async throws -> [ConsumerRecord] {
        let ends = try await highWatermarks(topic)
        var records: [ConsumerRecord] = []
        for (leader, indexes) in try await KafkaAdmin(client: client).partitionsByLeader(topic: topic) {
            for partition in indexes.sorted() {
                let end = ends[partition] ?? 0
                var next: Int64 = 0
                var idle = 0
                while next < end {
                    let response = try await KafkaAdmin(client: client).fetch(topic: topic, leader: leader, offsets: [(partition, next)], maxBytes: 4 << 20)
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

    /// The group's committed offsets for the partitions of `topic`.
    public func committed(group: String, topic: String) async throws -> [TopicPartition: Int64] {
        let partitions = try await highWatermarks(topic).keys.map { TopicPartition(topic, $0) }
        return try await KafkaAdmin(client: client).committedOffsets(group: group, partitions: partitions)
    }

    /// Records of `topics` not yet committed by `group` (high watermark − committed, a partition
    /// never committed counting from 0).
    public func lag(group: String, topics: [String]) async throws -> Int64 {
        var ends: [TopicPartition: Int64] = [:]
        for topic in topics {
            for (partition, end) in try await highWatermarks(topic) { ends[TopicPartition(topic, partition)] = end }
        }
        let committed = try await KafkaAdmin(client: client).committedOffsets(group: group, partitions: Array(ends.keys))
        return ends.reduce(0) { $0 + max(0, $1.value - (committed[$1.key] ?? 0)) }
    }
}

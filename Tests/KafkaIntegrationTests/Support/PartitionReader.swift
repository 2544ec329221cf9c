import KafkaWire
import Testing
import WireCore

/// Reads a partition back from its leader with raw Fetch requests (no consumer): every
/// record from offset 0 up to the high watermark, decoded with `RecordBatchReader`. For
/// checking what a producer really wrote (duplicates, gaps, order).
struct PartitionReader {
    struct ReadRecord: Sendable {
        var offset: Int64
        var key: String?
        var value: String?
        var producerId: Int64
        var producerEpoch: Int16
        var baseSequence: Int32
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let client: KafkaClient

    /// Every record of `topic`/`partition` below the high watermark, in offset order. Asks the
    /// leader the client's metadata names (refreshed first, as leaders move in these tests).
    func readAll(topic: String, partition: Int32, maxBytes: Int32 = 1 << 20) async throws -> [ReadRecord] {
        _ = try await client.refreshMetadata(topics: [topic])
        let leader = try await client.leader(for: topic, partition: partition).nodeID
        var records: [ReadRecord] = []
        var next: Int64 = 0
        var highWatermark: Int64 = -1
        var emptyFetches = 0
        while highWatermark < 0 || next < highWatermark {
            // v4…12 name the topic (v13+ want its id); v4 is the first with the high watermark
            // per partition alongside isolation levels.
            let response: FetchResponse = try await client.send(to: .node(leader), versions: 4...12) { _ in
                FetchRequest(maxWaitMs: 100, minBytes: 1, maxBytes: maxBytes, isolationLevel: 0, topics: [
                    .init(topic: topic, partitions: [.init(partition: partition, fetchOffset: next, partitionMaxBytes: maxBytes)]),
                ])
            }
            if response.errorCode != 0 { throw Failure(description: "Fetch: top-level error \(KafkaErrorCode(response.errorCode))") }
            guard let data = response.responses.first(where: { $0.topic == topic })?.partitions.first(where: { $0.partitionIndex == partition })
            else { throw Failure(description: "Fetch response does not mention \(topic)/\(partition)") }
            if data.errorCode != 0 {
                throw Failure(description: "Fetch \(topic)/\(partition) at \(next): \(KafkaErrorCode(data.errorCode))")
            }
            highWatermark = data.highWatermark
            var reader = RecordBatchReader(data.records ?? [])
            var progressed = false
            while let batch = try reader.next() {
                for record in try batch.records() where record.offset >= next {
                    records.append(ReadRecord(
                        offset: record.offset, key: record.key.map { String(decoding: $0, as: UTF8.self) },
                        value: record.value.map { String(decoding: $0, as: UTF8.self) },
                        producerId: batch.header.producerId, producerEpoch: batch.header.producerEpoch, baseSequence: batch.header.baseSequence))
                }
                // Control batches and compacted gaps still move the position past the batch.
                next = max(next, batch.header.baseOffset + Int64(batch.header.lastOffsetDelta) + 1)
                progressed = true
            }
            if !progressed {
                emptyFetches += 1
                if emptyFetches > 50 {
                    throw Failure(description: "no progress reading \(topic)/\(partition) at \(next) (high watermark \(highWatermark))")
                }
            }
        }
        return records
    }
}

import PropertyBased
import Testing
import WireCore

@testable import KafkaWire

/// Random record batches for round-trip properties: null and empty keys/values, headers
/// with non-ASCII keys and null values, negative timestamp deltas, offset gaps (as after
/// compaction), every compression and attribute flag.
enum RecordGenerator {
    static func batches(compression: CompressionCodec? = nil, maxRecords: Int = 20) -> Generator<RecordBatch, Shrink.None<RecordBatch>> {
        Generator { rng in batch(compression: compression, maxRecords: maxRecords, using: &rng) }
    }

    static func batch<R: RandomNumberGenerator>(compression: CompressionCodec?, maxRecords: Int, using rng: inout R) -> RecordBatch {
        let baseOffset = Int64.random(in: 0...(1 << 40), using: &rng)
        let baseTimestamp = Bool.random(using: &rng) ? Int64.random(in: 1_500_000_000_000...1_900_000_000_000, using: &rng) : -1
        let count = Int.random(in: 0...maxRecords, using: &rng)
        var records: [Record] = []
        var offset = baseOffset
        for index in 0..<count {
            if index > 0 { offset += Bool.random(using: &rng) ? 1 : Int64.random(in: 1...1000, using: &rng) }
            records.append(record(offset: offset, timestamp: baseTimestamp &+ Int64.random(in: -5000...100_000, using: &rng), using: &rng))
        }
        let lastDelta = (records.last?.offset ?? baseOffset) - baseOffset + Int64.random(in: 0...3, using: &rng)
        let attributes = RecordBatchAttributes(
            compression: compression ?? CompressionCodec.allCases.randomElement(using: &rng)!,
            timestampType: Bool.random(using: &rng) ? .createTime : .logAppendTime,
            isTransactional: Bool.random(using: &rng), isControl: Int.random(in: 0..<5, using: &rng) == 0,
            hasDeleteHorizonMs: Int.random(in: 0..<5, using: &rng) == 0)
        return RecordBatch(
            baseOffset: baseOffset, partitionLeaderEpoch: Int32.random(in: -1...1000, using: &rng), attributes: attributes,
            lastOffsetDelta: Int32(lastDelta), baseTimestamp: baseTimestamp,
            maxTimestamp: records.map(\.timestamp).max() ?? baseTimestamp,
            producerId: Bool.random(using: &rng) ? -1 : Int64.random(in: 0...Int64.max, using: &rng),
            producerEpoch: Int16.random(in: -1...Int16.max, using: &rng),
            baseSequence: Int32.random(in: -1...Int32.max, using: &rng), records: records)
    }

    static func record<R: RandomNumberGenerator>(offset: Int64, timestamp: Int64, using rng: inout R) -> Record {
        let headerCount = Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 1...4, using: &rng) : 0
        let headers = (0..<headerCount).map { _ in
            RecordHeader(key: text(using: &rng), value: nullableBytes(maxLength: 20, using: &rng))
        }
        return Record(
            offset: offset, timestamp: timestamp, key: nullableBytes(maxLength: 40, using: &rng),
            value: nullableBytes(maxLength: Int.random(in: 0..<10, using: &rng) == 0 ? 2000 : 120, using: &rng), headers: headers)
    }

    static func nullableBytes<R: RandomNumberGenerator>(maxLength: Int, using rng: inout R) -> [UInt8]? {
        if Int.random(in: 0..<5, using: &rng) == 0 { return nil }
        return bytes(count: Int.random(in: 0...maxLength, using: &rng), using: &rng)
    }

    static func bytes<R: RandomNumberGenerator>(count: Int, using rng: inout R) -> [UInt8] {
        // Half the time compressible (few distinct bytes), half noise.
        let alphabet = Bool.random(using: &rng) ? UInt8.random(in: 1...4, using: &rng) : 255
        return (0..<count).map { _ in UInt8.random(in: 0...alphabet, using: &rng) }
    }

    static func text<R: RandomNumberGenerator>(using rng: inout R) -> String {
        let pieces = ["trace-id", "é", "k", "", "ключ", "🙂", "content-type", "x"]
        return (0..<Int.random(in: 0...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }
}

/// The records section of a batch framed with a valid header and CRC, for tests that need
/// well-framed batches with broken records inside.
func framedBatch(records: [UInt8], count: Int32, compression: CompressionCodec = .none, baseOffset: Int64 = 0) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: RecordBatchHeader.size) + records
    let header = RecordBatchHeader(
        baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0,
        attributes: RecordBatchAttributes(compression: compression), lastOffsetDelta: count - 1, baseTimestamp: 0, maxTimestamp: 0,
        producerId: -1, producerEpoch: -1, baseSequence: -1, recordCount: count)
    try RecordWire.finish(&buffer, header: header, settings: CompressionSettings())
    return buffer
}

/// Every batch in `bytes` decoded to values; throws what the reader throws.
func decodeAll(_ bytes: [UInt8], options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) throws -> [RecordBatch] {
    var reader = RecordBatchReader(bytes, options: options)
    var batches: [RecordBatch] = []
    while let view = try reader.next() { batches.append(try view.recordBatch()) }
    return batches
}

/// What decoding one buffer did, comparable, never trapping.
enum BatchOutcome: Equatable {
    case batches([RecordBatch], partialBytes: Int)
    case failure(RecordBatchError)

    init(_ bytes: [UInt8], options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) {
        var reader = RecordBatchReader(bytes, options: options)
        var batches: [RecordBatch] = []
        do throws(RecordBatchError) {
            while let view = try reader.next() { batches.append(try view.recordBatch()) }
            self = .batches(batches, partialBytes: reader.partialTrailingBytes)
        } catch {
            self = .failure(error)
        }
    }
}

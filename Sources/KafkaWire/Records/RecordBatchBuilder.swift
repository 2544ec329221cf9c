import WireCore

/// Accumulates records for one partition the way a producer does, writing each record's
/// bytes as it is appended, and builds the batch (compressing, filling in the header, length
/// and CRC) when it is sent. Offsets are deltas from 0; base timestamp is the first record's.
public struct RecordBatchBuilder: Sendable {
    /// `RecordBatchHeader.size` placeholder bytes, then the uncompressed records.
    private var writer: ByteWriter
    public private(set) var count = 0
    public private(set) var baseTimestamp: Int64 = -1
    public private(set) var maxTimestamp: Int64 = -1
    private let initialCapacity: Int

    public init(capacity: Int = 16 * 1024) {
        initialCapacity = max(capacity, RecordBatchHeader.size)
        writer = ByteWriter(capacity: initialCapacity)
        writer.writeBytes(repeatElement(0 as UInt8, count: RecordBatchHeader.size))
    }

    /// A builder writing into `buffer`'s storage (its contents are dropped), so that a
    /// producer reuses the memory of batches it has finished with.
    init(reusing buffer: [UInt8], capacity: Int) {
        initialCapacity = max(capacity, RecordBatchHeader.size)
        writer = ByteWriter(capacity: 0)
        writer.bytes = buffer
        writer.bytes.removeAll(keepingCapacity: true)
        writer.reserveCapacity(initialCapacity)
        writer.writeBytes(repeatElement(0 as UInt8, count: RecordBatchHeader.size))
    }

    public var isEmpty: Bool { count == 0 }

    /// The batch's size so far before compression, header included (what `batch.size`
    /// is compared with).
    public var uncompressedSize: Int { writer.count }

    /// The bytes `append` would add for this record (for "does it still fit" decisions).
    public func sizeOfRecord(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64) -> Int {
        let body = bodySizeOfRecord(key: key, value: value, headers: headers, timestamp: timestamp)
        return RecordWire.varintSize(Int64(body)) + body
    }

    /// The record's size after its length prefix, as `append` would write it.
    @inline(__always)
    func bodySizeOfRecord(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64) -> Int {
        RecordWire.bodySize(
            timestampDelta: count == 0 ? 0 : timestamp &- baseTimestamp, offsetDelta: Int32(truncatingIfNeeded: count),
            keyCount: key?.count, valueCount: value?.count, headers: headers)
    }

    public mutating func append(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64) {
        append(key: key, value: value, headers: headers, timestamp: timestamp,
               bodySize: bodySizeOfRecord(key: key, value: value, headers: headers, timestamp: timestamp))
    }

    /// `append` with the body size already known (from `bodySizeOfRecord` for this record,
    /// with nothing appended in between).
    mutating func append(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64, bodySize body: Int) {
        if count == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        let timestampDelta = timestamp &- baseTimestamp
        let offsetDelta = Int32(truncatingIfNeeded: count)
        RecordWire.writeRecord(
            into: &writer, bodySize: body, attributes: 0, timestampDelta: timestampDelta, offsetDelta: offsetDelta,
            key: key, value: value, headers: headers)
        count += 1
    }

    /// The batch's wire bytes. The builder is left empty, ready for the next batch (with its
    /// initial capacity reserved again, or none when `reuse` is false: a producer builds
    /// each batch once and drops the builder).
    /// `baseSequence` is the producer's sequence for the first record (-1 without idempotence).
    public mutating func build(
        compression: CompressionCodec = .none, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        isTransactional: Bool = false, baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1,
        timestampType: TimestampType = .createTime, settings: CompressionSettings = CompressionSettings(),
        reuse: Bool = true
    ) throws(RecordBatchError) -> [UInt8] {
        guard count <= Int(Int32.max) else { throw .encoding(reason: "\(count) records exceed the int32 count") }
        let header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: RecordBatchAttributes(compression: compression, timestampType: timestampType, isTransactional: isTransactional),
            lastOffsetDelta: Int32(count - 1), baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: Int32(count))
        var bytes = writer.bytes
        writer = ByteWriter(capacity: 0)
        defer { reset(capacity: reuse ? initialCapacity : RecordBatchHeader.size) }
        try RecordWire.finish(&bytes, header: header, settings: settings)
        return bytes
    }

    public mutating func reset() { reset(capacity: initialCapacity) }

    private mutating func reset(capacity: Int) {
        writer = ByteWriter(capacity: capacity)
        writer.writeBytes(repeatElement(0 as UInt8, count: RecordBatchHeader.size))
        count = 0
        baseTimestamp = -1
        maxTimestamp = -1
    }
}

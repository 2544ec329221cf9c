import WireCore

/// A record header: a UTF-8 key and a nullable byte value.
public struct RecordHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// One record of a v2 batch with its absolute offset and timestamp (the batch stores them
/// as deltas from its base offset and base timestamp).
public struct Record: Sendable, Hashable {
    public var offset: Int64
    public var timestamp: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    /// The per-record attributes byte: unused by Kafka (always 0), kept so that decoding and
    /// re-encoding preserves every byte.
    public var attributes: Int8

    public init(
        offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], attributes: Int8 = 0
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
        self.attributes = attributes
    }
}

public enum TimestampType: Sendable, Equatable {
    case createTime
    case logAppendTime
}

/// The batch attributes int16: compression in bits 0–2, timestamp type bit 3, transactional
/// bit 4, control bit 5, delete-horizon bit 6. Unknown bits are kept as they came.
public struct RecordBatchAttributes: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int16

    public init(rawValue: Int16) { self.rawValue = rawValue }

    public init(
        compression: CompressionCodec = .none, timestampType: TimestampType = .createTime,
        isTransactional: Bool = false, isControl: Bool = false, hasDeleteHorizonMs: Bool = false
    ) {
        rawValue = 0
        self.compression = compression
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.hasDeleteHorizonMs = hasDeleteHorizonMs
    }

    /// Bits 0–2 as they are; values 5–7 are not codecs (`compression` is then nil).
    public var compressionBits: Int16 { rawValue & 0x07 }

    /// Nil when bits 0–2 name no known codec; setting replaces the bits.
    public var compression: CompressionCodec? {
        get { CompressionCodec(rawValue: compressionBits) }
        set { rawValue = (rawValue & ~0x07) | (newValue?.rawValue ?? 0) }
    }

    public var timestampType: TimestampType {
        get { rawValue & 0x08 != 0 ? .logAppendTime : .createTime }
        set { set(0x08, newValue == .logAppendTime) }
    }

    public var isTransactional: Bool {
        get { rawValue & 0x10 != 0 }
        set { set(0x10, newValue) }
    }

    public var isControl: Bool {
        get { rawValue & 0x20 != 0 }
        set { set(0x20, newValue) }
    }

    public var hasDeleteHorizonMs: Bool {
        get { rawValue & 0x40 != 0 }
        set { set(0x40, newValue) }
    }

    private mutating func set(_ bit: Int16, _ on: Bool) {
        rawValue = on ? rawValue | bit : rawValue & ~bit
    }

    public var description: String {
        var parts = ["compression=\(compression.map { "\($0)" } ?? "unknown(\(compressionBits))")"]
        if timestampType == .logAppendTime { parts.append("logAppendTime") }
        if isTransactional { parts.append("transactional") }
        if isControl { parts.append("control") }
        if hasDeleteHorizonMs { parts.append("deleteHorizon") }
        return parts.joined(separator: ",")
    }
}

/// The fixed 61-byte header of a v2 record batch, as read from the wire.
public struct RecordBatchHeader: Sendable, Hashable {
    public var baseOffset: Int64
    /// Bytes after this field: the batch occupies `12 + batchLength` bytes.
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    /// CRC-32C of everything from `attributes` to the end of the batch.
    public var crc: UInt32
    public var attributes: RecordBatchAttributes
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    public init(
        baseOffset: Int64, batchLength: Int32, partitionLeaderEpoch: Int32, magic: Int8, crc: UInt32,
        attributes: RecordBatchAttributes, lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64,
        producerId: Int64, producerEpoch: Int16, baseSequence: Int32, recordCount: Int32
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    public static let size = 61

    /// The offset of the last record (compaction may have removed it, the batch keeps it).
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }
    /// Where a consumer continues after this batch.
    public var nextOffset: Int64 { lastOffset &+ 1 }
    /// The whole batch's size in bytes, header included.
    public var totalSize: Int { 12 + Int(batchLength) }
    public var isTransactional: Bool { attributes.isTransactional }
    public var isControl: Bool { attributes.isControl }
    /// The last sequence number, wrapping at Int32.max as Kafka's does.
    public var lastSequence: Int32 {
        guard baseSequence >= 0 else { return -1 }
        let last = Int64(baseSequence) + Int64(lastOffsetDelta)
        return Int32(truncatingIfNeeded: last > Int64(Int32.max) ? last - Int64(Int32.max) - 1 : last)
    }
}

/// A whole v2 record batch as values: header fields and materialized records. Encoding
/// computes batchLength, CRC and record count; `compression` comes from `attributes`.
public struct RecordBatch: Sendable, Hashable {
    public var baseOffset: Int64
    public var partitionLeaderEpoch: Int32
    public var attributes: RecordBatchAttributes
    /// Kept explicitly: after compaction it can exceed the last remaining record's delta.
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var records: [Record]

    public init(
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1, attributes: RecordBatchAttributes = RecordBatchAttributes(),
        lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64, producerId: Int64 = -1,
        producerEpoch: Int16 = -1, baseSequence: Int32 = -1, records: [Record]
    ) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    /// A batch whose deltas and timestamps are derived from `records` (offsets relative to
    /// `baseOffset`, base timestamp the first record's, max timestamp the largest).
    public init(
        baseOffset: Int64 = 0, records: [Record], compression: CompressionCodec = .none,
        producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        isTransactional: Bool = false, isControl: Bool = false, partitionLeaderEpoch: Int32 = -1
    ) {
        let lastOffset = records.map(\.offset).max() ?? baseOffset &- 1
        self.init(
            baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: RecordBatchAttributes(compression: compression, isTransactional: isTransactional, isControl: isControl),
            lastOffsetDelta: Int32(truncatingIfNeeded: lastOffset &- baseOffset),
            baseTimestamp: records.first?.timestamp ?? -1, maxTimestamp: records.map(\.timestamp).max() ?? -1,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence, records: records)
    }

    public var compression: CompressionCodec? { attributes.compression }
    public var isTransactional: Bool { attributes.isTransactional }
    public var isControl: Bool { attributes.isControl }
}

extension RecordBatchHeader {
    /// The timestamp a consumer reports for a record of this batch: with log-append time the
    /// broker's time (`maxTimestamp`) for every record, as the Java client does; otherwise the
    /// producer's timestamp as encoded.
    public func timestamp(ofRecordWithTimestamp encoded: Int64) -> Int64 {
        attributes.timestampType == .logAppendTime ? maxTimestamp : encoded
    }

    /// Overwrites baseOffset and partitionLeaderEpoch of the batch at `start` in place, as a
    /// broker (or a fake one) does when appending a produced batch to its log. Neither field
    /// is covered by the CRC, so the batch stays valid. False if no v2 batch header is there.
    @discardableResult
    public static func assign(baseOffset: Int64, partitionLeaderEpoch: Int32, in bytes: inout [UInt8], at start: Int = 0) -> Bool {
        guard start >= 0, bytes.count - start >= RecordBatchHeader.size, bytes[start + 16] == 2 else { return false }
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: baseOffset.bigEndian, toByteOffset: start, as: Int64.self)
            raw.storeBytes(of: partitionLeaderEpoch.bigEndian, toByteOffset: start + 12, as: Int32.self)
        }
        return true
    }

    /// Overwrites producer id, epoch and base sequence of the batch at `start` in place and
    /// recomputes its CRC (which covers them), as an idempotent producer does when it must
    /// resend a built batch under a new epoch or sequence. False if no v2 batch header is there.
    @discardableResult
    public static func assign(
        producerId: Int64, producerEpoch: Int16, baseSequence: Int32, in bytes: inout [UInt8], at start: Int = 0
    ) -> Bool {
        guard start >= 0, bytes.count - start >= RecordBatchHeader.size, bytes[start + 16] == 2 else { return false }
        let length = Int(Int32(bigEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start + 8, as: Int32.self) }))
        let end = start + 12 + length
        guard length >= RecordBatchHeader.size - 12, end <= bytes.count else { return false }
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: producerId.bigEndian, toByteOffset: start + 43, as: Int64.self)
            raw.storeBytes(of: producerEpoch.bigEndian, toByteOffset: start + 51, as: Int16.self)
            raw.storeBytes(of: baseSequence.bigEndian, toByteOffset: start + 53, as: Int32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + RecordWire.crcStart)..<end]))
            raw.storeBytes(of: crc.bigEndian, toByteOffset: start + RecordWire.crcOffset, as: UInt32.self)
        }
        return true
    }
}

import WireCore

/// Why a record batch could not be decoded (or, for `.encoding`, encoded). Offsets are
/// indices into the buffer that was being decoded.
public enum RecordBatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Magic 0 or 1: the message sets of Kafka < 0.11.
    case legacyMessageFormat(magic: Int8, offset: Int)
    /// A magic byte that is no known format (corruption, or a future format).
    case unknownMagic(Int8, offset: Int)
    /// batchLength smaller than the fixed header, or negative.
    case invalidBatchLength(Int32, offset: Int)
    /// A single batch (not a fetch blob, where a partial trailing batch is normal) ends early.
    case truncatedBatch(needed: Int, available: Int, offset: Int)
    case crcMismatch(expected: UInt32, actual: UInt32, baseOffset: Int64)
    case unknownCompression(bits: Int16, baseOffset: Int64)
    case compression(CompressionError, baseOffset: Int64)
    case invalidRecordCount(Int32, baseOffset: Int64)
    /// The records section ended after `found` of the `declared` records.
    case recordCountMismatch(declared: Int, found: Int, baseOffset: Int64)
    /// Record `index` of the batch is not a valid record.
    case malformedRecord(index: Int, WireDecodingError, baseOffset: Int64)
    /// Bytes left in the records section after the declared records.
    case trailingBytes(count: Int, baseOffset: Int64)
    /// A control record whose key or value is not a valid control record.
    case malformedControlRecord(reason: String)
    /// The batch cannot be encoded as given (an offset too far from the base offset, a
    /// field too long for its length prefix, a compressor failure).
    case encoding(reason: String)

    public var description: String {
        switch self {
        case let .legacyMessageFormat(magic, offset):
            return "legacy message format v0/v1 is not supported; Kafka 4 brokers never send it (magic \(magic) at offset \(offset))"
        case let .unknownMagic(magic, offset):
            return "unknown record batch magic \(magic) at offset \(offset) (only v2 is supported)"
        case let .invalidBatchLength(length, offset):
            return "invalid batchLength \(length) at offset \(offset) (a v2 batch has at least \(RecordBatchHeader.size - 12))"
        case let .truncatedBatch(needed, available, offset):
            return "record batch at offset \(offset) is truncated: \(needed) bytes needed, \(available) available"
        case let .crcMismatch(expected, actual, baseOffset):
            return "record batch at base offset \(baseOffset) is corrupt: CRC-32C is 0x\(hex(actual)), the batch says 0x\(hex(expected))"
        case let .unknownCompression(bits, baseOffset):
            return "record batch at base offset \(baseOffset) uses unknown compression \(bits)"
        case let .compression(error, baseOffset):
            return "record batch at base offset \(baseOffset): \(error)"
        case let .invalidRecordCount(count, baseOffset):
            return "record batch at base offset \(baseOffset) declares \(count) records"
        case let .recordCountMismatch(declared, found, baseOffset):
            return "record batch at base offset \(baseOffset) declares \(declared) records but holds \(found)"
        case let .malformedRecord(index, error, baseOffset):
            return "record \(index) of the batch at base offset \(baseOffset): \(error)"
        case let .trailingBytes(count, baseOffset):
            return "record batch at base offset \(baseOffset) has \(count) bytes after its last record"
        case let .malformedControlRecord(reason):
            return "malformed control record: \(reason)"
        case let .encoding(reason):
            return "cannot encode record batch: \(reason)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// Limits and checks for decoding record batches.
public struct RecordBatchDecodingOptions: Sendable, Equatable {
    /// Verify each batch's CRC-32C (on by default, as `check.crcs` in the Java client).
    public var verifyCRC: Bool
    /// The most bytes one compressed batch may decompress to.
    public var maxDecompressedBytes: Int

    public init(verifyCRC: Bool = true, maxDecompressedBytes: Int = 64 << 20) {
        self.verifyCRC = verifyCRC
        self.maxDecompressedBytes = maxDecompressedBytes
    }
}

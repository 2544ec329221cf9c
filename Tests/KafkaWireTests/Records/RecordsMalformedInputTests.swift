import Testing
import WireCore

@testable import KafkaWire

/// Truncated, corrupt and hostile input: always a typed error or a clean partial-batch
/// stop, never a trap, never an allocation sized by an untrusted length.
@Suite struct RecordsMalformedInputTests {
    static func sampleBatch(_ codec: CompressionCodec) throws -> [UInt8] {
        var builder = RecordBatchBuilder()
        for index in 0..<12 {
            builder.append(
                key: index % 3 == 0 ? nil : Array("key-\(index)".utf8), value: Array(repeating: UInt8(index), count: index * 7),
                headers: index % 4 == 0 ? [RecordHeader(key: "h\(index)", value: index % 8 == 0 ? nil : [1, 2, 3])] : [],
                timestamp: 1_700_000_000_000 + Int64(index))
        }
        return try builder.build(compression: codec, producerId: 7, producerEpoch: 0, baseSequence: 0, baseOffset: 40)
    }

    @Test(arguments: CompressionCodec.allCases)
    func truncationAtEveryPositionIsAPartialBatchOrATypedError(codec: CompressionCodec) throws {
        let bytes = try Self.sampleBatch(codec)
        let whole = try RecordBatchView.decode(bytes).recordBatch()
        let second = try Self.sampleBatch(.none)
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            // As a fetch response's records: nothing decoded, the partial bytes reported.
            #expect(BatchOutcome(prefix) == .batches([], partialBytes: cut), "cut at \(cut)")
            // After a complete batch.
            let after = second + prefix
            #expect(BatchOutcome(after) == .batches([try RecordBatchView.decode(second).recordBatch()], partialBytes: cut))
            // As a single batch: a typed truncation error.
            #expect(throws: RecordBatchError.self) { try RecordBatchView.decode(prefix) }
            do {
                _ = try RecordBatchView.decode(prefix)
            } catch {
                guard case .truncatedBatch = error else {
                    Issue.record("cut at \(cut): \(error)")
                    continue
                }
            }
        }
        #expect(BatchOutcome(bytes) == .batches([whole], partialBytes: 0))
    }

    /// The records section cut at every position inside a well-framed batch (valid CRC).
    @Test(arguments: CompressionCodec.allCases)
    func truncatedRecordsInsideAValidFrameAreTypedErrors(codec: CompressionCodec) throws {
        let view = try RecordBatchView.decode(try Self.sampleBatch(.none))
        let records = Array(view.recordBytes[view.recordRange])
        for cut in 0..<records.count {
            let batch = try framedBatch(records: Array(records[..<cut]), count: view.header.recordCount, compression: codec)
            let outcome = BatchOutcome(batch)
            switch outcome {
            case .failure(.malformedRecord), .failure(.recordCountMismatch):
                break
            default:
                Issue.record("\(codec) records cut at \(cut): \(outcome)")
            }
        }
        // Too few declared records: trailing bytes.
        let fewer = try framedBatch(records: records, count: view.header.recordCount - 1, compression: codec)
        #expect(BatchOutcome(fewer) == .failure(.trailingBytes(count: records.count - lengthOfLastRecord(records), baseOffset: 0)))
    }

    func lengthOfLastRecord(_ records: [UInt8]) -> Int {
        var reader = ByteReader(records)
        var start = 0
        while !reader.isAtEnd {
            start = reader.readerIndex
            let length = try! reader.readVarint32()
            try! reader.skip(Int(length))
        }
        return start
    }

    @Test(arguments: CompressionCodec.allCases)
    func corruptionAtEveryByteIsATypedErrorOrADecodedBatch(codec: CompressionCodec) throws {
        let bytes = try Self.sampleBatch(codec)
        for verifyCRC in [true, false] {
            let options = RecordBatchDecodingOptions(verifyCRC: verifyCRC, maxDecompressedBytes: 1 << 20)
            for index in 0..<bytes.count {
                for flip: UInt8 in [0x01, 0x40, 0xFF] {
                    var corrupt = bytes
                    corrupt[index] ^= flip
                    let outcome = BatchOutcome(corrupt, options: options)
                    if verifyCRC && index >= 21 {
                        // Everything after the CRC field is covered by it.
                        guard case .failure(.crcMismatch) = outcome else {
                            Issue.record("\(codec) flip \(flip) at \(index) gave \(outcome)")
                            continue
                        }
                    }
                }
            }
        }
    }

    @Test func hostileLengthsAreBoundedByTheInput() throws {
        // A record claiming 2^31 - 1 bytes, a key claiming 2^31 - 1 bytes, a count of 2^31 - 1 records.
        let hugeRecord: [UInt8] = [0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0, 0, 0]
        let hugeOutcome = BatchOutcome(try framedBatch(records: hugeRecord, count: 1))
        #expect(hugeOutcome == .failure(.malformedRecord(index: 0, .truncated(field: "record", needed: Int(Int32.max), available: 6, offset: 66), baseOffset: 0)), "\(hugeOutcome)")
        let hugeKey: [UInt8] = [0x12, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 1, 0]
        #expect(throws: RecordBatchError.self) { try decodeAll(try framedBatch(records: hugeKey, count: 1)) }
        let manyRecords = try framedBatch(records: [0x0C, 0, 0, 0, 1, 1, 0], count: Int32.max)
        #expect(BatchOutcome(manyRecords) == .failure(.recordCountMismatch(declared: Int(Int32.max), found: 1, baseOffset: 0)))
        let view = try RecordBatchView.decode(manyRecords)
        #expect(throws: RecordBatchError.self) { try view.records() }
        let negativeCount = try framedBatch(records: [], count: -5)
        #expect(BatchOutcome(negativeCount) == .failure(.invalidRecordCount(-5, baseOffset: 0)))
        // A header count far beyond the bytes.
        let manyHeaders: [UInt8] = [0x10, 0, 0, 0, 1, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(throws: RecordBatchError.self) { try decodeAll(try framedBatch(records: manyHeaders, count: 1)) }
        // Negative lengths other than -1.
        let negativeKey: [UInt8] = [0x0C, 0, 0, 0, 0x03, 1, 0]
        #expect(throws: RecordBatchError.self) { try decodeAll(try framedBatch(records: negativeKey, count: 1)) }
        let nullHeaderKey: [UInt8] = [0x10, 0, 0, 0, 1, 1, 2, 1, 1]
        #expect(throws: RecordBatchError.self) { try decodeAll(try framedBatch(records: nullHeaderKey, count: 1)) }
    }

    @Test func invalidFramingIsATypedError() throws {
        var bytes = try Self.sampleBatch(.none)
        // batchLength below the header size.
        var short = bytes
        short.replaceSubrange(8..<12, with: [0, 0, 0, 10])
        #expect(BatchOutcome(short) == .failure(.invalidBatchLength(10, offset: 0)))
        var negative = bytes
        negative.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(BatchOutcome(negative) == .failure(.invalidBatchLength(-1, offset: 0)))
        // A batchLength beyond the input is a partial batch for the reader.
        var long = bytes
        long.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(BatchOutcome(long) == .batches([], partialBytes: bytes.count))
        // Unknown magic.
        bytes[16] = 3
        #expect(BatchOutcome(bytes) == .failure(.unknownMagic(3, offset: 0)))
    }

    @Test func unknownCompressionBitsAreATypedError() throws {
        var bytes = try Self.sampleBatch(.none)
        bytes[22] |= 0x07
        let crc = CRC32C.checksum(bytes[21...])
        bytes.replaceSubrange(17..<21, with: [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)])
        #expect(BatchOutcome(bytes) == .failure(.unknownCompression(bits: 7, baseOffset: 40)))
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func decompressionBombsStopAtTheLimit(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder()
        for _ in 0..<64 { builder.append(key: nil, value: [UInt8](repeating: 0, count: 64 * 1024), timestamp: 0) }
        let bytes = try builder.build(compression: codec)
        #expect(bytes.count < 200_000)
        let outcome = BatchOutcome(bytes, options: RecordBatchDecodingOptions(maxDecompressedBytes: 1 << 20))
        #expect(outcome == .failure(.compression(.outputLimitExceeded(codec: codec, limit: 1 << 20), baseOffset: 0)))
        #expect(throws: Never.self) { try decodeAll(bytes) }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func corruptCompressedRecordsAreATypedError(codec: CompressionCodec) throws {
        let garbage: [UInt8] = Array("this is not \(codec) data, not at all".utf8)
        let batch = try framedBatch(records: garbage, count: 1, compression: .none)
        // Re-frame the same bytes claiming the codec.
        var claimed = batch
        claimed[22] = UInt8(codec.rawValue)
        let crc = CRC32C.checksum(claimed[21...])
        claimed.replaceSubrange(17..<21, with: [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)])
        guard case .failure(.compression) = BatchOutcome(claimed) else {
            Issue.record("\(codec): \(BatchOutcome(claimed))")
            return
        }
    }

    @Test func readerStopsAfterAnError() throws {
        var bytes = try Self.sampleBatch(.none)
        bytes[30] ^= 1
        var reader = RecordBatchReader(bytes + bytes)
        #expect(throws: RecordBatchError.self) { try reader.next() }
        #expect(try reader.next() == nil)
    }

    @Test func emptyInputIsNoBatches() {
        #expect(BatchOutcome([]) == .batches([], partialBytes: 0))
    }
}

extension RecordBatchView: Equatable {
    public static func == (lhs: RecordBatchView, rhs: RecordBatchView) -> Bool {
        lhs.header == rhs.header && lhs.recordBytes[lhs.recordRange] == rhs.recordBytes[rhs.recordRange]
    }
}

import Testing
import WireCore

@testable import KafkaWire

/// Batches written out field by field from the protocol documentation (the CRC computed
/// with an independent bitwise CRC-32C), compared with what the encoder writes and decoded.
@Suite struct RecordsGoldenBatchTests {
    /// Two records: ("k", "v1", header h=x) at offset 5, (null key, empty value) at offset 6.
    static let transactionalBatch: [UInt8] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // baseOffset 5
        0x00, 0x00, 0x00, 0x46,  // batchLength 70 (82 bytes - 12)
        0x00, 0x00, 0x00, 0x07,  // partitionLeaderEpoch 7
        0x02,  // magic 2
        0x96, 0xF5, 0x50, 0xCD,  // crc (CRC-32C of attributes...end)
        0x00, 0x10,  // attributes: no compression, create time, transactional
        0x00, 0x00, 0x00, 0x01,  // lastOffsetDelta 1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // baseTimestamp 1000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xEB,  // maxTimestamp 1003
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,  // producerId 42
        0x00, 0x01,  // producerEpoch 1
        0x00, 0x00, 0x00, 0x0A,  // baseSequence 10
        0x00, 0x00, 0x00, 0x02,  // records count 2
        // record 0
        0x1A,  // length 13 (zigzag varint)
        0x00,  // attributes
        0x00,  // timestampDelta 0
        0x00,  // offsetDelta 0
        0x02, 0x6B,  // key length 1, "k"
        0x04, 0x76, 0x31,  // value length 2, "v1"
        0x02,  // 1 header
        0x02, 0x68,  // header key length 1, "h"
        0x02, 0x78,  // header value length 1, "x"
        // record 1
        0x0C,  // length 6
        0x00,  // attributes
        0x06,  // timestampDelta 3
        0x02,  // offsetDelta 1
        0x01,  // key length -1: null
        0x00,  // value length 0: empty
        0x00,  // no headers
    ]

    static let transactionalValue = RecordBatch(
        baseOffset: 5, partitionLeaderEpoch: 7, attributes: RecordBatchAttributes(isTransactional: true),
        lastOffsetDelta: 1, baseTimestamp: 1000, maxTimestamp: 1003, producerId: 42, producerEpoch: 1, baseSequence: 10,
        records: [
            Record(offset: 5, timestamp: 1000, key: Array("k".utf8), value: Array("v1".utf8), headers: [RecordHeader(key: "h", value: Array("x".utf8))]),
            Record(offset: 6, timestamp: 1003, key: nil, value: []),
        ])

    /// A commit marker (coordinator epoch 3) at offset 9.
    static let commitMarkerBatch: [UInt8] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  // baseOffset 9
        0x00, 0x00, 0x00, 0x42,  // batchLength 66
        0x00, 0x00, 0x00, 0x07,  // partitionLeaderEpoch 7
        0x02,  // magic
        0x69, 0xA1, 0x87, 0x34,  // crc
        0x00, 0x30,  // attributes: transactional, control
        0x00, 0x00, 0x00, 0x00,  // lastOffsetDelta 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xD0,  // baseTimestamp 2000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xD0,  // maxTimestamp 2000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,  // producerId 42
        0x00, 0x01,  // producerEpoch 1
        0xFF, 0xFF, 0xFF, 0xFF,  // baseSequence -1
        0x00, 0x00, 0x00, 0x01,  // 1 record
        0x20,  // length 16
        0x00, 0x00, 0x00,  // attributes, timestampDelta, offsetDelta
        0x08, 0x00, 0x00, 0x00, 0x01,  // key: version 0, type 1 (commit)
        0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // value: version 0, coordinatorEpoch 3
        0x00,  // no headers
    ]

    @Test func encoderWritesTheDocumentedBytes() throws {
        #expect(try Self.transactionalValue.encode() == Self.transactionalBatch)
    }

    @Test func decoderReadsTheDocumentedBytes() throws {
        let view = try RecordBatchView.decode(Self.transactionalBatch)
        #expect(view.header.batchLength == 70)
        #expect(view.header.crc == 0x96F5_50CD)
        #expect(view.header.magic == 2)
        #expect(view.header.recordCount == 2)
        #expect(view.header.lastOffset == 6)
        #expect(view.header.nextOffset == 7)
        #expect(view.header.lastSequence == 11)
        #expect(view.header.isTransactional && !view.header.isControl)
        #expect(try view.recordBatch() == Self.transactionalValue)
        let (batch, end) = try RecordBatch.decode(Self.transactionalBatch)
        #expect(batch == Self.transactionalValue)
        #expect(end == Self.transactionalBatch.count)
    }

    @Test func lazyIteratorGivesSlicesOfTheInput() throws {
        let view = try RecordBatchView.decode(Self.transactionalBatch)
        var iterator = view.makeRecordIterator()
        let first = try #require(try iterator.next())
        #expect(first.offset == 5 && first.timestamp == 1000)
        #expect(first.key.map(Array.init) == Array("k".utf8))
        #expect(first.value.map(Array.init) == Array("v1".utf8))
        #expect(first.headerCount == 1)
        var seen: [(String, [UInt8]?)] = []
        first.forEachHeader { key, value in seen.append((String(decoding: key, as: UTF8.self), value.map(Array.init))) }
        #expect(seen.count == 1 && seen[0].0 == "h" && seen[0].1 == Array("x".utf8))
        // Uncompressed: the slices point into the input buffer, no copy.
        #expect(first.key?.startIndex == 61 + 5)
        let second = try #require(try iterator.next())
        #expect(second.offset == 6 && second.timestamp == 1003 && second.key == nil && second.value?.isEmpty == true)
        #expect(try iterator.next() == nil)
        #expect(try iterator.next() == nil)
    }

    @Test func commitMarker() throws {
        let marker = EndTransactionMarker(.commit, coordinatorEpoch: 3)
        let batch = marker.batch(producerId: 42, producerEpoch: 1, baseOffset: 9, timestamp: 2000, partitionLeaderEpoch: 7)
        #expect(try batch.encode() == Self.commitMarkerBatch)
        let decoded = try RecordBatchView.decode(Self.commitMarkerBatch)
        #expect(decoded.header.isControl && decoded.header.isTransactional)
        let records = try decoded.records()
        #expect(records.count == 1)
        #expect(try EndTransactionMarker(record: records[0]) == marker)
        #expect(try ControlRecordKey(decoding: records[0].key!) == ControlRecordKey(version: 0, type: 1))
    }

    @Test func abortMarkerRoundTrips() throws {
        let marker = EndTransactionMarker(.abort, coordinatorEpoch: 77)
        let bytes = try marker.batch(producerId: 1, producerEpoch: 0, timestamp: 5).encode()
        let records = try RecordBatchView.decode(bytes).records()
        #expect(try EndTransactionMarker(record: records[0]) == marker)
    }

    @Test func malformedControlRecordsAreTypedErrors() {
        let short = Record(offset: 0, timestamp: 0, key: [0, 0, 0], value: [0, 0, 0, 0, 0, 1])
        #expect(throws: RecordBatchError.self) { try EndTransactionMarker(record: short) }
        let otherType = Record(offset: 0, timestamp: 0, key: [0, 0, 0, 3], value: [0, 0, 0, 0, 0, 1])
        #expect(throws: RecordBatchError.self) { try EndTransactionMarker(record: otherType) }
        let nullValue = Record(offset: 0, timestamp: 0, key: [0, 0, 0, 1], value: nil)
        #expect(throws: RecordBatchError.self) { try EndTransactionMarker(record: nullValue) }
    }

    @Test func builderWritesTheSameBytesAsTheValue() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: Array("k".utf8), value: Array("v1".utf8), headers: [RecordHeader(key: "h", value: Array("x".utf8))], timestamp: 1000)
        builder.append(key: nil, value: [], timestamp: 1003)
        #expect(builder.count == 2)
        #expect(builder.uncompressedSize == Self.transactionalBatch.count)
        let bytes = try builder.build(
            producerId: 42, producerEpoch: 1, baseSequence: 10, isTransactional: true, baseOffset: 5, partitionLeaderEpoch: 7)
        #expect(bytes == Self.transactionalBatch)
        #expect(builder.isEmpty)
    }

    @Test func assigningBaseOffsetAndLeaderEpochKeepsTheCRCValid() throws {
        var bytes = Self.transactionalBatch + Self.commitMarkerBatch
        #expect(RecordBatchHeader.assign(baseOffset: 1_000, partitionLeaderEpoch: 12, in: &bytes, at: Self.transactionalBatch.count))
        let batches = try decodeAll(bytes)
        #expect(batches.count == 2)
        #expect(batches[1].baseOffset == 1_000 && batches[1].partitionLeaderEpoch == 12)
        #expect(batches[1].records.map(\.offset) == [1_000])
        #expect(!RecordBatchHeader.assign(baseOffset: 1, partitionLeaderEpoch: 1, in: &bytes, at: bytes.count - 10))
    }

    @Test func logAppendTimeGivesEveryRecordTheBrokersTime() throws {
        var batch = Self.transactionalValue
        batch.attributes.timestampType = .logAppendTime
        batch.maxTimestamp = 99_999
        let view = try RecordBatchView.decode(try batch.encode())
        let records = try view.records()
        #expect(records.map { view.header.timestamp(ofRecordWithTimestamp: $0.timestamp) } == [99_999, 99_999])
        let createTime = try RecordBatchView.decode(Self.transactionalBatch)
        #expect(try createTime.records().map { createTime.header.timestamp(ofRecordWithTimestamp: $0.timestamp) } == [1000, 1003])
    }

    @Test func attributes() {
        var attributes = RecordBatchAttributes(rawValue: 0)
        attributes.compression = .zstd
        attributes.isControl = true
        attributes.timestampType = .logAppendTime
        #expect(attributes.rawValue == 0x2C)
        attributes.compression = .gzip
        #expect(attributes.rawValue == 0x29)
        attributes.isControl = false
        attributes.hasDeleteHorizonMs = true
        attributes.isTransactional = true
        #expect(attributes.rawValue == 0x59)
        #expect(RecordBatchAttributes(rawValue: 0x07).compression == nil)
    }

    @Test func legacyMessageSetsAreRefused() {
        // A v1 message: offset, size, crc, magic 1, ...
        var legacy: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0x12, 0x34, 0x56, 0x78, 0x01]
        legacy += [UInt8](repeating: 0, count: 30)
        #expect(throws: RecordBatchError.legacyMessageFormat(magic: 1, offset: 0)) { try RecordBatchView.decode(legacy) }
        legacy[16] = 0
        #expect(throws: RecordBatchError.legacyMessageFormat(magic: 0, offset: 0)) { try decodeAll(legacy) }
        let description = RecordBatchError.legacyMessageFormat(magic: 0, offset: 0).description
        #expect(description.contains("legacy message format v0/v1 is not supported; Kafka 4 brokers never send it"))
        // After a good batch too.
        let mixed = Self.transactionalBatch + legacy
        #expect(BatchOutcome(mixed) == .failure(.legacyMessageFormat(magic: 0, offset: Self.transactionalBatch.count)))
    }

    @Test func crcMismatchNamesBothValues() {
        var corrupt = Self.transactionalBatch
        corrupt[69] ^= 0x01  // "v1" becomes "v0"
        do {
            _ = try RecordBatchView.decode(corrupt)
            Issue.record("decoded a corrupt batch")
        } catch {
            guard case let .crcMismatch(expected, actual, baseOffset) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(expected == 0x96F5_50CD && actual != expected && baseOffset == 5)
        }
        // With CRC checks off the (still well-formed) batch decodes.
        #expect(throws: Never.self) { try RecordBatchView.decode(corrupt, options: RecordBatchDecodingOptions(verifyCRC: false)).records() }
    }
}

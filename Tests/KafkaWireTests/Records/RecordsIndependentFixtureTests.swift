import Testing
import WireCore

@testable import KafkaWire

/// Batches encoded by an independent Python encoder and compressed by independent tools.
@Suite struct RecordsIndependentFixtureTests {
    static let expectedRecords: [Record] = [
        Record(offset: 100, timestamp: 1_700_000_000_000, key: Array("key-0".utf8), value: Array("value-0".utf8)),
        Record(
            offset: 101, timestamp: 1_700_000_000_005, key: nil, value: Array("value-1 with a null key".utf8),
            headers: [RecordHeader(key: "trace", value: Array("abc".utf8)), RecordHeader(key: "empty", value: nil)]),
        Record(offset: 102, timestamp: 1_699_999_999_997, key: Array("key-2".utf8), value: nil),
        Record(
            offset: 103, timestamp: 1_700_000_001_000, key: Array("k".utf8), value: [UInt8](repeating: 0x76, count: 300),
            headers: [RecordHeader(key: "h", value: [])]),
    ]

    @Test func uncompressedFixtureMatchesOurEncoding() throws {
        let view = try RecordBatchView.decode(IndependentFixtures.batchNone)
        #expect(try view.records() == Self.expectedRecords)
        #expect(try view.recordBatch().encode() == IndependentFixtures.batchNone)
        #expect(Array(view.recordBytes[view.recordRange]) == IndependentFixtures.records)
    }

    @Test func compressedFixturesDecode() throws {
        let fixtures: [(CompressionCodec, [UInt8])] = [
            (.gzip, IndependentFixtures.batchGzip),
            (.snappy, IndependentFixtures.batchSnappyXerial),
            (.snappy, IndependentFixtures.batchSnappyRaw),
            (.lz4, IndependentFixtures.batchLz4),
            (.zstd, IndependentFixtures.batchZstd),
        ]
        for (codec, bytes) in fixtures {
            let view = try RecordBatchView.decode(bytes)
            #expect(view.header.attributes.compression == codec)
            #expect(view.header.producerId == 4242 && view.header.producerEpoch == 3 && view.header.baseSequence == 17)
            #expect(view.header.partitionLeaderEpoch == 9)
            #expect(try view.records() == Self.expectedRecords, "\(codec)")
            // Our re-encoding decodes to the same batch.
            let batch = try view.recordBatch()
            #expect(try RecordBatchView.decode(try batch.encode()).recordBatch() == batch)
        }
        // All of them in one fetch blob.
        let blob = fixtures.flatMap { $0.1 } + IndependentFixtures.batchNone
        #expect(try decodeAll(blob).count == fixtures.count + 1)
    }
}

import Testing

@testable import KafkaWire

/// The benchmark runs and decodes what it encoded (no timing assertions: figures on shared
/// machines mean nothing in a test).
@Suite struct RecordsBenchmarkSmokeTests {
    @Test(arguments: CompressionCodec.allCases)
    func encodeDecodeRuns(codec: CompressionCodec) throws {
        let result = try RecordBatchBenchmarks.encodeDecode(records: 2500, size: 100, batchRecords: 1000, compression: codec)
        #expect(result.records == 2500)
        #expect(result.decodedBytes == 2500 * 100 + (0..<2500).reduce(0) { $0 + min(16, "key-\($1 % 1000)-0123456789ab".utf8.count) })
        #expect(result.encodedBytes > 0)
        #expect(!result.description.isEmpty)
    }
}

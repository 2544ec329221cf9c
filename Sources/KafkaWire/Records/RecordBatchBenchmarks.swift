/// Throughput of building and decoding record batches, for `lab bench` and profiling.
/// Figures swing between runs on shared machines; compare ratios measured in one run.
public enum RecordBatchBenchmarks {
    public struct Result: Sendable, CustomStringConvertible {
        public var records: Int
        public var valueSize: Int
        public var compression: CompressionCodec
        public var encodedBytes: Int
        /// Key and value bytes seen by the decoder (also keeps the decoding from being optimized away).
        public var decodedBytes: Int
        public var encodeSeconds: Double
        public var decodeSeconds: Double

        public var encodeRecordsPerSecond: Double { Double(records) / max(encodeSeconds, 1e-9) }
        public var decodeRecordsPerSecond: Double { Double(records) / max(decodeSeconds, 1e-9) }

        public var description: String {
            let encode = Int(encodeRecordsPerSecond), decode = Int(decodeRecordsPerSecond)
            return "records=\(records) size=\(valueSize) compression=\(compression) wire=\(encodedBytes)B "
                + "encode=\(encode) rec/s decode=\(decode) rec/s"
        }
    }

    /// Builds `records` records of `size`-byte values (16-byte keys) in batches of
    /// `batchRecords`, then decodes every batch through the lazy iterator, touching each
    /// key and value (`verifyCRC: false` shows what the CRC-32C check costs). Throws only if
    /// the codec itself fails.
    public static func encodeDecode(
        records: Int, size: Int, batchRecords: Int = 1000, compression: CompressionCodec = .none, verifyCRC: Bool = true
    ) throws(RecordBatchError) -> Result {
        let options = RecordBatchDecodingOptions(verifyCRC: verifyCRC)
        let clock = ContinuousClock()
        var value = [UInt8](repeating: 0, count: size)
        for index in value.indices { value[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        let keys = (0..<batchRecords).map { index in Array("key-\(index)-0123456789ab".utf8.prefix(16)) }
        var builder = RecordBatchBuilder(capacity: batchRecords * (size + 32) + 128)
        var batches: [[UInt8]] = []
        var encodedBytes = 0
        let encodeStart = clock.now
        var remaining = records
        var timestamp: Int64 = 1_700_000_000_000
        while remaining > 0 {
            let n = min(batchRecords, remaining)
            for index in 0..<n {
                builder.append(key: keys[index], value: value, timestamp: timestamp)
                timestamp &+= 1
            }
            let batch = try builder.build(compression: compression)
            encodedBytes += batch.count
            batches.append(batch)
            remaining -= n
        }
        let encodeTime = clock.now - encodeStart

        var checksum = 0
        let decodeStart = clock.now
        for batch in batches {
            var reader = RecordBatchReader(batch, options: options)
            while let view = try reader.next() {
                var iterator = view.makeRecordIterator()
                while let record = try iterator.next() {
                    checksum &+= (record.key?.count ?? 0) &+ (record.value?.count ?? 0)
                }
            }
        }
        let decodeTime = clock.now - decodeStart
        return Result(
            records: records, valueSize: size, compression: compression, encodedBytes: encodedBytes, decodedBytes: checksum,
            encodeSeconds: seconds(encodeTime), decodeSeconds: seconds(decodeTime))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

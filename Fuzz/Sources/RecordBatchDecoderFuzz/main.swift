// libFuzzer entry point for the Kafka record-batch decoder (`RecordBatchReader`,
// `RecordBatchView`, the record iterator and every decompressor). The first input byte picks
// what the rest is, so that the fuzzer reaches each layer without having to forge CRCs:
//   0, 7    a fetch response's records field (a sequence of batches), CRCs checked;
//   1       the same with CRC checks off;
//   2...6   [count byte][records section]: framed here (valid header and CRC) as a batch
//           compressed with none/gzip/snappy/lz4/zstd and decoded;
//   others  [codec byte][bytes]: one decompressor alone.
// Besides "never traps", it checks, trapping (so libFuzzer saves the input) when one fails:
// - a decoded batch re-encodes, and its encoding decodes to the same batch;
// - the lazy iterator and the materialized records agree;
// - a cut of the input gives a prefix of the batches, then a clean partial stop or the
//   very error the whole input gave (brokers cut fetch responses anywhere);
// - decompressed output never exceeds the limit; a decompressor's output re-compresses
//   and decompresses back to itself.
import KafkaWire
import WireCore

private let limit = 1 << 20
private let checked = RecordBatchDecodingOptions(verifyCRC: true, maxDecompressedBytes: limit)
private let unchecked = RecordBatchDecodingOptions(verifyCRC: false, maxDecompressedBytes: limit)
private let codecs: [CompressionCodec] = [.none, .gzip, .snappy, .lz4, .zstd]

private enum Outcome: Equatable {
    case batches([RecordBatch], partialBytes: Int)
    case failure([RecordBatch], RecordBatchError)

    init(_ bytes: [UInt8], to end: Int? = nil, options: RecordBatchDecodingOptions) {
        var reader = RecordBatchReader(bytes, to: end, options: options)
        var batches: [RecordBatch] = []
        do throws(RecordBatchError) {
            while let view = try reader.next() {
                let batch = try view.recordBatch()
                checkLazyAgrees(view, batch)
                batches.append(batch)
            }
            self = .batches(batches, partialBytes: reader.partialTrailingBytes)
        } catch {
            self = .failure(batches, error)
        }
    }

    var batches: [RecordBatch] {
        switch self {
        case let .batches(batches, _), let .failure(batches, _): return batches
        }
    }
}

private func fail(_ message: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(message)\ninput (\(bytes.count) bytes): \(bytes.prefix(256).map { String($0, radix: 16) }.joined(separator: " "))")
}

private func checkLazyAgrees(_ view: RecordBatchView, _ batch: RecordBatch) {
    var iterator = view.makeRecordIterator()
    var index = 0
    while let record = try? iterator.next() {
        guard index < batch.records.count, record.record == batch.records[index] else {
            fatalError("lazy record \(index) differs from the materialized one")
        }
        index += 1
    }
    guard index == batch.records.count else { fatalError("lazy iteration gave \(index) of \(batch.records.count) records") }
}

private func checkReencoding(_ batches: [RecordBatch], _ input: [UInt8]) {
    for batch in batches {
        let encoded: [UInt8]
        do {
            encoded = try batch.encode()
        } catch {
            fail("a decoded batch does not re-encode: \(error)", input)
        }
        do {
            let view = try RecordBatchView.decode(encoded, options: RecordBatchDecodingOptions(maxDecompressedBytes: Int.max))
            guard view.header.totalSize == encoded.count, try view.recordBatch() == batch else {
                fail("re-encoded batch decodes differently", input)
            }
        } catch {
            fail("re-encoded batch does not decode: \(error)", input)
        }
    }
}

private func checkCut(at cut: Int, whole: Outcome, _ bytes: [UInt8], options: RecordBatchDecodingOptions) {
    let prefix = Array(bytes[..<cut])
    let partial = Outcome(prefix, options: options)
    guard whole.batches.starts(with: partial.batches) else {
        fail("cut at \(cut) decoded batches the whole input does not have", bytes)
    }
    if case let .failure(_, error) = partial {
        guard case let .failure(batches, wholeError) = whole, wholeError == error, batches == partial.batches else {
            fail("cut at \(cut) failed with \(error), the whole input gave \(whole)", bytes)
        }
    }
}

private func fuzzBatches(_ bytes: [UInt8], options: RecordBatchDecodingOptions, seed: UInt64) {
    let whole = Outcome(bytes, options: options)
    checkReencoding(whole.batches, bytes)
    if !bytes.isEmpty {
        checkCut(at: Int(seed % UInt64(bytes.count)), whole: whole, bytes, options: options)
        checkCut(at: Int((seed >> 32) % UInt64(bytes.count)), whole: whole, bytes, options: options)
    }
}

/// `records` framed as a batch with a valid header and CRC.
private func frame(records: ArraySlice<UInt8>, count: Int32, codec: CompressionCodec) -> [UInt8] {
    var writer = ByteWriter(capacity: 61 + records.count)
    writer.writeBigEndian(Int64(1000))  // baseOffset
    writer.writeBigEndian(Int32(49 + records.count))  // batchLength
    writer.writeBigEndian(Int32(-1))  // partitionLeaderEpoch
    writer.writeInt8(2)
    writer.writeBigEndian(UInt32(0))  // crc, below
    writer.writeBigEndian(codec.rawValue)
    writer.writeBigEndian(count - 1)  // lastOffsetDelta
    writer.writeBigEndian(Int64(1_700_000_000_000))
    writer.writeBigEndian(Int64(1_700_000_000_000))
    writer.writeBigEndian(Int64(-1))
    writer.writeBigEndian(Int16(-1))
    writer.writeBigEndian(Int32(-1))
    writer.writeBigEndian(count)
    writer.writeBytes(records)
    writer.setBigEndian(CRC32C.checksum(writer.bytes[21...]), at: 17)
    return writer.bytes
}

private func fuzzDecompressor(_ codec: CompressionCodec, _ input: ArraySlice<UInt8>) {
    let output: [UInt8]
    do {
        output = try codec.decompress(Array(input), limit: limit)
    } catch {
        return
    }
    guard output.count <= limit else { fatalError("\(codec) produced \(output.count) bytes, above the limit \(limit)") }
    do {
        let again = try codec.decompress(try codec.compress(output), limit: limit)
        guard again == output else { fatalError("\(codec) round trip of decompressed output differs") }
    } catch {
        fatalError("\(codec) cannot round-trip its own output: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func recordBatchDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let seed = input.reduce(UInt64(size)) { ($0 &* 31) &+ UInt64($1) }
    let body = Array(input.dropFirst())
    switch input[0] {
    case 0, 7:
        fuzzBatches(body, options: checked, seed: seed)
    case 1:
        fuzzBatches(body, options: unchecked, seed: seed)
    case 2...6:
        guard let count = body.first else { return 0 }
        let batch = frame(records: body.dropFirst(), count: Int32(count), codec: codecs[Int(input[0]) - 2])
        fuzzBatches(batch, options: checked, seed: seed)
    default:
        guard let codec = body.first else { return 0 }
        fuzzDecompressor(codecs[1 + Int(codec) % 4], body.dropFirst())
    }
    return 0
}

import PropertyBased
import Testing
import WireCore

@testable import KafkaWire

@Suite struct RecordsRoundTripTests {
    @Test func decodingAnEncodedBatchGivesItBack() async throws {
        await propertyCheck(count: 300, input: RecordGenerator.batches()) { batch in
            let bytes = try batch.encode()
            let view = try RecordBatchView.decode(bytes)
            #expect(view.header.totalSize == bytes.count)
            #expect(view.header.recordCount == Int32(batch.records.count))
            #expect(try view.recordBatch() == batch)
            // Canonical: re-encoding the decoded batch gives the same bytes.
            #expect(try view.recordBatch().encode() == bytes)
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func everyCompressionRoundTrips(codec: CompressionCodec) async throws {
        await propertyCheck(count: 60, input: RecordGenerator.batches(compression: codec, maxRecords: 60)) { batch in
            let bytes = try batch.encode()
            #expect(try RecordBatchView.decode(bytes).recordBatch() == batch)
        }
    }

    @Test func rawSnappyBatchesDecode() async throws {
        await propertyCheck(count: 40, input: RecordGenerator.batches(compression: .snappy)) { batch in
            let bytes = try batch.encode(settings: CompressionSettings(snappyFraming: .raw))
            #expect(try RecordBatchView.decode(bytes).recordBatch() == batch)
        }
    }

    @Test func concatenatedBatchesDecodeInOrderAndAPartialTailStopsCleanly() async throws {
        await propertyCheck(count: 100, input: RecordGenerator.batches(maxRecords: 8).array(of: 1...5)) { batches in
            let encoded = try batches.map { try $0.encode() }
            let all = encoded.flatMap { $0 }
            #expect(BatchOutcome(all) == .batches(batches, partialBytes: 0))
            // Cut inside the last batch: the others decode, the reader stops without error.
            let last = encoded.last!
            let cut = Int.random(in: 1..<last.count)
            let truncated = Array(all.dropLast(last.count - cut))
            #expect(BatchOutcome(truncated) == .batches(Array(batches.dropLast()), partialBytes: cut))
        }
    }

    @Test func builderBatchesDecodeToWhatWasAppended() async throws {
        let input = RecordGenerator.batches(maxRecords: 40)
        await propertyCheck(count: 150, input: input) { template in
            var builder = RecordBatchBuilder(capacity: 64)
            for record in template.records {
                let before = builder.uncompressedSize
                let expected = builder.sizeOfRecord(key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp)
                builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp)
                #expect(builder.uncompressedSize - before == expected)
            }
            let codec = template.compression ?? .none
            let bytes = try builder.build(
                compression: codec, producerId: template.producerId, producerEpoch: template.producerEpoch,
                baseSequence: template.baseSequence, isTransactional: template.isTransactional, baseOffset: template.baseOffset)
            let view = try RecordBatchView.decode(bytes)
            let header = view.header
            #expect(header.attributes.compression == codec)
            #expect(header.isTransactional == template.isTransactional && !header.isControl)
            #expect(header.producerId == template.producerId && header.producerEpoch == template.producerEpoch)
            #expect(header.baseSequence == template.baseSequence)
            #expect(Int(header.recordCount) == template.records.count)
            #expect(Int(header.lastOffsetDelta) == template.records.count - 1)
            #expect(header.baseTimestamp == (template.records.first?.timestamp ?? -1))
            #expect(header.maxTimestamp == (template.records.map(\.timestamp).max() ?? -1))
            let decoded = try view.records()
            #expect(decoded.count == template.records.count)
            for (index, (got, want)) in zip(decoded, template.records).enumerated() {
                #expect(got.offset == template.baseOffset + Int64(index))
                #expect(got.timestamp == want.timestamp)
                #expect(got.key == want.key && got.value == want.value && got.headers == want.headers)
            }
            #expect(builder.isEmpty && builder.uncompressedSize == RecordBatchHeader.size)
        }
    }

    @Test func lazyAndMaterializedDecodingAgree() async throws {
        await propertyCheck(count: 100, input: RecordGenerator.batches()) { batch in
            let view = try RecordBatchView.decode(try batch.encode())
            var iterator = view.makeRecordIterator()
            var lazy: [Record] = []
            while let record = try iterator.next() { lazy.append(record.record) }
            #expect(lazy == batch.records)
        }
    }

    @Test func aBatchDecodesTheSameAtAnyOffsetOfALargerBuffer() async throws {
        await propertyCheck(count: 100, input: RecordGenerator.batches(maxRecords: 5)) { batch in
            let bytes = try batch.encode()
            let padding = [UInt8](repeating: 0xEE, count: Int.random(in: 1...20))
            let buffer = padding + bytes + padding
            let view = try RecordBatchView.decode(buffer, from: padding.count, to: padding.count + bytes.count)
            #expect(try view.recordBatch() == batch)
            let (decoded, end) = try RecordBatch.decode(buffer, from: padding.count)
            #expect(decoded == batch && end == padding.count + bytes.count)
        }
    }

    @Test func encodingRefusesOffsetsBeyondInt32OfTheBase() {
        let batch = RecordBatch(
            baseOffset: 0, records: [Record(offset: Int64(Int32.max) + 1, timestamp: 0, key: nil, value: nil)])
        #expect(throws: RecordBatchError.self) { try batch.encode() }
    }
}

import PropertyBased
import RESP
import Testing
import WireCore

@Suite struct RESPRoundTripPropertyTests {
    let decoder = RESPDecoder()

    @Test func decodingAnEncodedValueGivesItBackAndConsumesEveryByte() async {
        await propertyCheck(count: 500, input: RESPValueGenerator.values()) { value in
            let bytes = RESPEncoder.encode(value)
            #expect(DecodeOutcome(bytes) == .value(value, endIndex: bytes.count))
        }
    }

    /// As if the bytes arrived one at a time: nothing is decoded until the last byte is in.
    @Test func everyProperPrefixOfAnEncodingIsIncomplete() async {
        await propertyCheck(count: 200, input: RESPValueGenerator.values()) { value in
            let bytes = RESPEncoder.encode(value)
            for cut in 0..<bytes.count {
                let outcome = DecodeOutcome(bytes, to: cut)
                guard outcome == .incomplete else {
                    Issue.record("prefix of \(cut)/\(bytes.count) bytes gave \(outcome)")
                    return
                }
            }
            #expect(DecodeOutcome(bytes, to: bytes.count) == .value(value, endIndex: bytes.count))
        }
    }

    @Test func concatenatedValuesDecodeInSequence() async {
        await propertyCheck(count: 200, input: RESPValueGenerator.values().array(of: 1...6)) { values in
            var writer = ByteWriter()
            for value in values { RESPEncoder.encode(value, into: &writer) }
            let bytes = writer.bytes
            var decoded: [RESPValue] = []
            var index = 0
            do {
                while let (value, next) = try decoder.decode(bytes, from: index, to: bytes.count) {
                    decoded.append(value)
                    index = next
                }
            } catch {
                Issue.record("decoding failed at \(index): \(error)")
            }
            #expect(decoded == values)
            #expect(index == bytes.count)
        }
    }

    @Test func aValueDecodesTheSameAtAnyOffsetOfALargerBuffer() async {
        await propertyCheck(count: 200, input: RESPValueGenerator.values(), RESPByteGenerator.bytes(maxLength: 16)) {
            value, padding in
            let encoded = RESPEncoder.encode(value)
            let bytes = padding + encoded + padding
            #expect(DecodeOutcome(bytes, from: padding.count) == .value(value, endIndex: padding.count + encoded.count))
        }
    }

    @Test func encodingIsCanonicalForDecodedValues() async {
        await propertyCheck(count: 300, input: RESPByteGenerator.mutatedEncodings()) { bytes in
            guard case .value(let value, _) = DecodeOutcome(bytes) else { return }
            let reencoded = RESPEncoder.encode(value)
            #expect(DecodeOutcome(reencoded) == .value(value, endIndex: reencoded.count))
        }
    }

    // MARK: Hostile input

    /// Random bytes (mostly RESP's own characters) give a value, nil or a typed error —
    /// never a trap — and cutting them anywhere never changes the decision.
    @Test func randomBytesDecodeConsistentlyWithoutTrapping() async {
        await propertyCheck(count: 2000, input: RESPByteGenerator.bytes()) { bytes in
            expectConsistentDecoding(of: bytes)
            expectConsistentDecoding(of: bytes, decoder: RESPDecoder(maxDepth: 2, maxBulkLength: 8, maxAggregateCount: 3, maxLineLength: 6))
        }
    }

    @Test func uniformlyRandomBytesDecodeConsistentlyWithoutTrapping() async {
        await propertyCheck(count: 1000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...48)) { bytes in
            expectConsistentDecoding(of: bytes)
        }
    }

    @Test func mutatedEncodingsDecodeConsistentlyWithoutTrapping() async {
        await propertyCheck(count: 1000, input: RESPByteGenerator.mutatedEncodings()) { bytes in
            expectConsistentDecoding(of: bytes)
        }
    }

    /// Tight limits only ever turn an outcome into `.limitExceeded`; they never change a
    /// value or a malformed verdict into something else.
    @Test func limitsOnlyAddLimitErrors() async {
        let tight = RESPDecoder(maxDepth: 2, maxBulkLength: 8, maxAggregateCount: 3, maxLineLength: 6)
        await propertyCheck(count: 1000, input: RESPByteGenerator.mutatedEncodings()) { bytes in
            let relaxed = DecodeOutcome(bytes)
            let limited = DecodeOutcome(tight, bytes)
            if case .failure(.limitExceeded) = limited { return }
            #expect(limited == relaxed)
        }
    }
}

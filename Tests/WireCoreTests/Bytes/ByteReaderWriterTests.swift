import Testing
import WireCore

@Suite struct ByteReaderWriterTests {
    // MARK: Fixed-width integers

    @Test func bigEndianIntegersAreWrittenMostSignificantByteFirst() {
        var writer = ByteWriter()
        writer.writeUInt8(0xAB)
        writer.writeBigEndian(UInt16(0x0102))
        writer.writeBigEndian(Int32(-2))
        writer.writeBigEndian(UInt64(0x0102_0304_0506_0708))
        #expect(writer.bytes == [
            0xAB,
            0x01, 0x02,
            0xFF, 0xFF, 0xFF, 0xFE,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        ])
        #expect(writer.count == 15)
    }

    @Test func bigEndianIntegersReadBackWithTheirSign() throws {
        var reader = ByteReader([0x80, 0x00, 0xFF, 0xFF, 0xFF, 0xFE, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x2A])
        #expect(try reader.readBigEndian(Int16.self) == Int16.min)
        #expect(try reader.readBigEndian(Int32.self) == -2)
        #expect(try reader.readBigEndian(Int64.self) == Int64.max)
        #expect(try reader.readInt8() == 42)
        #expect(reader.isAtEnd)
        #expect(reader.remaining == 0)
    }

    @Test func littleEndianIsTheMirrorImage() throws {
        var writer = ByteWriter()
        writer.writeLittleEndian(UInt32(0x0102_0304))
        #expect(writer.bytes == [0x04, 0x03, 0x02, 0x01])
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readLittleEndian(UInt32.self) == 0x0102_0304)
    }

    @Test func setBigEndianPatchesALengthPrefixInPlace() throws {
        var writer = ByteWriter()
        writer.writeBigEndian(Int32(0))
        writer.writeString("hello")
        writer.setBigEndian(Int32(writer.count - 4), at: 0)
        #expect(writer.bytes == [0, 0, 0, 5] + Array("hello".utf8))
    }

    // MARK: Bounds

    @Test func readerHonoursItsStartAndEndBounds() throws {
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6]
        var reader = ByteReader(bytes, from: 2, to: 4)
        #expect(reader.remaining == 2)
        #expect(reader.firstIndex(of: 5) == nil, "5 lies beyond endIndex")
        #expect(reader.firstIndex(of: 4) == 3)
        #expect(try reader.readBytes(2) == [3, 4])
        #expect(reader.peekUInt8() == nil)
        // Out-of-range bounds are clamped, never trapping.
        let clamped = ByteReader(bytes, from: 10, to: 100)
        #expect(clamped.remaining == 0)
        #expect(clamped.endIndex == bytes.count)
    }

    @Test func truncatedReadsThrowNamingTheFieldAndLeaveTheReaderWhereItWas() {
        var reader = ByteReader([0x00, 0x01, 0x02])
        #expect(throws: WireDecodingError.truncated(field: "message size", needed: 4, available: 3, offset: 0)) {
            try reader.readBigEndian(Int32.self, "message size")
        }
        #expect(reader.readerIndex == 0)

        reader.moveReaderIndex(to: 1)
        #expect(throws: WireDecodingError.truncated(field: "topic name", needed: 5, available: 2, offset: 1)) {
            try reader.readString(5, "topic name")
        }
        #expect(throws: WireDecodingError.truncated(field: "payload", needed: 3, available: 2, offset: 1)) {
            try reader.readBytes(3, "payload")
        }
        #expect(throws: WireDecodingError.truncated(field: "key", needed: 3, available: 2, offset: 1)) {
            try reader.readSlice(3, "key")
        }
        #expect(reader.readerIndex == 1)

        reader.moveReaderIndex(to: 3)
        #expect(throws: WireDecodingError.truncated(field: "magic", needed: 1, available: 0, offset: 3)) {
            try reader.readUInt8("magic")
        }
    }

    @Test func aNegativeLengthIsMalformedNotATrap() {
        var reader = ByteReader([1, 2, 3])
        do {
            _ = try reader.readBytes(-1, "record value")
            Issue.record("a negative length was accepted")
        } catch {
            guard case let .malformed(field, reason, offset) = error else {
                Issue.record("expected .malformed, got \(error)")
                return
            }
            #expect(field == "record value")
            #expect(reason.contains("-1"))
            #expect(offset == 0)
        }
    }

    @Test func readStringRepairsInvalidUTF8() throws {
        var reader = ByteReader([0x61, 0xFF, 0x62])
        #expect(try reader.readString(3) == "a\u{FFFD}b")
    }

    @Test func slicesShareTheInputAndKeepItsIndices() throws {
        var reader = ByteReader([9, 8, 7, 6])
        try reader.skip(1)
        let slice = try reader.readSlice(2)
        #expect(Array(slice) == [8, 7])
        #expect(slice.startIndex == 1)
        #expect(reader.readerIndex == 3)
    }

    // MARK: Varints (fixed examples; the property tests cover the whole range)

    static let leb128Examples: [(UInt64, [UInt8])] = [
        (0, [0x00]),
        (1, [0x01]),
        (127, [0x7F]),
        (128, [0x80, 0x01]),
        (300, [0xAC, 0x02]),
        (16_383, [0xFF, 0x7F]),
        (16_384, [0x80, 0x80, 0x01]),
        (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    @Test(arguments: leb128Examples)
    func unsignedVarintMatchesTheLEB128Examples(value: UInt64, encoding: [UInt8]) throws {
        var writer = ByteWriter()
        writer.writeUnsignedVarint(value)
        #expect(writer.bytes == encoding)
        var reader = ByteReader(encoding)
        #expect(try reader.readUnsignedVarint() == value)
        #expect(reader.isAtEnd)
    }

    static let zigzagExamples: [(Int64, UInt64)] = [
        (0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4),
        (Int64(Int32.max), 4_294_967_294), (Int64(Int32.min), 4_294_967_295),
        (Int64.max, UInt64.max - 1), (Int64.min, UInt64.max),
    ]

    @Test(arguments: zigzagExamples)
    func zigzagMapsSmallMagnitudesToSmallCodes(value: Int64, zigzag: UInt64) throws {
        var signed = ByteWriter()
        signed.writeVarint(value)
        var unsigned = ByteWriter()
        unsigned.writeUnsignedVarint(zigzag)
        #expect(signed.bytes == unsigned.bytes)
        var reader = ByteReader(signed.bytes)
        #expect(try reader.readVarint() == value)
    }

    @Test func aTruncatedVarintIsTruncatedAndRewindsTheReader() {
        var reader = ByteReader([0x05, 0x80, 0x80])
        reader.moveReaderIndex(to: 1)
        #expect(throws: WireDecodingError.truncated(field: "record length", needed: 3, available: 2, offset: 1)) {
            try reader.readVarint("record length")
        }
        #expect(reader.readerIndex == 1)
    }

    @Test func anOverlongVarintIsMalformed() {
        // Ten continuation bytes: no 64-bit value is that long.
        var eleven = ByteReader([UInt8](repeating: 0x80, count: 10) + [0x00])
        expectMalformed(field: "offset delta", offset: 0) { try eleven.readVarint("offset delta") }
        #expect(eleven.readerIndex == 0)

        // Ten bytes whose last one carries bits above bit 63.
        var overflowing = ByteReader([UInt8](repeating: 0xFF, count: 9) + [0x02])
        expectMalformed(field: "unsigned varint", offset: 0) { try overflowing.readUnsignedVarint() }

        // Kafka's 32-bit varint: at most five bytes, and the value must fit 32 bits.
        var sixBytes = ByteReader([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
        expectMalformed(field: "key length", offset: 0) { try sixBytes.readVarint32("key length") }
        var tooBig = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        expectMalformed(field: "key length", offset: 0) { try tooBig.readVarint32("key length") }
        #expect(tooBig.readerIndex == 0)
    }

    @Test func varint32ReadsTheExtremes() throws {
        for value in [Int32.min, -1, 0, 1, Int32.max] {
            var writer = ByteWriter()
            writer.writeVarint(Int64(value))
            #expect(writer.count <= 5)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarint32() == value)
        }
    }

    // MARK: Decimals

    static let decimalExamples: [(Int, String)] = [
        (0, "0"), (7, "7"), (9, "9"), (10, "10"), (-1, "-1"), (-10, "-10"), (1_000_000, "1000000"),
        (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808"), (Int.min + 1, "-9223372036854775807"),
    ]

    @Test(arguments: decimalExamples)
    func writeDecimalWritesASCIIDigits(value: Int, text: String) {
        var writer = ByteWriter()
        writer.writeUInt8(UInt8(ascii: "$"))
        writer.writeDecimal(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "$" + text)
    }

    @Test func writeDecimalMagnitudeCoversTheWholeUnsignedRange() {
        var writer = ByteWriter()
        writer.writeDecimalMagnitude(UInt.max)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "18446744073709551615")
    }
}

private func expectMalformed(
    field: String, offset: Int, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> some Any
) {
    do {
        let value = try body()
        Issue.record("expected .malformed(\(field)), decoded \(value)", sourceLocation: sourceLocation)
    } catch {
        guard case let .malformed(actualField, _, actualOffset)? = error as? WireDecodingError else {
            Issue.record("expected .malformed(\(field)), got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(actualField == field, sourceLocation: sourceLocation)
        #expect(actualOffset == offset, sourceLocation: sourceLocation)
    }
}

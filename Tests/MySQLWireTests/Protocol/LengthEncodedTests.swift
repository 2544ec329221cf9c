import MySQLWire
import Testing
import WireCore

@Suite struct LengthEncodedTests {
    static let cases: [(UInt64, String)] = [
        (0, "00"), (250, "fa"), (251, "fcfb00"), (0xffff, "fcffff"), (0x1_0000, "fd000001"),
        (0xff_ffff, "fdffffff"), (0x100_0000, "fe0000000100000000"), (UInt64.max, "feffffffffffffffff"),
    ]

    @Test(arguments: 0..<cases.count)
    func integerGoldenBytesAndRoundTrip(_ index: Int) throws {
        let (value, expected) = Self.cases[index]
        var writer = ByteWriter()
        writer.writeLengthEncodedInteger(value)
        #expect(writer.bytes == hex(expected))
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readLengthEncodedInteger() == value)
        #expect(reader.isAtEnd)
    }

    @Test func nullAndErrorMarkersAreNotIntegers() {
        for marker: UInt8 in [0xfb, 0xff] {
            var reader = ByteReader([marker, 0, 0])
            #expect(throws: WireDecodingError.self) { try reader.readLengthEncodedInteger() }
            #expect(reader.readerIndex == 0)
        }
    }

    @Test func truncatedIntegersAndStrings() {
        for bytes in [[0xfc, 0x01], [0xfd, 0, 0], [0xfe, 1, 2, 3], [0x05, 0x61, 0x62]] as [[UInt8]] {
            var reader = ByteReader(bytes)
            #expect(throws: WireDecodingError.self) { _ = try reader.readLengthEncodedBytes() }
        }
        // A length above what is left (or above Int.max) is truncation, not a huge allocation.
        var huge = ByteReader(hex("feffffffffffffffff41"))
        #expect(throws: WireDecodingError.self) { _ = try huge.readLengthEncodedBytes() }
    }

    @Test func stringsAndNullTerminated() throws {
        var writer = ByteWriter()
        writer.writeLengthEncodedString("héllo")
        writer.writeNullTerminatedString("abc")
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readLengthEncodedString() == "héllo")
        #expect(try reader.readNullTerminatedString() == "abc")
        #expect(reader.isAtEnd)
        var unterminated = ByteReader([0x61, 0x62])
        #expect(throws: WireDecodingError.self) { _ = try unterminated.readNullTerminatedString() }
    }
}

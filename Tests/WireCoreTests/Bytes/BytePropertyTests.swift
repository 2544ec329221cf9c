import PropertyBased
import Testing
import WireCore

/// Round trips over the whole value range. Uniformly random 64-bit values are almost all
/// huge, so the generators first pick a bit width and then a value of that width: short and
/// long encodings, and every varint length boundary, come up equally often.
@Suite struct BytePropertyTests {
    static let widths = Gen.int(in: 0...64)
    static let raw = Gen.uint64()

    static func unsigned(width: Int, raw: UInt64) -> UInt64 {
        width == 0 ? 0 : raw >> UInt64(64 - width)
    }

    static func signed(width: Int, raw: UInt64) -> Int64 {
        // Sign-extend the top `width` bits, so negatives of every magnitude appear too.
        width == 0 ? 0 : Int64(bitPattern: raw) >> Int64(64 - width)
    }

    @Test func sameBytesAgreesWithElementwiseEquality() async {
        // Pairs that are equal, differ in one byte, or differ in length.
        await propertyCheck(count: 1000, input: Gen.int(in: 0...40), Self.raw, Gen.int(in: 0...2)) { length, raw, variant throws in
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: raw &>> UInt64($0 % 8 * 8) &+ UInt64($0)) }
            var other = bytes
            switch variant {
            case 1 where !other.isEmpty: other[Int(raw % UInt64(other.count))] &+= 1
            case 2: other.append(0)
            default: break
            }
            #expect(bytes.hasSameBytes(as: other) == (bytes == other))
            #expect(other.hasSameBytes(as: bytes) == (bytes == other))
            #expect(bytes.hasSameBytes(as: bytes))
        }
    }

    @Test func unsignedVarintRoundTripsWithTheMinimalLength() async {
        await propertyCheck(count: 1000, input: Self.widths, Self.raw) { width, raw throws in
            let value = Self.unsigned(width: width, raw: raw)
            var writer = ByteWriter()
            writer.writeUnsignedVarint(value)
            let significantBits = 64 - value.leadingZeroBitCount
            #expect(writer.count == max(1, (significantBits + 6) / 7))
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readUnsignedVarint() == value)
            #expect(reader.isAtEnd)
        }
    }

    @Test func zigzagVarintRoundTrips() async {
        await propertyCheck(count: 1000, input: Self.widths, Self.raw) { width, raw throws in
            let value = Self.signed(width: width, raw: raw)
            var writer = ByteWriter()
            writer.writeVarint(value)
            // Zigzag keeps small magnitudes short whatever the sign.
            let magnitudeBits = 64 - (value < 0 ? ~value : value).leadingZeroBitCount + 1
            #expect(writer.count == max(1, (magnitudeBits + 6) / 7))
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarint() == value)
            #expect(reader.isAtEnd)
        }
    }

    @Test func varint32RoundTripsEveryInt32() async {
        await propertyCheck(count: 500, input: Gen.int32()) { value throws in
            var writer = ByteWriter()
            writer.writeVarint(Int64(value))
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarint32() == value)
        }
    }

    @Test func everyProperPrefixOfAVarintIsTruncatedNeverMisread() async {
        await propertyCheck(count: 300, input: Self.widths, Self.raw) { width, raw throws in
            var writer = ByteWriter()
            writer.writeVarint(Self.signed(width: width, raw: raw))
            for cut in 0..<writer.count {
                var reader = ByteReader(writer.bytes, to: cut)
                do throws(WireDecodingError) {
                    let value = try reader.readVarint("varint")
                    Issue.record("prefix of \(cut)/\(writer.count) bytes decoded as \(value)")
                } catch {
                    #expect(error == .truncated(field: "varint", needed: cut + 1, available: cut, offset: 0))
                }
                #expect(reader.readerIndex == 0)
            }
        }
    }

    @Test func bigEndianRoundTripsEveryWidth() async {
        await propertyCheck(count: 500, input: Gen.int64(), Gen.uint32(), Gen.int16(), Gen.uint8()) { a, b, c, d throws in
            var writer = ByteWriter()
            writer.writeBigEndian(a)
            writer.writeBigEndian(b)
            writer.writeBigEndian(c)
            writer.writeBigEndian(d)
            #expect(writer.count == 8 + 4 + 2 + 1)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readBigEndian(Int64.self) == a)
            #expect(try reader.readBigEndian(UInt32.self) == b)
            #expect(try reader.readBigEndian(Int16.self) == c)
            #expect(try reader.readBigEndian(UInt8.self) == d)
            #expect(reader.isAtEnd)
        }
    }

    @Test func writeDecimalAgreesWithTheStandardLibrary() async {
        await propertyCheck(count: 1000, input: Self.widths, Self.raw) { width, raw throws in
            let value = Int(Self.signed(width: width, raw: raw))
            var writer = ByteWriter()
            writer.writeDecimal(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        }
    }
}

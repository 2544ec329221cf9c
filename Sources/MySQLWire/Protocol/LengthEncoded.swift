import WireCore

// Length-encoded integers and strings (MySQL "int<lenenc>" / "string<lenenc>"), NUL-terminated
// strings and the packet helpers every message uses.

extension ByteReader {
    /// int<lenenc>: < 0xfb one byte; 0xfc + 2, 0xfd + 3, 0xfe + 8 bytes little-endian.
    /// 0xfb (NULL in rows) and 0xff (ERR) are not integers here.
    @inlinable
    public mutating func readLengthEncodedInteger(_ field: @autoclosure () -> String = "int<lenenc>") throws(WireDecodingError) -> UInt64 {
        let start = readerIndex
        let first = try readUInt8(field())
        switch first {
        case 0..<0xfb: return UInt64(first)
        case 0xfc: return UInt64(try readLittleEndian(UInt16.self, field()))
        case 0xfd:
            let low = UInt64(try readLittleEndian(UInt16.self, field()))
            let high = UInt64(try readUInt8(field()))
            return low | high << 16
        case 0xfe: return try readLittleEndian(UInt64.self, field())
        default:
            readerIndex = start
            throw .malformed(field: field(), reason: "0x\(String(first, radix: 16)) does not start a length-encoded integer", offset: start)
        }
    }

    /// A length that must be addressable (and is bounded by what is left, checked by the read).
    @inlinable
    public mutating func readLengthEncodedLength(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int {
        let start = readerIndex
        let value = try readLengthEncodedInteger(field())
        guard value <= UInt64(remaining) else {
            let available = remaining
            readerIndex = start
            throw .truncated(field: field(), needed: value > UInt64(Int.max) ? Int.max : Int(value), available: available, offset: start)
        }
        return Int(value)
    }

    @inlinable
    public mutating func readLengthEncodedBytes(_ field: @autoclosure () -> String = "string<lenenc>") throws(WireDecodingError) -> [UInt8] {
        let count = try readLengthEncodedLength(field())
        return try readBytes(count, field())
    }

    @inlinable
    public mutating func readLengthEncodedString(_ field: @autoclosure () -> String = "string<lenenc>") throws(WireDecodingError) -> String {
        let count = try readLengthEncodedLength(field())
        return try readString(count, field())
    }

    /// string<NUL>: up to (not including) the next 0x00, which is consumed. A slice of the
    /// packet's bytes: the callers below copy it into the form they return, once.
    @inlinable
    public mutating func readNullTerminatedSlice(_ field: @autoclosure () -> String = "string<NUL>") throws(WireDecodingError) -> ArraySlice<UInt8> {
        guard let end = firstIndex(of: 0) else {
            throw .malformed(field: field(), reason: "missing NUL terminator", offset: readerIndex)
        }
        let value = bytes[readerIndex..<end]
        readerIndex = end + 1
        return value
    }

    @inlinable
    public mutating func readNullTerminatedBytes(_ field: @autoclosure () -> String = "string<NUL>") throws(WireDecodingError) -> [UInt8] {
        Array(try readNullTerminatedSlice(field()))
    }

    @inlinable
    public mutating func readNullTerminatedString(_ field: @autoclosure () -> String = "string<NUL>") throws(WireDecodingError) -> String {
        String(decoding: try readNullTerminatedSlice(field()), as: UTF8.self)
    }

    /// string<EOF>: the rest of the packet, as a slice of its bytes.
    @inlinable
    public mutating func readRemainingSlice() -> ArraySlice<UInt8> {
        let value = bytes[readerIndex..<endIndex]
        readerIndex = endIndex
        return value
    }

    @inlinable
    public mutating func readRemainingBytes() -> [UInt8] {
        Array(readRemainingSlice())
    }

    @inlinable
    public mutating func readRemainingString() -> String {
        // The usual case (an OK packet's empty info) makes no string.
        if isAtEnd { return "" }
        return String(decoding: readRemainingSlice(), as: UTF8.self)
    }
}

extension ByteWriter {
    /// The bytes `writeLengthEncodedInteger(value)` writes.
    @inlinable
    public static func lengthEncodedIntegerSize(_ value: UInt64) -> Int {
        switch value {
        case 0..<0xfb: return 1
        case 0xfb...0xffff: return 3
        case 0x1_0000...0xff_ffff: return 4
        default: return 9
        }
    }

    @inlinable
    public mutating func writeLengthEncodedInteger(_ value: UInt64) {
        switch value {
        case 0..<0xfb: writeUInt8(UInt8(value))
        case 0xfb...0xffff:
            writeUInt8(0xfc)
            writeLittleEndian(UInt16(value))
        case 0x1_0000...0xff_ffff:
            writeUInt8(0xfd)
            writeLittleEndian(UInt16(truncatingIfNeeded: value))
            writeUInt8(UInt8(truncatingIfNeeded: value >> 16))
        default:
            writeUInt8(0xfe)
            writeLittleEndian(value)
        }
    }

    @inlinable
    public mutating func writeLengthEncodedBytes<C: Collection>(_ data: C) where C.Element == UInt8 {
        writeLengthEncodedInteger(UInt64(data.count))
        writeBytes(data)
    }

    @inlinable
    public mutating func writeLengthEncodedString(_ string: String) {
        writeLengthEncodedInteger(UInt64(string.utf8.count))
        writeString(string)
    }

    @inlinable
    public mutating func writeNullTerminatedString(_ string: String) {
        writeString(string)
        writeUInt8(0)
    }

    @inlinable
    public mutating func writeZeros(_ count: Int) {
        for _ in 0..<count { writeUInt8(0) }
    }
}

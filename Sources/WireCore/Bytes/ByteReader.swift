/// A cursor over bytes that reads big-endian integers, varints and slices, and reports
/// truncation and malformed input as `WireDecodingError` rather than trapping.
///
/// It holds the array (a reference-counted buffer, so no copy) and two indices; `readerIndex`
/// moves forward as fields are read, `endIndex` bounds what may be read.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public var readerIndex: Int
    public let endIndex: Int

    @inlinable
    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        let upper = min(end ?? bytes.count, bytes.count)
        self.bytes = bytes
        self.readerIndex = max(0, min(start, upper))
        self.endIndex = upper
    }

    @inlinable public var remaining: Int { endIndex - readerIndex }
    @inlinable public var isAtEnd: Bool { readerIndex >= endIndex }

    @inlinable
    public mutating func require(_ count: Int, _ field: @autoclosure () -> String) throws(WireDecodingError) {
        if count < 0 {
            throw .malformed(field: field(), reason: "negative length \(count)", offset: readerIndex)
        }
        if remaining < count {
            throw .truncated(field: field(), needed: count, available: remaining, offset: readerIndex)
        }
    }

    @inlinable
    public mutating func moveReaderIndex(to index: Int) {
        readerIndex = max(0, min(index, endIndex))
    }

    @inlinable
    public mutating func skip(_ count: Int, field: @autoclosure () -> String = "skipped bytes") throws(WireDecodingError) {
        try require(count, field())
        readerIndex += count
    }

    @inlinable
    public func peekUInt8() -> UInt8? {
        readerIndex < endIndex ? bytes[readerIndex] : nil
    }

    @inlinable
    public mutating func readUInt8(_ field: @autoclosure () -> String = "uint8") throws(WireDecodingError) -> UInt8 {
        guard readerIndex < endIndex else {
            throw .truncated(field: field(), needed: 1, available: 0, offset: readerIndex)
        }
        let value = bytes[readerIndex]
        readerIndex += 1
        return value
    }

    @inlinable
    public mutating func readInt8(_ field: @autoclosure () -> String = "int8") throws(WireDecodingError) -> Int8 {
        Int8(bitPattern: try readUInt8(field()))
    }

    @inlinable
    public mutating func readBigEndian<T: FixedWidthInteger>(
        _ type: T.Type, _ field: @autoclosure () -> String = "\(T.self)"
    ) throws(WireDecodingError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, field())
        var value: T = 0
        for i in 0..<size {
            value = (value << 8) | T(truncatingIfNeeded: bytes[readerIndex + i])
        }
        readerIndex += size
        return value
    }

    @inlinable
    public mutating func readLittleEndian<T: FixedWidthInteger>(
        _ type: T.Type, _ field: @autoclosure () -> String = "\(T.self)"
    ) throws(WireDecodingError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, field())
        var value: T = 0
        for i in stride(from: size - 1, through: 0, by: -1) {
            value = (value << 8) | T(truncatingIfNeeded: bytes[readerIndex + i])
        }
        readerIndex += size
        return value
    }

    @inlinable
    public mutating func readBytes(_ count: Int, _ field: @autoclosure () -> String = "bytes") throws(WireDecodingError) -> [UInt8] {
        try require(count, field())
        let result = Array(bytes[readerIndex..<(readerIndex + count)])
        readerIndex += count
        return result
    }

    @inlinable
    public mutating func readSlice(_ count: Int, _ field: @autoclosure () -> String = "bytes") throws(WireDecodingError) -> ArraySlice<UInt8> {
        try require(count, field())
        let result = bytes[readerIndex..<(readerIndex + count)]
        readerIndex += count
        return result
    }

    /// Reads `count` bytes as UTF-8; invalid sequences are repaired (replacement character)
    /// because text fields in these protocols are informational, never structural.
    @inlinable
    public mutating func readString(_ count: Int, _ field: @autoclosure () -> String = "string") throws(WireDecodingError) -> String {
        try require(count, field())
        let string = String(decoding: bytes[readerIndex..<(readerIndex + count)], as: UTF8.self)
        readerIndex += count
        return string
    }

    /// Unsigned LEB128 varint as Kafka and protobuf use it; at most `maxBytes` bytes.
    @inlinable
    public mutating func readUnsignedVarint(
        maxBytes: Int = 10, _ field: @autoclosure () -> String = "unsigned varint"
    ) throws(WireDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = readerIndex
        for index in 0..<maxBytes {
            guard readerIndex < endIndex else {
                readerIndex = start
                throw .truncated(field: field(), needed: index + 1, available: index, offset: start)
            }
            let byte = bytes[readerIndex]
            readerIndex += 1
            if index == 9 && byte > 1 {
                readerIndex = start
                throw .malformed(field: field(), reason: "varint overflows 64 bits", offset: start)
            }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        readerIndex = start
        throw .malformed(field: field(), reason: "varint longer than \(maxBytes) bytes", offset: start)
    }

    /// Zigzag-encoded signed varint (Kafka record fields).
    @inlinable
    public mutating func readVarint(_ field: @autoclosure () -> String = "varint") throws(WireDecodingError) -> Int64 {
        let raw = try readUnsignedVarint(maxBytes: 10, field())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Zigzag varint that must fit 32 bits (Kafka's `varint` as opposed to `varlong`).
    @inlinable
    public mutating func readVarint32(_ field: @autoclosure () -> String = "varint") throws(WireDecodingError) -> Int32 {
        let start = readerIndex
        let raw = try readUnsignedVarint(maxBytes: 5, field())
        guard raw <= UInt64(UInt32.max) else {
            readerIndex = start
            throw .malformed(field: field(), reason: "varint overflows 32 bits", offset: start)
        }
        let narrow = UInt32(raw)
        return Int32(bitPattern: (narrow >> 1) ^ (0 &- (narrow & 1)))
    }

    /// Index of the first occurrence of `byte` at or after the reader index, if any.
    @inlinable
    public func firstIndex(of byte: UInt8) -> Int? {
        var index = readerIndex
        while index < endIndex {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }
}

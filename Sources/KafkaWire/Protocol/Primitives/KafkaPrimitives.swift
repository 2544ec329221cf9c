import WireCore

// The Kafka protocol's primitive types (https://kafka.apache.org/protocol#protocol_types)
// over WireCore's reader and writer. "Compact" forms (flexible versions, KIP-482) prefix
// lengths with an unsigned varint holding length + 1, where 0 means null; the classic forms
// use int16 (strings) or int32 (bytes, arrays) lengths where -1 means null.
//
// Readers throw `WireDecodingError` naming the field; the generated message decoders wrap it
// in `KafkaDecodingError` with the message name and version.

/// Limits shared by encoder and decoder.
public enum KafkaLimits {
    /// Strings carry an int16 length in classic versions; Kafka holds compact strings to the
    /// same bound so a message is representable at every version.
    public static let maxStringLength = Int(Int16.max)
    public static let maxBytesLength = Int(Int32.max)
    public static let maxArrayCount = Int(Int32.max)
}

extension ByteReader {
    @inlinable
    public mutating func readKafkaInt8(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int8 {
        try readInt8(field())
    }

    @inlinable
    public mutating func readKafkaInt16(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int16 {
        try readBigEndian(Int16.self, field())
    }

    @inlinable
    public mutating func readKafkaInt32(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int32 {
        try readBigEndian(Int32.self, field())
    }

    @inlinable
    public mutating func readKafkaInt64(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int64 {
        try readBigEndian(Int64.self, field())
    }

    @inlinable
    public mutating func readKafkaUInt16(_ field: @autoclosure () -> String) throws(WireDecodingError) -> UInt16 {
        try readBigEndian(UInt16.self, field())
    }

    @inlinable
    public mutating func readKafkaUInt32(_ field: @autoclosure () -> String) throws(WireDecodingError) -> UInt32 {
        try readBigEndian(UInt32.self, field())
    }

    @inlinable
    public mutating func readKafkaFloat64(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Double {
        Double(bitPattern: try readBigEndian(UInt64.self, field()))
    }

    /// Any non-zero byte is true, as in the Java client.
    @inlinable
    public mutating func readKafkaBool(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Bool {
        try readUInt8(field()) != 0
    }

    @inlinable
    public mutating func readKafkaUUID(_ field: @autoclosure () -> String) throws(WireDecodingError) -> KafkaUUID {
        try require(16, field())
        let high = try readBigEndian(UInt64.self, field())
        let low = try readBigEndian(UInt64.self, field())
        return KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
    }

    /// The length of a string or byte string, or nil for null; checked against what remains.
    @inlinable
    mutating func readKafkaLength(
        compact: Bool, wide: Bool, limit: Int, _ field: @autoclosure () -> String
    ) throws(WireDecodingError) -> Int? {
        let start = readerIndex
        let length: Int
        if compact {
            let raw = try readUnsignedVarint(maxBytes: 5, field())
            if raw == 0 { return nil }
            guard raw - 1 <= UInt64(limit) else {
                readerIndex = start
                throw .limitExceeded(field: field(), value: Int(clamping: raw - 1), limit: limit, offset: start)
            }
            length = Int(raw - 1)
        } else if wide {
            let raw = try readBigEndian(Int32.self, field())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                readerIndex = start
                throw .malformed(field: field(), reason: "negative length \(raw)", offset: start)
            }
            length = Int(raw)
        } else {
            let raw = try readBigEndian(Int16.self, field())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                readerIndex = start
                throw .malformed(field: field(), reason: "negative length \(raw)", offset: start)
            }
            length = Int(raw)
        }
        guard length <= remaining else {
            readerIndex = start
            throw .truncated(field: field(), needed: length, available: remaining, offset: start)
        }
        return length
    }

    @inlinable
    public mutating func readKafkaNullableString(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> String? {
        guard let length = try readKafkaLength(compact: compact, wide: false, limit: KafkaLimits.maxStringLength, field()) else {
            return nil
        }
        return try readString(length, field())
    }

    @inlinable
    public mutating func readKafkaString(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> String {
        let start = readerIndex
        guard let value = try readKafkaNullableString(compact: compact, field()) else {
            readerIndex = start
            throw .malformed(field: field(), reason: "null for a non-nullable string", offset: start)
        }
        return value
    }

    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> [UInt8]? {
        guard let length = try readKafkaLength(compact: compact, wide: true, limit: KafkaLimits.maxBytesLength, field()) else {
            return nil
        }
        return try readBytes(length, field())
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> [UInt8] {
        let start = readerIndex
        guard let value = try readKafkaNullableBytes(compact: compact, field()) else {
            readerIndex = start
            throw .malformed(field: field(), reason: "null for non-nullable bytes", offset: start)
        }
        return value
    }

    /// An array's element count, or nil for a null array. Every element takes at least one
    /// byte, so a count above what remains is refused before anything is allocated.
    @inlinable
    public mutating func readKafkaArrayCount(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> Int? {
        let start = readerIndex
        let count: Int
        if compact {
            let raw = try readUnsignedVarint(maxBytes: 5, field())
            if raw == 0 { return nil }
            guard raw - 1 <= UInt64(KafkaLimits.maxArrayCount) else {
                readerIndex = start
                throw .limitExceeded(field: field(), value: Int(clamping: raw - 1), limit: KafkaLimits.maxArrayCount, offset: start)
            }
            count = Int(raw - 1)
        } else {
            let raw = try readBigEndian(Int32.self, field())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                readerIndex = start
                throw .malformed(field: field(), reason: "negative array count \(raw)", offset: start)
            }
            count = Int(raw)
        }
        guard count <= remaining else {
            readerIndex = start
            throw .truncated(field: field(), needed: count, available: remaining, offset: start)
        }
        return count
    }

    /// The non-null form of `readKafkaArrayCount`.
    @inlinable
    public mutating func readKafkaNonNullArrayCount(compact: Bool, _ field: @autoclosure () -> String) throws(WireDecodingError) -> Int {
        let start = readerIndex
        guard let count = try readKafkaArrayCount(compact: compact, field()) else {
            readerIndex = start
            throw .malformed(field: field(), reason: "null for a non-nullable array", offset: start)
        }
        return count
    }

    /// The header of one tagged field: its tag and the size of its value, which must fit in
    /// what remains.
    @inlinable
    public mutating func readKafkaTagHeader(_ field: @autoclosure () -> String) throws(WireDecodingError) -> (tag: UInt32, size: Int) {
        let start = readerIndex
        let tag = try readUnsignedVarint(maxBytes: 5, field())
        guard tag <= UInt64(UInt32.max) else {
            readerIndex = start
            throw .malformed(field: field(), reason: "tag \(tag) overflows 32 bits", offset: start)
        }
        let size = try readUnsignedVarint(maxBytes: 5, field())
        guard size <= UInt64(remaining) else {
            readerIndex = start
            throw .truncated(field: field(), needed: Int(clamping: size), available: remaining, offset: start)
        }
        return (UInt32(tag), Int(size))
    }

    /// The number of tagged fields that follow; each takes at least two bytes.
    @inlinable
    public mutating func readKafkaTagCount(_ field: @autoclosure () -> String) throws(WireDecodingError) -> Int {
        let start = readerIndex
        let count = try readUnsignedVarint(maxBytes: 5, field())
        guard count <= UInt64(remaining / 2) else {
            readerIndex = start
            throw .truncated(field: field(), needed: Int(clamping: count) * 2, available: remaining, offset: start)
        }
        return Int(count)
    }

    /// A reader over the next `size` bytes (sharing storage), for one tagged field's value.
    @inlinable
    public func kafkaSubReader(size: Int) -> ByteReader {
        ByteReader(bytes, from: readerIndex, to: readerIndex + size)
    }

    /// Unknown tagged field: the raw bytes of its value.
    @inlinable
    public mutating func readKafkaUnknownTag(tag: UInt32, size: Int, _ field: @autoclosure () -> String) throws(WireDecodingError) -> KafkaTaggedField {
        KafkaTaggedField(tag: tag, data: try readBytes(size, field()))
    }

    /// A known tagged field must be consumed exactly by its decoder.
    @inlinable
    public func requireKafkaTagConsumed(_ sub: ByteReader, _ field: @autoclosure () -> String) throws(WireDecodingError) {
        guard sub.isAtEnd else {
            throw .malformed(field: field(), reason: "\(sub.remaining) bytes left in the tagged field", offset: sub.readerIndex)
        }
    }
}

extension ByteWriter {
    @inlinable public mutating func writeKafkaInt8(_ value: Int8) { writeInt8(value) }
    @inlinable public mutating func writeKafkaInt16(_ value: Int16) { writeBigEndian(value) }
    @inlinable public mutating func writeKafkaInt32(_ value: Int32) { writeBigEndian(value) }
    @inlinable public mutating func writeKafkaInt64(_ value: Int64) { writeBigEndian(value) }
    @inlinable public mutating func writeKafkaUInt16(_ value: UInt16) { writeBigEndian(value) }
    @inlinable public mutating func writeKafkaUInt32(_ value: UInt32) { writeBigEndian(value) }
    @inlinable public mutating func writeKafkaFloat64(_ value: Double) { writeBigEndian(value.bitPattern) }
    @inlinable public mutating func writeKafkaBool(_ value: Bool) { writeUInt8(value ? 1 : 0) }

    @inlinable
    public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        writeBigEndian(value.mostSignificantBits)
        writeBigEndian(value.leastSignificantBits)
    }

    @inlinable
    public mutating func writeKafkaNullLength(compact: Bool, wide: Bool) {
        if compact {
            writeUInt8(0)
        } else if wide {
            writeBigEndian(Int32(-1))
        } else {
            writeBigEndian(Int16(-1))
        }
    }

    @inlinable
    public mutating func writeKafkaString(
        _ value: String, compact: Bool, message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        let length = value.utf8.count
        guard length <= KafkaLimits.maxStringLength else {
            throw .tooLong(message: "\(message)", field: "\(field)", count: length, limit: KafkaLimits.maxStringLength)
        }
        if compact {
            writeUnsignedVarint(UInt64(length + 1))
        } else {
            writeBigEndian(Int16(length))
        }
        writeString(value)
    }

    @inlinable
    public mutating func writeKafkaNullableString(
        _ value: String?, compact: Bool, message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        guard let value else {
            writeKafkaNullLength(compact: compact, wide: false)
            return
        }
        try writeKafkaString(value, compact: compact, message: message, field: field)
    }

    @inlinable
    public mutating func writeKafkaBytes(
        _ value: [UInt8], compact: Bool, message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        guard value.count <= KafkaLimits.maxBytesLength else {
            throw .tooLong(message: "\(message)", field: "\(field)", count: value.count, limit: KafkaLimits.maxBytesLength)
        }
        if compact {
            writeUnsignedVarint(UInt64(value.count + 1))
        } else {
            writeBigEndian(Int32(value.count))
        }
        writeBytes(value)
    }

    @inlinable
    public mutating func writeKafkaNullableBytes(
        _ value: [UInt8]?, compact: Bool, message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        guard let value else {
            writeKafkaNullLength(compact: compact, wide: true)
            return
        }
        try writeKafkaBytes(value, compact: compact, message: message, field: field)
    }

    @inlinable
    public mutating func writeKafkaArrayCount(
        _ count: Int, compact: Bool, message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        guard count <= KafkaLimits.maxArrayCount else {
            throw .tooLong(message: "\(message)", field: "\(field)", count: count, limit: KafkaLimits.maxArrayCount)
        }
        if compact {
            writeUnsignedVarint(UInt64(count + 1))
        } else {
            writeBigEndian(Int32(count))
        }
    }

    /// One tagged field whose value was encoded into `value`.
    @inlinable
    public mutating func writeKafkaTaggedField(tag: UInt32, value: [UInt8]) {
        writeUnsignedVarint(UInt64(tag))
        writeUnsignedVarint(UInt64(value.count))
        writeBytes(value)
    }
}

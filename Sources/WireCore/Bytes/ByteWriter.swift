/// An append-only byte buffer for encoders: big-endian integers, varints, raw bytes and
/// ASCII decimals, written into one contiguous array with reserved capacity.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    @inlinable
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { bytes.count }

    @inlinable
    public mutating func reserveCapacity(_ capacity: Int) { bytes.reserveCapacity(capacity) }

    @inlinable
    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    @inlinable
    public mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }

    @inlinable
    public mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        var shift = (size - 1) * 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }

    @inlinable
    public mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for i in 0..<size {
            bytes.append(UInt8(truncatingIfNeeded: value >> (i * 8)))
        }
    }

    /// Overwrites a big-endian integer already written at `offset` (length prefixes and
    /// CRCs that are known only after the body is written).
    @inlinable
    public mutating func setBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        for i in 0..<size {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> ((size - 1 - i) * 8))
        }
    }

    @inlinable
    public mutating func writeBytes<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    @inlinable
    public mutating func writeString(_ string: String) {
        // Through the string's contiguous UTF-8 (a copy only for a bridged or lazy string):
        // one memcpy, where appending the UTF8View goes element-wise through its iterator
        // whenever the generic fast path does not apply.
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// One byte below 128 (lengths, counts and deltas usually are) inline at the call site;
    /// longer values in a loop out of line.
    @inlinable @inline(__always)
    public mutating func writeUnsignedVarint(_ value: UInt64) {
        if value < 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else {
            writeLongUnsignedVarint(value)
        }
    }

    @inlinable
    mutating func writeLongUnsignedVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inlinable @inline(__always)
    public mutating func writeVarint(_ value: Int64) {
        writeUnsignedVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Writes `value` as ASCII decimal digits without allocating a String (RESP lengths,
    /// integers in text protocols).
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            // Int.min has no positive counterpart; go through its magnitude.
            writeDecimalMagnitude(value.magnitude)
        } else {
            writeDecimalMagnitude(UInt(value))
        }
    }

    @inlinable
    public mutating func writeDecimalMagnitude(_ value: UInt) {
        if value < 10 {
            bytes.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            let count = Self.writeDecimalDigits(value, endingAt: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + 20)
            bytes.append(contentsOf: raw[(20 - count)..<20])
        }
    }

    /// Writes `value`'s ASCII decimal digits so that the last one lands just before `end`,
    /// and returns how many there are (at most 20). For text built in place rather than in a
    /// `ByteWriter` (a statement with a number in it); `writeDecimalMagnitude` uses it too.
    @inlinable
    public static func writeDecimalDigits(_ value: UInt, endingAt end: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        var rest = value
        repeat {
            count += 1
            end[-count] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
            rest /= 10
        } while rest > 0
        return count
    }
}

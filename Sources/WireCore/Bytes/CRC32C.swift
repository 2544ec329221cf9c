/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka record batches, iSCSI
/// and ext4 use it. Slicing-by-8 over 8 KiB of tables: eight bytes per step with no
/// data-dependent branch, a little under 1 ns per byte in release builds.
///
/// Incremental use: `var crc = CRC32C(); crc.update(a); crc.update(b); crc.value`.
public struct CRC32C: Sendable, Equatable {
    /// The running register (pre- and post-inverted as the algorithm specifies).
    @usableFromInline var state: UInt32

    @inlinable public init() { state = 0xFFFF_FFFF }

    /// The checksum of everything passed to `update` so far.
    @inlinable public var value: UInt32 { ~state }

    @inlinable
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        state = CRC32C.advance(state, buffer)
    }

    @inlinable
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    @inlinable
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update($0) }
    }

    @inlinable
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        ~advance(0xFFFF_FFFF, buffer)
    }

    @inlinable
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    @inlinable
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Table `k` (at `k * 256`) maps a byte to its CRC contribution `k` bytes further on.
    @usableFromInline
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var crc = UInt32(n)
            for _ in 0..<8 {
                crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            tables[n] = crc
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = tables[(k - 1) * 256 + n]
                tables[k * 256 + n] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    @usableFromInline
    static func advance(_ initial: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return initial }
        let count = buffer.count
        return tables.withUnsafeBufferPointer { t -> UInt32 in
            var crc = initial
            var i = 0
            while count - i >= 8 {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)]
                    ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)]
                    ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ t[Int(high >> 24)]
                i += 8
            }
            while i < count {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
            return crc
        }
    }
}

/// Redis Cluster key slots: `CRC16(key) mod 16384`, where CRC16 is CRC-16/XMODEM
/// (polynomial 0x1021, initial value 0, no reflection) and only the hash tag is hashed when
/// the key has one, so that related keys (`{user1000}.following`, `{user1000}.followers`)
/// land on the same slot and can be used together in one command or transaction.
public enum HashSlot {
    /// The number of slots in a Redis cluster.
    public static let count = 16384

    /// The slot `key` belongs to, as `CLUSTER KEYSLOT` computes it.
    @inlinable
    public static func slot<Key: Collection>(forKey key: Key) -> UInt16 where Key.Element == UInt8 {
        let hashed = hashTag(in: key) ?? key[...]
        // 16384 is a power of two, so the modulo is a mask.
        return crc16(hashed) & UInt16(count - 1)
    }

    /// The slot of `key`'s UTF-8 bytes.
    @inlinable
    public static func slot(forKey key: String) -> UInt16 {
        slot(forKey: key.utf8)
    }

    /// The part of `key` that is hashed instead of the whole key, if it has a hash tag: the
    /// bytes between the first `{` and the first `}` after it, provided there is at least
    /// one byte between them. So `{user1000}.following` → `user1000`, `a{b}c{d}` → `b`,
    /// `{{a}}` → `{a`, while `{}` and `{}{a}` have no tag (the whole key is hashed).
    @inlinable
    public static func hashTag<Key: Collection>(in key: Key) -> Key.SubSequence? where Key.Element == UInt8 {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let tagStart = key.index(after: open)
        guard let close = key[tagStart...].firstIndex(of: UInt8(ascii: "}")), close != tagStart else { return nil }
        return key[tagStart..<close]
    }

    /// The hash tag of `key`; see `hashTag(in:)` for the rule.
    @inlinable
    public static func hashTag(in key: String) -> Substring? {
        // Braces are ASCII, so the UTF-8 indices found are valid String indices.
        guard let tag = hashTag(in: key.utf8) else { return nil }
        return key[tag.startIndex..<tag.endIndex]
    }

    /// CRC-16/XMODEM of `bytes` (check value: "123456789" → 0x31C3).
    @inlinable
    public static func crc16<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ crc16(buffer: $0) }) {
            return crc
        }
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crc16Table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    @usableFromInline
    static func crc16(buffer: UnsafeBufferPointer<UInt8>) -> UInt16 {
        crc16Table.withUnsafeBufferPointer { table in
            var crc: UInt16 = 0
            for byte in buffer {
                // The index is a UInt8, so it is always within the 256-entry table.
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    /// `crc16Table[i]` is the CRC of the single byte `i`, so each input byte costs one
    /// lookup instead of eight shift-and-xor steps.
    @usableFromInline
    static let crc16Table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}

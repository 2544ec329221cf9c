/// Kafka's `uuid` type: 16 bytes, most significant half first. The all-zero value is
/// `ZERO_UUID`, which Kafka uses as "no topic id".
public struct KafkaUUID: Sendable, Hashable, CustomStringConvertible {
    public var mostSignificantBits: UInt64
    public var leastSignificantBits: UInt64

    public static let zero = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)

    @inlinable
    public init(mostSignificantBits: UInt64, leastSignificantBits: UInt64) {
        self.mostSignificantBits = mostSignificantBits
        self.leastSignificantBits = leastSignificantBits
    }

    public init() { self = .zero }

    /// The URL-safe base64 form without padding, as Kafka prints topic ids.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: mostSignificantBits >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: leastSignificantBits >> UInt64(shift))) }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = (b0 << 16) | (b1 << 8) | b2
            let available = min(3, bytes.count - index)
            for position in 0...available {
                out.append(alphabet[Int((triple >> UInt32(18 - 6 * position)) & 0x3f)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A tagged field this codec does not know (a newer version, or a tag it does not model),
/// kept as raw bytes so a decode followed by an encode reproduces the input.
public struct KafkaTaggedField: Sendable, Hashable {
    public var tag: UInt32
    public var data: [UInt8]

    @inlinable
    public init(tag: UInt32, data: [UInt8]) {
        self.tag = tag
        self.data = data
    }
}

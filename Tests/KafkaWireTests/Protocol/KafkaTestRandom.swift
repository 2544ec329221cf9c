@testable import KafkaWire

/// A small deterministic generator (SplitMix64) for the generated `random(using:version:)`
/// value builders: a failing seed reproduces the same message.
struct KafkaTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True once in `n` draws.
    mutating func chance(_ n: UInt64) -> Bool { next() % n == 0 }

    /// Integers favouring the edges (0, -1, min, max) that length and sentinel handling trip on.
    mutating func edgy<T: FixedWidthInteger>(_ type: T.Type) -> T {
        switch next() % 8 {
        case 0: return 0
        case 1: return T.max
        case 2: return T.min
        case 3: return T(truncatingIfNeeded: -1)
        default: return T(truncatingIfNeeded: next())
        }
    }

    mutating func int8() -> Int8 { edgy(Int8.self) }
    mutating func int16() -> Int16 { edgy(Int16.self) }
    mutating func int32() -> Int32 { edgy(Int32.self) }
    mutating func int64() -> Int64 { edgy(Int64.self) }
    mutating func uint16() -> UInt16 { edgy(UInt16.self) }
    mutating func uint32() -> UInt32 { edgy(UInt32.self) }
    mutating func bool() -> Bool { next() & 1 == 1 }

    /// Finite doubles only: NaN is never equal to itself.
    mutating func float64() -> Double {
        let value = Double(bitPattern: next())
        return value.isFinite ? value : Double(Int64(truncatingIfNeeded: next()))
    }

    mutating func uuid() -> KafkaUUID {
        chance(4) ? .zero : KafkaUUID(mostSignificantBits: next(), leastSignificantBits: next())
    }

    private static let alphabet = Array("abcXYZ019-_.é🙂 ".unicodeScalars)

    mutating func string() -> String {
        let length = Int(next() % 12)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            scalars.append(Self.alphabet[Int(next() % UInt64(Self.alphabet.count))])
        }
        return String(scalars)
    }

    mutating func bytes() -> [UInt8] {
        let length = Int(next() % 40)
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// Arrays get shorter as structs nest, so values stay small.
    mutating func array<T>(depth: Int, _ element: (inout KafkaTestRandom) -> T) -> [T] {
        let limit: UInt64 = depth >= 3 ? 1 : (depth >= 1 ? 3 : 4)
        let count = Int(next() % (limit + 1))
        var result: [T] = []
        for _ in 0..<count { result.append(element(&self)) }
        return result
    }

    /// Sometimes a few unknown tagged fields, tags ascending from `above` (past every known
    /// tag of the struct) as a conforming encoder writes them.
    mutating func unknownTaggedFields(above: UInt32) -> [KafkaTaggedField] {
        guard chance(4) else { return [] }
        var tag = above + UInt32(next() % 3)
        var fields: [KafkaTaggedField] = []
        for _ in 0..<(1 + Int(next() % 2)) {
            fields.append(KafkaTaggedField(tag: tag, data: bytes()))
            tag += 1 + UInt32(next() % 200)
        }
        return fields
    }
}

import PropertyBased
import RESP
import Testing
import WireCore

/// The bytes of a wire example written as a Swift string (`"+OK\r\n"`).
func wire(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

/// What one `decode` call did, as a comparable value.
enum DecodeOutcome: Equatable, CustomStringConvertible {
    case incomplete
    case value(RESPValue, endIndex: Int)
    case failure(WireDecodingError)

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.init(RESPDecoder(), bytes, from: start, to: end)
    }

    init(_ decoder: RESPDecoder, _ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        do {
            if let (value, endIndex) = try decoder.decode(bytes, from: start, to: end ?? bytes.count) {
                self = .value(value, endIndex: endIndex)
            } else {
                self = .incomplete
            }
        } catch {
            self = .failure(error)
        }
    }

    var description: String {
        switch self {
        case .incomplete: return "incomplete"
        case let .value(value, endIndex): return "value \(value.debugDescription) ending at \(endIndex)"
        case let .failure(error): return "error: \(error)"
        }
    }
}

/// Checks the decoder's contract on `bytes` from `start`: whatever the whole input gives,
/// every shorter input gives either nil or (for errors) the very same error; errors are
/// never `.truncated`; a value ends inside the input and is also what any longer cut gives.
func expectConsistentDecoding(
    of bytes: [UInt8], from start: Int = 0, decoder: RESPDecoder = RESPDecoder(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let whole = DecodeOutcome(decoder, bytes, from: start)
    switch whole {
    case .failure(let error):
        #expect(!error.isTruncation, "decoder reported truncation: \(error)", sourceLocation: sourceLocation)
    case .value(_, let endIndex):
        #expect(endIndex > start && endIndex <= bytes.count, sourceLocation: sourceLocation)
    case .incomplete:
        break
    }
    guard start < bytes.count else { return }
    for cut in start..<bytes.count {
        let partial = DecodeOutcome(decoder, bytes, from: start, to: cut)
        switch (whole, partial) {
        case (_, .incomplete):
            if case .value(_, let endIndex) = whole, cut >= endIndex {
                Issue.record("cut at \(cut) is incomplete but the value ends at \(endIndex)", sourceLocation: sourceLocation)
                return
            }
        case let (.value(_, endIndex), .value):
            if cut < endIndex || partial != whole {
                Issue.record("cut at \(cut) gave \(partial), whole gave \(whole)", sourceLocation: sourceLocation)
                return
            }
        case (.failure, .failure):
            if partial != whole {
                Issue.record("cut at \(cut) gave \(partial), whole gave \(whole)", sourceLocation: sourceLocation)
                return
            }
        default:
            Issue.record("cut at \(cut) gave \(partial), whole gave \(whole)", sourceLocation: sourceLocation)
            return
        }
    }
}

/// Random RESP values of every type, nested up to a depth, for round-trip properties.
enum RESPValueGenerator {
    /// Values nested at most `maxDepth` aggregates deep, shrinking towards their parts.
    static func values(maxDepth: Int = 3) -> Generator<RESPValue, [RESPValue]> {
        Generator(
            run: { rng in value(depth: maxDepth, using: &rng) },
            shrink: { value in shrinks(of: value) }
        )
    }

    static func value<R: RandomNumberGenerator>(depth: Int, using rng: inout R) -> RESPValue {
        // Aggregates a bit under half the time, so trees are neither trivial nor huge.
        if depth > 0 && Int.random(in: 0..<10, using: &rng) < 4 {
            let count = Int.random(in: 0...4, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: return .array(values(count, depth: depth - 1, using: &rng))
            case 1: return .set(values(count, depth: depth - 1, using: &rng))
            case 2: return .push(values(count, depth: depth - 1, using: &rng))
            case 3: return .map(pairs(count, depth: depth - 1, using: &rng))
            default:
                return .attribute(pairs(count, depth: depth - 1, using: &rng), value(depth: depth - 1, using: &rng))
            }
        }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .simpleString(lineText(using: &rng))
        case 1: return .simpleError(lineText(using: &rng))
        case 2: return .integer(integer(using: &rng))
        case 3: return .bulkString(bytes(using: &rng))
        case 4: return .null
        case 5: return .boolean(Bool.random(using: &rng))
        case 6: return .double(double(using: &rng))
        case 7: return .bigNumber(bigNumber(using: &rng))
        case 8: return .bulkError(bytes(using: &rng))
        default: return .verbatimString(format: verbatimFormat(using: &rng), text: bytes(using: &rng))
        }
    }

    private static func values<R: RandomNumberGenerator>(_ count: Int, depth: Int, using rng: inout R) -> [RESPValue] {
        (0..<count).map { _ in value(depth: depth, using: &rng) }
    }

    private static func pairs<R: RandomNumberGenerator>(_ count: Int, depth: Int, using rng: inout R) -> [RESPPair] {
        (0..<count).map { _ in RESPPair(key: value(depth: depth, using: &rng), value: value(depth: depth, using: &rng)) }
    }

    /// Text for simple strings and errors: anything but CR and LF, which the type excludes.
    static func lineText<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<7:
                text.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            case 7:
                // Control characters other than CR and LF (tab, NUL, ESC, …).
                let control = [0x00, 0x09, 0x0B, 0x0C, 0x1B, 0x7F].randomElement(using: &rng) ?? 0
                text.append(Unicode.Scalar(UInt8(control)))
            default:
                // Multi-byte scalars, skipping the surrogate range that is not a scalar.
                let raw = UInt32.random(in: 0x80...0x10FFFF, using: &rng)
                text.append(Unicode.Scalar(raw) ?? "\u{FFFD}")
            }
        }
        return String(text)
    }

    static func bytes<R: RandomNumberGenerator>(using rng: inout R) -> [UInt8] {
        let length = Int.random(in: 0..<10, using: &rng) < 8
            ? Int.random(in: 0...16, using: &rng)
            : Int.random(in: 17...300, using: &rng)
        return (0..<length).map { _ in
            // CR and LF often, since payloads containing them must not confuse framing.
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: return UInt8(ascii: "\r")
            case 1: return UInt8(ascii: "\n")
            default: return UInt8.random(in: 0...255, using: &rng)
            }
        }
    }

    static func integer<R: RandomNumberGenerator>(using rng: inout R) -> Int64 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return [0, 1, -1, .min, .max, .min + 1, .max - 1].randomElement(using: &rng) ?? 0
        case 1: return Int64.random(in: -1000...1000, using: &rng)
        default: return Int64.random(in: .min ... .max, using: &rng)
        }
    }

    static func double<R: RandomNumberGenerator>(using rng: inout R) -> Double {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            let special: [Double] = [
                0, -0.0, 1, -1, .infinity, -.infinity, .nan, 1e-05, 1e+20, 0.1, 1.0 / 3,
                .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, .ulpOfOne,
                -.greatestFiniteMagnitude, 123456789012345680,
            ]
            return special.randomElement(using: &rng) ?? 0
        case 1:
            return Double.random(in: -1e6...1e6, using: &rng)
        default:
            // Any bit pattern: subnormals, huge exponents, NaN payloads.
            return Double(bitPattern: UInt64.random(in: .min ... .max, using: &rng))
        }
    }

    static func bigNumber<R: RandomNumberGenerator>(using rng: inout R) -> String {
        let sign = ["", "", "-", "+"].randomElement(using: &rng) ?? ""
        let digits = (0..<Int.random(in: 1...60, using: &rng)).map { _ in
            Character(Unicode.Scalar(UInt8.random(in: 0x30...0x39, using: &rng)))
        }
        return sign + String(digits)
    }

    static func verbatimFormat<R: RandomNumberGenerator>(using rng: inout R) -> String {
        if Bool.random(using: &rng) { return Bool.random(using: &rng) ? "txt" : "mkd" }
        return String(String.UnicodeScalarView((0..<3).map { _ in
            Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng))
        }))
    }

    /// Smaller candidates: an aggregate's parts and the aggregate minus an element; any
    /// scalar other than null shrinks to null.
    static func shrinks(of value: RESPValue) -> [RESPValue] {
        switch value {
        case .null:
            return []
        case .array(let elements):
            return elements + droppingOne(elements).map { .array($0) }
        case .set(let elements):
            return elements + droppingOne(elements).map { .set($0) }
        case .push(let elements):
            return elements + droppingOne(elements).map { .push($0) }
        case .map(let pairs):
            return pairs.flatMap { [$0.key, $0.value] } + droppingOne(pairs).map { .map($0) }
        case let .attribute(attributes, annotated):
            return [annotated] + attributes.flatMap { [$0.key, $0.value] }
                + droppingOne(attributes).map { .attribute($0, annotated) }
        default:
            return [.null]
        }
    }

    private static func droppingOne<Element>(_ elements: [Element]) -> [[Element]] {
        elements.indices.map { index in
            var fewer = elements
            fewer.remove(at: index)
            return fewer
        }
    }
}

/// Bytes drawn mostly from the characters RESP gives meaning to, so random inputs reach
/// deep into the decoder instead of failing at the first type byte.
enum RESPByteGenerator {
    static let alphabet: [UInt8] = Array("+-:$*_#,(!=%~|>?;.\r\n0123456789tfnaie-".utf8)

    static func bytes(maxLength: Int = 64) -> Generator<[UInt8], Shrink.None<[UInt8]>> {
        Generator { rng in
            (0..<Int.random(in: 0...maxLength, using: &rng)).map { _ in
                Int.random(in: 0..<10, using: &rng) < 8
                    ? alphabet.randomElement(using: &rng) ?? 0
                    : UInt8.random(in: 0...255, using: &rng)
            }
        }
    }

    /// The encoding of a random value with a few random edits: bytes replaced, inserted,
    /// removed, or the tail cut off.
    static func mutatedEncodings() -> Generator<[UInt8], Shrink.None<[UInt8]>> {
        Generator { rng in
            var bytes = RESPEncoder.encode(RESPValueGenerator.value(depth: 3, using: &rng))
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                let replacement = Bool.random(using: &rng)
                    ? alphabet.randomElement(using: &rng) ?? 0
                    : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[position] = replacement
                case 1: bytes.insert(replacement, at: position)
                case 2: bytes.remove(at: position)
                default: bytes.removeSubrange(position...)
                }
            }
            return bytes
        }
    }
}

import RESP
import Testing
import WireCore

@Suite struct RESPDecoderTests {
    let decoder = RESPDecoder()

    // MARK: Golden bytes

    @Test(arguments: RESPGoldenExamples.symmetric + RESPGoldenExamples.decodeOnly)
    func decodesGoldenBytes(_ example: RESPGoldenExample) {
        #expect(DecodeOutcome(example.bytes) == .value(example.value, endIndex: example.bytes.count))
    }

    /// Bytes arrive in arbitrary pieces: every proper prefix must ask for more, wherever it
    /// cuts (inside a length, between CR and LF, inside a payload).
    @Test(arguments: RESPGoldenExamples.symmetric + RESPGoldenExamples.decodeOnly)
    func everyPrefixIsIncomplete(_ example: RESPGoldenExample) {
        for cut in 0..<example.bytes.count {
            #expect(DecodeOutcome(example.bytes, to: cut) == .incomplete, "cut at \(cut)")
            // A buffer holding exactly the prefix, so nothing past it is even addressable.
            #expect(DecodeOutcome(Array(example.bytes[..<cut])) == .incomplete, "cut at \(cut)")
        }
    }

    @Test func decodesPipelinedRepliesInSequence() throws {
        let bytes = wire("+OK\r\n:1\r\n$3\r\nfoo\r\n*2\r\n:1\r\n$-1\r\n_\r\n")
        var values: [RESPValue] = []
        var index = 0
        while let (value, next) = try decoder.decode(bytes, from: index, to: bytes.count) {
            values.append(value)
            index = next
        }
        #expect(values == [.simpleString("OK"), 1, "foo", .array([1, .null]), .null])
        #expect(index == bytes.count)
    }

    @Test func decodesFromAnOffsetAndStopsAtTheGivenEnd() throws {
        let bytes = wire("garbage:42\r\ntrailing")
        let decoded = try #require(try decoder.decode(bytes, from: 7, to: 12))
        #expect(decoded.value == 42)
        #expect(decoded.endIndex == 12)
        #expect(try decoder.decode(bytes, from: 7, to: 11) == nil)
    }

    @Test func reportsErrorOffsetsInTheCallersBuffer() {
        let bytes = wire("xxxx$abc\r\n")
        #expect(DecodeOutcome(bytes, from: 4) == .failure(.malformed(
            field: "bulk string length", reason: "expected a digit, found 'a'", offset: 5
        )))
    }

    @Test func treatsOutOfRangeBoundsAsEmptyOrClamped() {
        let bytes = wire(":1\r\n")
        #expect(DecodeOutcome(bytes, from: 4) == .incomplete)
        #expect(DecodeOutcome(bytes, from: 9, to: 2) == .incomplete)
        #expect(DecodeOutcome(bytes, from: -3, to: 100) == .value(1, endIndex: 4))
        #expect(DecodeOutcome([], from: 0) == .incomplete)
    }

    @Test func roundTripsInt64Extremes() throws {
        for number in [Int64.min, .min + 1, -1, 0, 1, .max - 1, .max] {
            let bytes = RESPEncoder.encode(.integer(number))
            #expect(DecodeOutcome(bytes) == .value(.integer(number), endIndex: bytes.count))
        }
    }

    @Test func keepsPayloadBytesVerbatim() throws {
        let payload = (0...255).map { UInt8($0) }
        let bytes = RESPEncoder.encode(.bulkString(payload))
        #expect(DecodeOutcome(bytes) == .value(.bulkString(payload), endIndex: bytes.count))
    }

    @Test func repairsInvalidUTF8InErrorTexts() {
        let bytes = wire("-ERR bad key '") + [0xFF, 0xFE] + wire("'\r\n")
        #expect(DecodeOutcome(bytes) == .value(.simpleError("ERR bad key '\u{FFFD}\u{FFFD}'"), endIndex: bytes.count))
    }

    // MARK: Malformed input

    struct MalformedExample: Sendable, CustomTestStringConvertible {
        let bytes: [UInt8]
        let field: String
        let offset: Int

        init(_ text: String, _ field: String, at offset: Int) {
            self.bytes = wire(text)
            self.field = field
            self.offset = offset
        }

        var testDescription: String { RESPValue.bulkString(bytes).description }
    }

    static let malformedExamples: [MalformedExample] = [
        .init("?x\r\n", "type", at: 0),
        .init("\r\n", "type", at: 0),
        .init(";4\r\nabcd\r\n", "type", at: 0),
        .init(".\r\n", "type", at: 0),
        .init("*1\r\n@\r\n", "type", at: 4),
        .init("+OK\nmore", "simple string", at: 3),
        .init("+OK\rX", "simple string", at: 4),
        .init("-ERR\n", "simple error", at: 4),
        .init(":\r\n", "integer", at: 1),
        .init(":-\r\n", "integer", at: 2),
        .init(":12a\r\n", "integer", at: 3),
        .init(": 1\r\n", "integer", at: 1),
        .init(":1\rX", "integer", at: 3),
        .init(":9223372036854775808\r\n", "integer", at: 1),
        .init(":-9223372036854775809\r\n", "integer", at: 1),
        .init(":00000000000000000001\r\n", "integer", at: 1),
        .init("$abc\r\n", "bulk string length", at: 1),
        .init("$\r\n", "bulk string length", at: 1),
        .init("$-2\r\n", "bulk string length", at: 1),
        .init("$-0\r\n", "bulk string length", at: 1),
        .init("$+5\r\n", "bulk string length", at: 1),
        .init("$1 \r\n", "bulk string length", at: 2),
        .init("$3\r\nabcd\r\n", "bulk string", at: 7),
        .init("$3\r\nabc\rX", "bulk string", at: 8),
        .init("$3\r\nabc\n", "bulk string", at: 7),
        .init("*x\r\n", "array length", at: 1),
        .init("*-5\r\n", "array length", at: 1),
        .init("*2\r\n:1\r\n:x\r\n", "integer", at: 9),
        .init("_x\r\n", "null", at: 1),
        .init("_\rx", "null", at: 2),
        .init("#x\r\n", "boolean", at: 1),
        .init("#T\r\n", "boolean", at: 1),
        .init("#tt\r\n", "boolean", at: 2),
        .init(",\r\n", "double", at: 1),
        .init(",abc\r\n", "double", at: 1),
        .init(",1.2.3\r\n", "double", at: 4),
        .init(",1.\r\n", "double", at: 3),
        .init(",.5\r\n", "double", at: 1),
        .init(",1e\r\n", "double", at: 3),
        .init(",1e+\r\n", "double", at: 4),
        .init(",0x1p3\r\n", "double", at: 2),
        .init(", 1\r\n", "double", at: 1),
        .init(",infinity\r\n", "double", at: 1),
        .init(",1_000\r\n", "double", at: 2),
        .init("(\r\n", "big number", at: 1),
        .init("(-\r\n", "big number", at: 2),
        .init("(12a\r\n", "big number", at: 3),
        .init("(1.5\r\n", "big number", at: 2),
        .init("!-1\r\n", "bulk error length", at: 1),
        .init("!3\r\nabcXY", "bulk error", at: 7),
        .init("=-1\r\n", "verbatim string length", at: 1),
        .init("=3\r\ntxt\r\n", "verbatim string", at: 1),
        .init("=5\r\ntxt_x\r\n", "verbatim string", at: 7),
        .init("=5\r\nt\u{1}t:x\r\n", "verbatim string", at: 5),
        .init("%-1\r\n", "map length", at: 1),
        .init("%1\r\n+key\r\n@", "type", at: 10),
        .init("~-1\r\n", "set length", at: 1),
        .init(">-1\r\n", "push length", at: 1),
        .init(">?\r\n", "push length", at: 1),
        .init("|-1\r\n", "attribute length", at: 1),
        .init("|?\r\n", "attribute length", at: 1),
        .init("$?x", "bulk string length", at: 2),
        .init("$?\r\n:1\r\n", "streamed string chunk", at: 4),
        .init("$?\r\n;-1\r\n", "streamed string chunk length", at: 5),
        .init("$?\r\n;?\r\n", "streamed string chunk length", at: 5),
        .init("$?\r\n;2\r\nabc", "streamed string chunk", at: 10),
        .init("*?\r\n.x", "array end", at: 5),
        .init("%?\r\n+a\r\n.\r\n", "type", at: 8),
    ]

    @Test(arguments: malformedExamples)
    func refusesMalformedInputNamingTheField(_ example: MalformedExample) {
        let outcome = DecodeOutcome(example.bytes)
        guard case .failure(.malformed(let field, _, let offset)) = outcome else {
            Issue.record("expected malformed \(example.field), got \(outcome)")
            return
        }
        #expect(field == example.field)
        #expect(offset == example.offset)
        expectConsistentDecoding(of: example.bytes)
    }

    @Test func explainsWhatWasWrong() {
        #expect(DecodeOutcome(wire("$-2\r\n")) == .failure(.malformed(
            field: "bulk string length", reason: "negative length -2", offset: 1
        )))
        #expect(DecodeOutcome(wire("#x\r\n")) == .failure(.malformed(
            field: "boolean", reason: "expected 't' or 'f', found 'x'", offset: 1
        )))
        #expect(DecodeOutcome(wire("\u{7}")) == .failure(.malformed(
            field: "type", reason: "unknown type byte 0x07", offset: 0
        )))
    }

    // MARK: Limits

    @Test func refusesBulkLengthsOverTheLimit() {
        #expect(DecodeOutcome(wire("$536870913\r\n")) == .failure(.limitExceeded(
            field: "bulk string length", value: 536_870_913, limit: 536_870_912, offset: 1
        )))
        // Exactly at the limit is fine: it waits for the payload without reserving it.
        #expect(DecodeOutcome(wire("$536870912\r\n")) == .incomplete)
        let small = RESPDecoder(maxBulkLength: 4)
        #expect(DecodeOutcome(small, wire("=9\r\ntxt:hello\r\n")) == .failure(.limitExceeded(
            field: "verbatim string length", value: 9, limit: 4, offset: 1
        )))
        #expect(DecodeOutcome(small, wire("!5\r\nhello\r\n")) == .failure(.limitExceeded(
            field: "bulk error length", value: 5, limit: 4, offset: 1
        )))
        #expect(DecodeOutcome(small, wire("$?\r\n;3\r\nabc\r\n;2\r\nde\r\n;0\r\n")) == .failure(.limitExceeded(
            field: "streamed string length", value: 5, limit: 4, offset: 13
        )))
        #expect(DecodeOutcome(small, wire("$?\r\n;2\r\nab\r\n;2\r\ncd\r\n;0\r\n")) == .value("abcd", endIndex: 24))
    }

    @Test func refusesAggregateCountsOverTheLimit() {
        for (type, name) in [("*", "array"), ("~", "set"), (">", "push"), ("%", "map"), ("|", "attribute")] {
            #expect(DecodeOutcome(wire("\(type)16777217\r\n")) == .failure(.limitExceeded(
                field: "\(name) length", value: 16_777_217, limit: 16_777_216, offset: 1
            )))
        }
        let small = RESPDecoder(maxAggregateCount: 2)
        #expect(DecodeOutcome(small, wire("*?\r\n:1\r\n:2\r\n:3\r\n.\r\n")) == .failure(.limitExceeded(
            field: "array length", value: 3, limit: 2, offset: 12
        )))
        #expect(DecodeOutcome(small, wire("%?\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n.\r\n")) == .failure(.limitExceeded(
            field: "map length", value: 3, limit: 2, offset: 20
        )))
    }

    /// A count announces far more elements than have arrived; the decoder must wait
    /// without reserving memory for all of them.
    @Test func hugeAnnouncedCountsDoNotReserveMemoryAheadOfTheBytes() {
        for type in ["*", "~", ">", "%", "|"] {
            #expect(DecodeOutcome(wire("\(type)16777216\r\n:1\r\n")) == .incomplete)
        }
        #expect(DecodeOutcome(wire("$536870912\r\nabc")) == .incomplete)
    }

    @Test func refusesLinesOverTheLimitWithoutWaitingForTheirEnd() {
        let small = RESPDecoder(maxLineLength: 4)
        #expect(DecodeOutcome(small, wire("+12345\r\n")) == .failure(.limitExceeded(
            field: "simple string", value: 5, limit: 4, offset: 1
        )))
        #expect(DecodeOutcome(small, wire("-12345")) == .failure(.limitExceeded(
            field: "simple error", value: 5, limit: 4, offset: 1
        )))
        #expect(DecodeOutcome(small, wire(",1.2345\r\n")) == .failure(.limitExceeded(
            field: "double", value: 5, limit: 4, offset: 1
        )))
        #expect(DecodeOutcome(small, wire("(12345")) == .failure(.limitExceeded(
            field: "big number", value: 5, limit: 4, offset: 1
        )))
        // Four bytes and a CR may still be a line of exactly the limit.
        #expect(DecodeOutcome(small, wire("+1234\r")) == .incomplete)
        #expect(DecodeOutcome(small, wire("+1234\r\n")) == .value(.simpleString("1234"), endIndex: 7))
        #expect(DecodeOutcome(small, wire("+\r\n")) == .value(.simpleString(""), endIndex: 3))
    }

    @Test func refusesHostileNestingWithoutOverflowingTheStack() {
        let nested = Array(repeating: wire("*1\r\n"), count: 100_000).flatMap { $0 }
        #expect(DecodeOutcome(nested) == .failure(.limitExceeded(
            field: "nesting depth", value: 65, limit: 64, offset: 64 * 4
        )))
        let attributes = Array(repeating: wire("|0\r\n"), count: 100_000).flatMap { $0 }
        #expect(DecodeOutcome(attributes) == .failure(.limitExceeded(
            field: "nesting depth", value: 65, limit: 64, offset: 64 * 4
        )))
        let streamed = Array(repeating: wire("*?\r\n"), count: 100_000).flatMap { $0 }
        #expect(DecodeOutcome(streamed) == .failure(.limitExceeded(
            field: "nesting depth", value: 65, limit: 64, offset: 64 * 4
        )))
        let maps = Array(repeating: wire("%1\r\n"), count: 100_000).flatMap { $0 }
        #expect(DecodeOutcome(maps) == .failure(.limitExceeded(
            field: "nesting depth", value: 65, limit: 64, offset: 64 * 4
        )))
    }

    @Test func acceptsNestingUpToTheLimit() {
        var value: RESPValue = 1
        for _ in 0..<64 { value = .array([value]) }
        let bytes = RESPEncoder.encode(value)
        #expect(DecodeOutcome(bytes) == .value(value, endIndex: bytes.count))
        #expect(DecodeOutcome(RESPDecoder(maxDepth: 63), bytes) == .failure(.limitExceeded(
            field: "nesting depth", value: 64, limit: 63, offset: 63 * 4
        )))
        // RESP2 nulls are not aggregates, so they fit at the deepest level.
        let nullAtTheBottom = Array(repeating: wire("*1\r\n"), count: 64).flatMap { $0 } + wire("*-1\r\n")
        guard case .value(_, let endIndex) = DecodeOutcome(nullAtTheBottom) else {
            Issue.record("a null array at depth 64 was refused")
            return
        }
        #expect(endIndex == nullAtTheBottom.count)
    }

    /// A configured depth above the default still decodes on a task's stack. Kept at twice
    /// the default: a debug build spends about 3 KB of stack per level, and some platforms
    /// give tasks' threads only 512 KB.
    @Test func deeperConfiguredNestingFitsOnATaskStack() async {
        let depth = 128
        let bytes = Array(repeating: wire("*1\r\n"), count: depth).flatMap { $0 } + wire(":1\r\n")
        let outcome = await Task.detached { DecodeOutcome(RESPDecoder(maxDepth: depth), bytes) }.value
        guard case .value(_, let endIndex) = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        #expect(endIndex == bytes.count)
    }

    @Test func neverReportsTruncation() {
        let inputs = RESPGoldenExamples.symmetric.map(\.bytes) + Self.malformedExamples.map(\.bytes)
        for bytes in inputs {
            for cut in 0...bytes.count {
                if case .failure(let error) = DecodeOutcome(bytes, to: cut) {
                    #expect(!error.isTruncation)
                }
            }
        }
    }
}

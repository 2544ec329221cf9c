import RESP
import Testing

/// A value and its exact wire bytes. Most come from the RESP3 specification's examples
/// (github.com/redis/redis-specifications, protocol/RESP3.md) and Redis' documentation.
struct RESPGoldenExample: Sendable, CustomTestStringConvertible {
    let name: String
    let value: RESPValue
    let bytes: [UInt8]

    init(_ name: String, _ value: RESPValue, _ text: String) {
        self.init(name, value, wire(text))
    }

    init(_ name: String, _ value: RESPValue, _ bytes: [UInt8]) {
        self.name = name
        self.value = value
        self.bytes = bytes
    }

    var testDescription: String { name }
}

enum RESPGoldenExamples {
    /// Examples that encode to exactly these bytes and decode back to exactly this value.
    static let symmetric: [RESPGoldenExample] = [
        .init("simple string", .simpleString("OK"), "+OK\r\n"),
        .init("empty simple string", .simpleString(""), "+\r\n"),
        .init("non-ASCII simple string", .simpleString("héllo ✓ 🚀"), "+héllo ✓ 🚀\r\n"),
        .init("simple error", .simpleError("ERR unknown command 'foobar'"), "-ERR unknown command 'foobar'\r\n"),
        .init(
            "WRONGTYPE error",
            .simpleError("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        ),
        .init("zero", .integer(0), ":0\r\n"),
        .init("integer", .integer(1000), ":1000\r\n"),
        .init("negative integer", .integer(-42), ":-42\r\n"),
        .init("Int64.max", .integer(.max), ":9223372036854775807\r\n"),
        .init("Int64.min", .integer(.min), ":-9223372036854775808\r\n"),
        .init("bulk string", .bulkString(wire("hello")), "$5\r\nhello\r\n"),
        .init("empty bulk string", .bulkString([]), "$0\r\n\r\n"),
        .init(
            "binary bulk string",
            .bulkString([0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x24]),
            wire("$6\r\n") + [0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x24] + wire("\r\n")
        ),
        .init("null", .null, "_\r\n"),
        .init("array of bulk strings", .array(["hello", "world"]), "*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n"),
        .init("empty array", .array([]), "*0\r\n"),
        .init("array of integers", .array([1, 2, 3]), "*3\r\n:1\r\n:2\r\n:3\r\n"),
        .init(
            "nested arrays",
            .array([.array([1, 2, 3]), .array([.simpleString("Hello"), .simpleError("World")])]),
            "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n"
        ),
        .init("array with a null", .array(["hello", .null, "world"]), "*3\r\n$5\r\nhello\r\n_\r\n$5\r\nworld\r\n"),
        .init("true", .boolean(true), "#t\r\n"),
        .init("false", .boolean(false), "#f\r\n"),
        .init("double", .double(1.23), ",1.23\r\n"),
        .init("integral double", .double(10), ",10.0\r\n"),
        .init("negative zero", .double(-0.0), ",-0.0\r\n"),
        .init("small double", .double(1e-05), ",1e-05\r\n"),
        .init("large double", .double(1e+20), ",1e+20\r\n"),
        .init("smallest subnormal", .double(.leastNonzeroMagnitude), ",5e-324\r\n"),
        .init("largest double", .double(.greatestFiniteMagnitude), ",1.7976931348623157e+308\r\n"),
        .init("infinity", .double(.infinity), ",inf\r\n"),
        .init("negative infinity", .double(-.infinity), ",-inf\r\n"),
        .init("NaN", .double(.nan), ",nan\r\n"),
        .init(
            "big number",
            .bigNumber("3492890328409238509324850943850943825024385"),
            "(3492890328409238509324850943850943825024385\r\n"
        ),
        .init(
            "negative big number",
            .bigNumber("-3492890328409238509324850943850943825024385"),
            "(-3492890328409238509324850943850943825024385\r\n"
        ),
        .init("bulk error", .bulkError(wire("SYNTAX invalid syntax")), "!21\r\nSYNTAX invalid syntax\r\n"),
        .init(
            "verbatim string",
            .verbatimString(format: "txt", text: wire("Some string")),
            "=15\r\ntxt:Some string\r\n"
        ),
        .init("empty verbatim string", .verbatimString(format: "mkd", text: []), "=4\r\nmkd:\r\n"),
        .init(
            "map",
            .map([
                RESPPair(key: .simpleString("first"), value: 1),
                RESPPair(key: .simpleString("second"), value: 2),
            ]),
            "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"
        ),
        .init("empty map", .map([]), "%0\r\n"),
        .init(
            "map with an aggregate key",
            .map([RESPPair(key: .array([1, 2]), value: .set(["x"]))]),
            "%1\r\n*2\r\n:1\r\n:2\r\n~1\r\n$1\r\nx\r\n"
        ),
        .init(
            "set",
            .set([.simpleString("orange"), .simpleString("apple"), true, 100, 999]),
            "~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n"
        ),
        .init(
            "attribute",
            .attribute(
                [RESPPair(
                    key: .simpleString("key-popularity"),
                    value: .map([RESPPair(key: "a", value: .double(0.1923)), RESPPair(key: "b", value: .double(0.0012))])
                )],
                .array([2_039_123, 9_543_892])
            ),
            "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n"
        ),
        .init(
            "attribute inside an array",
            .array([1, 2, .attribute([RESPPair(key: .simpleString("ttl"), value: 3600)], 3)]),
            "*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n"
        ),
        .init(
            "pub/sub push",
            .push([
                .simpleString("pubsub"), .simpleString("message"), .simpleString("somechannel"),
                .simpleString("this is the message"),
            ]),
            ">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n"
        ),
        .init(
            "invalidation push",
            .push(["invalidate", .array(["foo"])]),
            ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nfoo\r\n"
        ),
    ]

    /// Forms the decoder accepts that the encoder writes differently (RESP2 nulls, signs,
    /// letter case, streamed types).
    static let decodeOnly: [RESPGoldenExample] = [
        .init("RESP2 null bulk string", .null, "$-1\r\n"),
        .init("RESP2 null array", .null, "*-1\r\n"),
        .init(
            "RESP2 null inside an array",
            .array(["hello", .null, "world"]),
            "*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n"
        ),
        .init("integer with a plus sign", .integer(7), ":+7\r\n"),
        .init("negative zero integer", .integer(0), ":-0\r\n"),
        .init("integer with leading zeros", .integer(7), ":007\r\n"),
        .init("double without a fraction", .double(10), ",10\r\n"),
        .init("double with a plus sign and capital E", .double(1500), ",+1.5E3\r\n"),
        .init("double with a negative exponent", .double(0.0015), ",1.5e-3\r\n"),
        .init("Redis %.17g double", .double(3.14), ",3.1400000000000001\r\n"),
        .init("upper-case infinity", .double(.infinity), ",INF\r\n"),
        .init("mixed-case negative infinity", .double(-.infinity), ",-Inf\r\n"),
        .init("plus infinity", .double(.infinity), ",+inf\r\n"),
        .init("upper-case NaN", .double(.nan), ",NaN\r\n"),
        .init("negative NaN", .double(.nan), ",-nan\r\n"),
        .init(
            "streamed string",
            .bulkString(wire("Hello word")),
            "$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n"
        ),
        .init("empty streamed string", .bulkString([]), "$?\r\n;0\r\n"),
        .init("streamed array", .array([1, 2, 3]), "*?\r\n:1\r\n:2\r\n:3\r\n.\r\n"),
        .init("empty streamed array", .array([]), "*?\r\n.\r\n"),
        .init("streamed set", .set([.simpleString("a")]), "~?\r\n+a\r\n.\r\n"),
        .init(
            "streamed map",
            .map([RESPPair(key: .simpleString("a"), value: 1), RESPPair(key: .simpleString("b"), value: 2)]),
            "%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n"
        ),
        .init("streamed array of streamed arrays", .array([.array([1]), .array([])]), "*?\r\n*?\r\n:1\r\n.\r\n*?\r\n.\r\n.\r\n"),
    ]
}

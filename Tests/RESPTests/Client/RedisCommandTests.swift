import RESP
import Testing
import WireCore

@Suite("RedisCommand")
struct RedisCommandTests {
    @Test("encodes the RESP request form byte for byte")
    func goldenBytes() {
        let command = RedisCommand("SET").key("k").argument("value").argument("EX").argument(60)
        var bytes: [UInt8] = []
        command.encode(into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$2\r\nEX\r\n$2\r\n60\r\n")
        #expect(command.argumentCount == 5)
        #expect(command.words == ["SET", "k", "value", "EX", "60"])
    }

    @Test("binary arguments, empty arguments and more than nine arguments")
    func binaryAndLongCommands() throws {
        var command = RedisCommand("MSET")
        for index in 0..<6 { command = command.key([0, 13, 10, UInt8(index)]).argument("") }
        var bytes: [UInt8] = []
        command.encode(into: &bytes)
        #expect(bytes.starts(with: Array("*13\r\n$4\r\nMSET\r\n$4\r\n\u{0}\r\n\u{0}\r\n$0\r\n\r\n".utf8)))
        // The encoded request decodes as an array of 13 bulk strings.
        let decoded = try #require(try RESPDecoder().decode(bytes, from: 0, to: bytes.count))
        #expect(decoded.endIndex == bytes.count)
        #expect(decoded.value.array?.count == 13)
    }

    @Test("computes the slot of its keys and notices keys in different slots")
    func slots() {
        let single = RedisCommand("GET").key("foo")
        #expect(single.slot == 12182)
        #expect(!single.spansSlots)
        let tagged = RedisCommand("MGET").key("{user1000}.following").key("{user1000}.followers")
        #expect(!tagged.spansSlots)
        let spread = RedisCommand("MGET").key("foo").key("bar")
        #expect(spread.spansSlots)
        #expect(spread.keyNames == ["foo", "bar"])
        #expect(RedisCommand("PING").slot == nil)
    }

    @Test("read-only commands are recognised for replica routing")
    func readOnly() {
        #expect(RedisCommand("GET").isReadOnly)
        #expect(RedisCommand("get").isReadOnly)
        #expect(!RedisCommand("SET").isReadOnly)
        #expect(RedisCommand("SET", readOnly: true).isReadOnly)
    }

    @Test("raw words: keys found from the command table")
    func rawWords() {
        #expect(RedisCommand(words: ["SET", "foo", "bar"]).slot == 12182)
        #expect(RedisCommand(words: ["MSET", "{a}x", "1", "{a}y", "2"]).spansSlots == false)
        #expect(RedisCommand(words: ["MSET", "foo", "1", "bar", "2"]).spansSlots)
        #expect(RedisCommand(words: ["EVAL", "return 1", "2", "foo", "bar", "arg"]).keyNames == ["foo", "bar"])
        #expect(RedisCommand(words: ["PUBLISH", "channel", "message"]).slot == nil)
    }
}

@Suite("KeySpecification")
struct KeySpecificationTests {
    @Test("key positions of common command shapes", arguments: [
        (["GET", "k"], [1]),
        (["DEL", "a", "b", "c"], [1, 2, 3]),
        (["MSET", "a", "1", "b", "2"], [1, 3]),
        (["RENAME", "a", "b"], [1, 2]),
        (["BLPOP", "a", "b", "0"], [1, 2]),
        (["EVALSHA", "sha", "1", "k", "arg"], [3]),
        (["EVAL", "s", "0", "arg"], []),
        (["ZUNIONSTORE", "dest", "2", "a", "b", "WEIGHTS", "1", "2"], [1, 3, 4]),
        (["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"], [4, 5]),
        (["OBJECT", "ENCODING", "k"], [2]),
        (["PING"], []),
        (["UNKNOWNCMD", "x"], []),
        (["GET"], []),
    ])
    func positions(words: [String], expected: [Int]) {
        #expect(KeySpecification.keyPositions(for: words) == Set(expected))
    }
}

@Suite("RedisServerError")
struct RedisServerErrorTests {
    @Test("classifies error codes and parses redirect targets")
    func classification() {
        #expect(RedisServerError(message: "MOVED 3999 127.0.0.1:6381").kind == .moved(slot: 3999, host: "127.0.0.1", port: 6381))
        #expect(RedisServerError(message: "ASK 3999 127.0.0.1:6381").kind == .ask(slot: 3999, host: "127.0.0.1", port: 6381))
        #expect(RedisServerError(message: "MOVED 1 :7000").kind == .moved(slot: 1, host: "", port: 7000))
        #expect(RedisServerError(message: "MOVED 1 [::1]:7000").kind == .moved(slot: 1, host: "::1", port: 7000))
        #expect(RedisServerError(message: "CROSSSLOT Keys in request don't hash to the same slot").kind == .crossSlot)
        #expect(RedisServerError(message: "TRYAGAIN Multiple keys request during rehashing of slot").kind == .tryAgain)
        #expect(RedisServerError(message: "CLUSTERDOWN The cluster is down").kind == .clusterDown)
        #expect(RedisServerError(message: "NOSCRIPT No matching script.").kind == .noScript)
        #expect(RedisServerError(message: "WRONGTYPE Operation against a key holding the wrong kind of value").kind == .wrongType)
        #expect(RedisServerError(message: "ERR unknown command").kind == .generic(code: "ERR"))
        #expect(RedisServerError(message: "MOVED garbage").kind == .generic(code: "MOVED"))
        #expect(RESPValue.simpleError("LOADING Redis is loading").redisError?.kind == .loading)
        #expect(RESPValue.bulkError(Array("BUSY script".utf8)).redisError?.kind == .busy)
        #expect(RESPValue.simpleString("OK").redisError == nil)
    }
}

@Suite("RedisConnectionConfiguration")
struct RedisConnectionConfigurationTests {
    @Test("parses redis:// and rediss:// URLs")
    func urls() throws {
        let plain = try RedisConnectionConfiguration(url: "redis://127.0.0.1:16379")
        #expect(plain.host == "127.0.0.1" && plain.port == 16379 && plain.tls == nil && plain.database == 0)
        let full = try RedisConnectionConfiguration(url: "rediss://alice:p%40ss@localhost:6380/3", caFile: "/tmp/ca.pem")
        #expect(full.username == "alice" && full.password == "p@ss" && full.database == 3)
        #expect(full.tls?.caFile == "/tmp/ca.pem")
        let passwordOnly = try RedisConnectionConfiguration(url: "redis://secret@host")
        #expect(passwordOnly.password == "secret" && passwordOnly.username == nil && passwordOnly.port == 6379)
        let v6 = try RedisConnectionConfiguration(url: "redis://[::1]:7000")
        #expect(v6.host == "::1" && v6.port == 7000)
    }

    @Test("rejects malformed URLs with a reason")
    func badURLs() {
        #expect(throws: RedisError.self) { try RedisConnectionConfiguration(url: "http://x") }
        #expect(throws: RedisError.self) { try RedisConnectionConfiguration(url: "redis://host:port") }
        #expect(throws: RedisError.self) { try RedisConnectionConfiguration(url: "redis://host/db") }
    }
}

import RESP
import Testing
import WireCore

@Suite struct RESPEncoderTests {
    @Test(arguments: RESPGoldenExamples.symmetric)
    func encodesGoldenBytes(_ example: RESPGoldenExample) {
        #expect(RESPEncoder.encode(example.value) == example.bytes)
    }

    @Test func appendsToWhatTheWriterAlreadyHolds() {
        var writer = ByteWriter()
        writer.writeBytes(wire("prefix"))
        RESPEncoder.encode(.integer(1), into: &writer)
        RESPEncoder.encode(.null, into: &writer)
        #expect(writer.bytes == wire("prefix:1\r\n_\r\n"))
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        var writer = ByteWriter()
        RESPEncoder.encodeCommand([wire("SET"), wire("key"), [0x00, 0x0D, 0x0A]], into: &writer)
        #expect(writer.bytes == wire("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n") + [0x00, 0x0D, 0x0A] + wire("\r\n"))
    }

    @Test func encodesTextCommandsAsTheirUTF8() {
        var writer = ByteWriter()
        RESPEncoder.encodeCommand(["GET", "ключ"], into: &writer)
        #expect(writer.bytes == wire("*2\r\n$3\r\nGET\r\n$8\r\nключ\r\n"))
    }

    @Test func encodesCommandArgumentsGivenAsSlicesAndSubstrings() {
        var bytesWriter = ByteWriter()
        let line = wire("ECHO hello")
        RESPEncoder.encodeCommand([line[0..<4], line[5...]], into: &bytesWriter)
        var textWriter = ByteWriter()
        RESPEncoder.encodeCommand("ECHO hello".split(separator: " "), into: &textWriter)
        #expect(bytesWriter.bytes == wire("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n"))
        #expect(textWriter.bytes == bytesWriter.bytes)
    }

    @Test func encodesAnEmptyCommandAsAnEmptyArray() {
        var writer = ByteWriter()
        RESPEncoder.encodeCommand([[UInt8]](), into: &writer)
        #expect(writer.bytes == wire("*0\r\n"))
    }

    @Test func commandEncodingMatchesEncodingTheEquivalentValue() {
        let arguments = [wire("HSET"), wire("h"), [], Array(repeating: 0x78, count: 1000)]
        var writer = ByteWriter()
        RESPEncoder.encodeCommand(arguments, into: &writer)
        #expect(writer.bytes == RESPEncoder.encode(.array(arguments.map { .bulkString($0) })))
    }

    /// A CR or LF in a line type would end the line early and smuggle the rest in as more
    /// messages, so the encoder turns them into spaces.
    @Test func replacesLineBreaksInLineTypesSoFramingCannotBeInjected() throws {
        let injected = "OK\r\n+INJECTED\n"
        #expect(RESPEncoder.encode(.simpleString(injected)) == wire("+OK  +INJECTED \r\n"))
        #expect(RESPEncoder.encode(.simpleError("ERR a\rb")) == wire("-ERR a b\r\n"))
        #expect(RESPEncoder.encode(.bigNumber("12\r\n:3")) == wire("(12  :3\r\n"))

        // Whatever the encoder wrote is exactly one message.
        let bytes = RESPEncoder.encode(.simpleString(injected))
        let decoded = try #require(try RESPDecoder().decode(bytes))
        #expect(decoded.endIndex == bytes.count)
    }

    @Test func writesVerbatimFormatsAsExactlyThreeBytes() {
        #expect(RESPEncoder.encode(.verbatimString(format: "markdown", text: wire("x"))) == wire("=5\r\nmar:x\r\n"))
        #expect(RESPEncoder.encode(.verbatimString(format: "t", text: [])) == wire("=4\r\nt  :\r\n"))
    }

    @Test(arguments: [
        0.1, 0.2 + 0.1, 1.0 / 3, 2.5e-8, 1e-05, 1e+20, 1e16, 123456789012345680, -987.654e-300,
        Double.leastNormalMagnitude, Double.ulpOfOne, -Double.greatestFiniteMagnitude,
    ])
    func writesDoublesThatParseBackExactly(_ number: Double) throws {
        let bytes = RESPEncoder.encode(.double(number))
        let decoded = try #require(try RESPDecoder().decode(bytes))
        guard case .double(let roundTripped) = decoded.value else {
            Issue.record("decoded \(decoded.value.debugDescription)")
            return
        }
        #expect(roundTripped.bitPattern == number.bitPattern)
    }
}

@testable import LabProxy
import Synchronization
import Testing

/// Framers without sockets: frames come out whole whatever the split, garbage passes through.
@Suite struct FramerTests {
    final class Events: Sendable {
        let list = Mutex<[TraceEvent]>([])
        var all: [TraceEvent] { list.withLock { $0 } }
        func context(fail: String? = nil) -> FramerContext {
            FramerContext(connection: 1, route: "r", emit: { event in self.list.withLock { $0.append(event) } },
                          failMessage: { names in fail.flatMap { f in names.contains { $0.uppercased() == f } ? "boom" : nil } })
        }
    }

    @Test func respFramesSurviveAnySplitAndPairRepliesInOrder() {
        let request = Array("*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n".utf8)
        let reply = Array("+OK\r\n$3\r\nbar\r\n".utf8)
        for split in 1..<request.count {
            let events = Events()
            let framer = RESPFramer(context: events.context())
            let now = ProxyClock.now()
            var out: [UInt8] = []
            for frame in framer.feed(Array(request[..<split]), direction: .upstream, now: now) { out += frame.bytes }
            for frame in framer.feed(Array(request[split...]), direction: .upstream, now: now) { out += frame.bytes }
            #expect(out == request)
            _ = framer.feed(reply, direction: .downstream, now: now)
            let all = events.all
            #expect(all.map(\.name) == ["SET", "GET"])
            #expect(all.first?.fields.first { $0.0 == "slot" }?.1 == .int(12182))
            #expect(all.first?.fields.first { $0.0 == "reply" }?.1 == .string("simple"))
            framer.finish(now: now)
        }
    }

    @Test func respMovedIsTraced() {
        let events = Events()
        let framer = RESPFramer(context: events.context())
        let now = ProxyClock.now()
        _ = framer.feed(Array("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n".utf8), direction: .upstream, now: now)
        _ = framer.feed(Array("-MOVED 12182 127.0.0.1:7002\r\n".utf8), direction: .downstream, now: now)
        let event = events.all.first
        #expect(event?.fields.first { $0.0 == "redirect" }?.1 == .string("MOVED"))
        #expect(event?.fields.first { $0.0 == "redirect_to" }?.1 == .string("127.0.0.1:7002"))
    }

    @Test func respFailFaultAnswersLocallyAfterEarlierReplies() {
        let events = Events()
        let framer = RESPFramer(context: events.context(fail: "GET"))
        let now = ProxyClock.now()
        let frames = framer.feed(Array("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".utf8), direction: .upstream, now: now)
        #expect(frames.count == 2)
        #expect(frames[1].localReply == [])  // owed after PING's reply
        let replies = framer.feed(Array("+PONG\r\n".utf8), direction: .downstream, now: now)
        #expect(replies.map { String(decoding: $0.bytes, as: UTF8.self) } == ["+PONG\r\n", "-ERR boom\r\n"])
    }

    @Test func garbageGoesThroughUntouchedAndIsMarked() {
        let garbage: [UInt8] = Array("GET / HTTP/1.1\r\n\r\n".utf8) + [0xFF, 0x00, 0x13]
        for make in [{ (c: FramerContext) -> ProtocolFramer in RESPFramer(context: c) },
                     { KafkaFramer(context: $0) }, { MySQLFramer(context: $0) }] {
            let events = Events()
            let framer = make(events.context())
            let now = ProxyClock.now()
            var out: [UInt8] = []
            for frame in framer.feed(garbage, direction: .upstream, now: now) { out += frame.bytes }
            for frame in framer.feed(garbage, direction: .upstream, now: now) { out += frame.bytes }
            // MySQL reads any 4 bytes as a packet header; the others give up on the frame size.
            if framer is MySQLFramer {
                #expect(out.count <= garbage.count * 2)
            } else {
                #expect(out == garbage + garbage)
                #expect(events.all.contains { $0.name == "unparsed" })
            }
            framer.finish(now: now)
        }
    }

    /// Random bytes, cut at random, both directions: no framer traps, and what comes out is
    /// always a prefix of what went in (bytes are held only until a frame completes).
    @Test func randomBytesNeverCrashAFramerAndPassThroughInOrder() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            let events = Events()
            let context = events.context()
            let framer: ProtocolFramer = [RESPFramer(context: context), KafkaFramer(context: context), MySQLFramer(context: context)][round % 3]
            let now = ProxyClock.now()
            for direction in [ProxyDirection.upstream, .downstream] {
                // Small sizes make plausible length prefixes likely, so frames do complete.
                let count = Int.random(in: 0...600, using: &generator)
                var input: [UInt8] = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if round % 2 == 0, input.count > 4 { input[0] = 0; input[1] = 0; input[2] = 0; input[3] = UInt8.random(in: 4...40, using: &generator) }
                var output: [UInt8] = []
                var offset = 0
                while offset < input.count {
                    let end = min(input.count, offset + Int.random(in: 1...64, using: &generator))
                    for frame in framer.feed(Array(input[offset..<end]), direction: direction, now: now) {
                        output += frame.localReply == nil ? frame.bytes : []
                    }
                    offset = end
                }
                #expect(output.count <= input.count && Array(input.prefix(output.count)) == output)
            }
            framer.finish(now: now)
        }
    }

    @Test func kafkaRequestAndResponseAreMatchedByCorrelationID() {
        let events = Events()
        let framer = KafkaFramer(context: events.context())
        // ApiVersions v0 request: size, key 18, version 0, correlation 7, client id "t".
        let request: [UInt8] = [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 7, 0, 1, 0x74]
        let now = ProxyClock.now()
        let forwarded = framer.feed(Array(request[..<5]), direction: .upstream, now: now)
            + framer.feed(Array(request[5...]), direction: .upstream, now: now)
        #expect(forwarded.flatMap(\.bytes) == request)
        #expect(forwarded.last?.names == ["ApiVersions"])
        // ApiVersions v0 response: correlation 7, error 0, empty api array.
        let response: [UInt8] = [0, 0, 0, 10, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0]
        _ = framer.feed(response, direction: .downstream, now: now)
        let event = events.all.first
        #expect(event?.name == "ApiVersions")
        #expect(event?.correlationID == 7)
        #expect(event?.latencyMicros != nil)
    }

    @Test func mysqlErrPacketIsWellFormed() {
        let packet = MySQLFramer.errPacket(code: 1105, message: "x", sequence: 1)
        #expect(packet == [10, 0, 0, 1, 0xFF, 0x51, 0x04] + Array("#HY000x".utf8))
    }

    @Test func faultParametersParse() throws {
        #expect(try Fault.parse(["kind": "latency", "ms": "100", "jitter": "5"]) == Fault(.latency(ms: 100, jitterMs: 5)))
        #expect(try Fault.parse(["kind": "fail", "command": "GET", "message": "no", "direction": "upstream"])
            == Fault(.fail(command: "GET", message: "no"), direction: .upstream))
        #expect(throws: ProxyError.self) { try Fault.parse(["kind": "latency"]) }
        #expect(throws: ProxyError.self) { try Fault.parse(["kind": "nope"]) }
        #expect(try Fault.parse(["kind": "bandwidth", "rate": "65536", "direction": "downstream"])
            == Fault(.bandwidth(bytesPerSecond: 65536), direction: .downstream))
        #expect(throws: ProxyError.self) { try Fault.parse(["kind": "bandwidth", "rate": "0"]) }
        #expect(throws: ProxyError.self) { try Fault.parse(["kind": "bandwidth"]) }
    }

    @Test func httpRequestParserAndQueryDecoding() {
        var parser = HTTPRequestParser()
        guard case .incomplete = parser.feed(Array("POST /faults/18510?kind=fail&message=a%20b HTTP/1.1\r\nHost: x\r\n".utf8)) else {
            Issue.record("expected incomplete"); return
        }
        guard case let .complete(request) = parser.feed(Array("Content-Length: 2\r\n\r\n{}".utf8)) else {
            Issue.record("expected a request"); return
        }
        #expect(request.method == "POST")
        #expect(request.body == Array("{}".utf8))
        let (path, query) = HTTPRequestParser.splitTarget(request.target)
        #expect(path == "/faults/18510")
        #expect(query == ["kind": "fail", "message": "a b"])
        var bad = HTTPRequestParser()
        guard case .failed = bad.feed(Array("garbage\r\n\r\n".utf8)) else { Issue.record("expected failure"); return }
    }

    @Test func jsonRoundTripsAndTimeFormats() {
        let value = JSONValue.object([("a", .string("x\"\n")), ("b", .array([.int(-3), .bool(true), .null]))])
        #expect(JSONValue.parse(value.serialized) == value)
        #expect(TraceEvent.isoTime(0) == "1970-01-01T00:00:00.000000Z")
        #expect(TraceEvent.isoTime(1_700_000_000_123_456) == "2023-11-14T22:13:20.123456Z")
    }
}

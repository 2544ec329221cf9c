#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
import WireCore

@Suite struct ChannelTests {
    // MARK: Echo

    /// Frames written by one writer: [writer][sequence: UInt32][length: UInt16][payload].
    /// The payload depends on writer, sequence and position, so a byte out of place shows.
    static func frame(writer: UInt8, sequence: UInt32, length: Int) -> [UInt8] {
        var frame: [UInt8] = [writer]
        frame.reserveCapacity(7 + length)
        withUnsafeBytes(of: sequence.bigEndian) { frame.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(length).bigEndian) { frame.append(contentsOf: $0) }
        for index in 0..<length {
            frame.append(UInt8(truncatingIfNeeded: Int(writer) &* 31 &+ Int(sequence) &* 7 &+ index))
        }
        return frame
    }

    /// Sends `payloadBytes` in frames of varying size; returns how many bytes went out.
    static func writeFrames(_ channel: Channel, writer: UInt8, payloadBytes: Int) async -> Int {
        var sent = 0
        var written = 0
        var sequence: UInt32 = 0
        var seed = UInt32(writer) &* 2_654_435_761 &+ 1
        while sent < payloadBytes {
            seed = seed &* 1_103_515_245 &+ 12345
            let length = min(payloadBytes - sent, 1 + Int(seed >> 16) % 4000)
            let frame = frame(writer: writer, sequence: sequence, length: length)
            #expect(channel.write(bytes: frame))
            written += frame.count
            sent += length
            sequence += 1
            if sequence % 8 == 0 { await Task.yield() }
        }
        return written
    }

    /// Runs `body` with a channel to an echo server and the handler recording what comes back.
    static func withEchoChannel(_ body: (Channel, RecordingHandler) async throws -> Void) async throws {
        let server = try TestTCPServer(.echo)
        defer { server.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        defer { channel.close() }
        try await body(channel, handler)
    }

    /// 1 MiB of payload from four concurrent writers, two on other threads (each write sent
    /// at once) and two on the channel's own loop (writes coalesced at the end of a loop turn):
    /// every byte comes back, and each writer's frames come back in the order written.
    @Test func echoesOneMebibyteFromConcurrentWritersInPerWriterOrder() async throws {
        try await Self.withEchoChannel { channel, handler in
            let writers = 4
            let perWriter = (1 << 20) / writers
            let loop = channel.eventLoop
            let totalWritten = await withTaskGroup(of: Int.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        if writer % 2 == 0 {
                            return await ChannelTests.writeFrames(channel, writer: UInt8(writer), payloadBytes: perWriter)
                        }
                        return await withTaskExecutorPreference(loop) {
                            await ChannelTests.writeFrames(channel, writer: UInt8(writer), payloadBytes: perWriter)
                        }
                    }
                }
                return await group.reduce(0, +)
            }

            let complete = await handler.wait(timeout: .seconds(30)) { $0.bytes.count >= totalWritten }
            let record = handler.snapshot
            try #require(complete, "received \(record.bytes.count) of \(totalWritten) bytes; closed: \(record.closeErrors)")
            #expect(record.bytes.count == totalWritten)
            #expect(record.closeErrors.isEmpty)
            #expect(record.readsOffLoop == 0, "channelRead ran off the event loop")

            var reader = ByteReader(record.bytes)
            var nextSequence = [UInt32](repeating: 0, count: writers)
            var payload = [Int](repeating: 0, count: writers)
            while !reader.isAtEnd {
                let writer = Int(try reader.readUInt8("writer"))
                try #require(writer < writers, "corrupt frame header at \(reader.readerIndex - 1)")
                let sequence = try reader.readBigEndian(UInt32.self, "sequence")
                let length = Int(try reader.readBigEndian(UInt16.self, "length"))
                try #require(sequence == nextSequence[writer], "writer \(writer): frame \(sequence) arrived, \(nextSequence[writer]) expected")
                let body = try reader.readBytes(length, "payload")
                try #require(body == Array(Self.frame(writer: UInt8(writer), sequence: sequence, length: length).dropFirst(7)),
                             "writer \(writer) frame \(sequence): payload corrupted")
                nextSequence[writer] += 1
                payload[writer] += length
            }
            #expect(payload == [Int](repeating: perWriter, count: writers))
        }
    }

    /// A write sent at once goes to the socket straight from the caller's array; what the
    /// socket does not take is queued, and a write behind it waits its turn: 8 MiB (more than
    /// a loopback socket takes in one send) then a short write come back whole and in order.
    @Test func aLargeImmediateWriteIsQueuedPastWhatTheSocketTakesAndStaysInOrder() async throws {
        try await Self.withEchoChannel { channel, handler in
            let large = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
            let after = Array("after the large write".utf8)
            let accepted = await withTaskExecutorPreference(channel.eventLoop) {
                channel.write(bytes: large, flush: .immediately) && channel.write(bytes: after, flush: .immediately)
            }
            #expect(accepted)
            let total = large.count + after.count
            let complete = await handler.wait(timeout: .seconds(30)) { $0.bytes.count >= total }
            let record = handler.snapshot
            try #require(complete, "received \(record.bytes.count) of \(total) bytes; closed: \(record.closeErrors)")
            #expect(record.bytes.count == total)
            #expect(record.bytes == large + after)
            #expect(record.closeErrors.isEmpty)
        }
    }

    // MARK: Failures to connect

    @Test func connectingToAClosedPortIsRefused() async throws {
        let (fd, port) = try reserveRefusingPort()
        defer { close(fd) }
        let error = await failure { () async throws(WireError) in try await Channel.connect(host: "127.0.0.1", port: port) }
        #expect(error == .connectionRefused(peer: "127.0.0.1:\(port)"))
        #expect(error?.isRetriable == true)
    }

    @Test func anOutOfRangePortIsAnInvalidAddress() async {
        let error = await failure { () async throws(WireError) in try await Channel.connect(host: "127.0.0.1", port: 70000) }
        #expect(error == .invalidAddress("127.0.0.1:70000"))
    }

    /// A listener whose accept queue is full drops new SYNs, so the connect hangs until the
    /// channel's own deadline ends it.
    @Test func connectTimesOutAgainstAListenerWithAFullAcceptQueue() async throws {
        let server = try TestTCPServer(.neverAccept, backlog: 0)
        defer { server.stop() }
        let (fillers, full) = fillAcceptQueue(port: server.port)
        defer { fillers.forEach { close($0) } }
        try #require(full, "connects to a listener with a full backlog did not hang on this kernel; cannot provoke a connect timeout on loopback")

        let timeout = Duration.milliseconds(300)
        let start = ContinuousClock.now
        let error = await failure { () async throws(WireError) in
            try await Channel.connect(host: "127.0.0.1", port: server.port, options: ChannelOptions(connectTimeout: timeout))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error == .timedOut(operation: "connect", peer: "127.0.0.1:\(server.port)", after: timeout))
        #expect(elapsed >= timeout - .milliseconds(5))
        #expect(elapsed < .seconds(3), "took \(elapsed) to time out")
    }

    // MARK: Failures of an established connection

    @Test func aPeerThatClosesIsReportedAsClosedByPeerOnce() async throws {
        let server = try TestTCPServer(.closeAfterFirstRead(reset: false))
        defer { server.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        #expect(channel.write(bytes: [0x2A]))

        #expect(await handler.closeError() == .closedByPeer(peer: "127.0.0.1:\(server.port)"))
        #expect(!channel.isActive)
        #expect(!channel.write(bytes: [1]), "a closed channel accepted a write")
        channel.close()
        try await Task.sleep(for: .milliseconds(50))
        #expect(handler.snapshot.closeErrors.count == 1, "close reported \(handler.snapshot.closeErrors.count) times")
    }

    @Test func aPeerThatAbortsIsReportedAsConnectionReset() async throws {
        let server = try TestTCPServer(.closeAfterFirstRead(reset: true))
        defer { server.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        #expect(channel.write(bytes: [0x2A]))

        #expect(await handler.closeError() == .connectionReset(peer: "127.0.0.1:\(server.port)"))
        #expect(!channel.isActive)
    }

    /// A server that writes an error and hangs up at once (MySQL's "Too many connections",
    /// Redis's "max number of clients reached") may finish before the handler is attached:
    /// the bytes must still reach the handler, before the close.
    @Test func bytesThatArrivedBeforeTheHandlerAreDeliveredBeforeTheClose() async throws {
        let greeting = Array("-ERR max number of clients reached\r\n".utf8)
        let server = try TestTCPServer(.sendThenClose(greeting))
        defer { server.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
        try await Task.sleep(for: .milliseconds(100))  // the loop has read the bytes and the EOF by now
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)

        #expect(await handler.closeError() == .closedByPeer(peer: "127.0.0.1:\(server.port)"))
        let record = handler.snapshot
        #expect(record.bytes == greeting)
        #expect(record.readsAfterClose == 0)
        #expect(record.closeErrors.count == 1)
    }

    /// The last reply and the FIN often arrive together, in one readiness edge: both must be
    /// seen, or the channel would look open until its next write.
    @Test func aReplyFollowedByACloseIsDeliveredThenReportedClosed() async throws {
        let greeting = Array("-ERR closing\r\n".utf8)
        for _ in 0..<20 {
            let server = try TestTCPServer(.sendThenClose(greeting))
            defer { server.stop() }
            let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
            let handler = RecordingHandler(eventLoop: channel.eventLoop)
            channel.setHandler(handler)
            #expect(await handler.closeError(timeout: .seconds(5)) == .closedByPeer(peer: "127.0.0.1:\(server.port)"))
            #expect(handler.snapshot.bytes == greeting)
            #expect(!channel.isActive)
        }
    }

    @Test func closingLocallyIsReportedOnceAsClosed() async throws {
        let server = try TestTCPServer(.echo)
        defer { server.stop() }
        let channel = try await Channel.connect(host: "127.0.0.1", port: server.port)
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)
        #expect(channel.isActive)
        channel.close()
        channel.close()
        #expect(await handler.closeError() == .closed(peer: "127.0.0.1:\(server.port)"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(handler.snapshot.closeErrors.count == 1)
        #expect(!channel.write(bytes: [1]))
    }

    /// The peer accepts but never reads: once both socket buffers are full the write makes no
    /// progress, and the channel gives up after `writeTimeout` instead of waiting forever.
    @Test func aWriteThatMakesNoProgressTimesOut() async throws {
        let server = try TestTCPServer(.holdWithoutReading)
        defer { server.stop() }
        let timeout = Duration.milliseconds(300)
        let channel = try await Channel.connect(
            host: "127.0.0.1", port: server.port, options: ChannelOptions(writeTimeout: timeout))
        let handler = RecordingHandler(eventLoop: channel.eventLoop)
        channel.setHandler(handler)

        // Far more than loopback's socket buffers hold (a few MiB each way).
        let payload = [UInt8](repeating: 0x61, count: 32 << 20)
        let start = ContinuousClock.now
        #expect(channel.write(bytes: payload))
        let error = await handler.closeError(timeout: .seconds(15))
        let elapsed = ContinuousClock.now - start
        #expect(error == .timedOut(operation: "write", peer: "127.0.0.1:\(server.port)", after: timeout))
        #expect(elapsed >= timeout)
        #expect(elapsed < .seconds(5), "took \(elapsed) to time out")
        #expect(!channel.isActive)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import Testing
import WireCore

/// Echoes whatever an accepted channel receives back to it.
private final class EchoHandler: ChannelHandler, Sendable {
    let channel: Channel
    init(_ channel: Channel) { self.channel = channel }
    func channelRead(_ buffer: inout InboundBuffer) {
        let bytes = buffer.readableBytesArray()
        buffer.readerIndex = buffer.writerIndex
        channel.write(bytes: bytes)
    }
    func channelClosed(_ error: WireError) {}
}

/// Keeps accepted channels (and their handlers) alive for the test's duration.
private final class Accepted: Sendable {
    let channels = Mutex<[Channel]>([])
    let handlers = Mutex<[any ChannelHandler]>([])
    var count: Int { channels.withLock { $0.count } }
}

@Suite(.serialized) struct ListenerTests {
    @Test func acceptsConnectionsAndEchoesOverAdoptedChannels() async throws {
        let accepted = Accepted()
        let listener = try await Listener.bind(host: "127.0.0.1", port: 18500) { channel in
            let handler = EchoHandler(channel)
            accepted.handlers.withLock { $0.append(handler) }
            accepted.channels.withLock { $0.append(channel) }
            channel.setHandler(handler)
        }
        defer { listener.close() }
        #expect(listener.port == 18500)

        var clients: [(Channel, RecordingHandler)] = []
        for index in 0..<3 {
            let client = try await Channel.connect(host: "127.0.0.1", port: listener.port)
            let handler = RecordingHandler()
            client.setHandler(handler)
            client.write(bytes: Array("hello \(index)".utf8))
            clients.append((client, handler))
        }
        for (index, (client, handler)) in clients.enumerated() {
            #expect(await handler.wait { $0.bytes == Array("hello \(index)".utf8) })
            client.close()
        }
        #expect(accepted.count == 3)
        #expect(accepted.channels.withLock { $0.allSatisfy { $0.peer.hasPrefix("127.0.0.1:") } })
        accepted.channels.withLock { $0.forEach { $0.close() } }
    }

    @Test func closedListenerRefusesConnections() async throws {
        let listener = try await Listener.bind(host: "127.0.0.1", port: 18501) { $0.close() }
        listener.close()
        try await Task.sleep(for: .milliseconds(20))
        let error = await failure { () async throws(WireError) in try await Channel.connect(host: "127.0.0.1", port: 18501) }
        #expect(error == .connectionRefused(peer: "127.0.0.1:18501"))
    }

    @Test func resetReachesThePeerAsConnectionReset() async throws {
        let listener = try await Listener.bind(host: "127.0.0.1", port: 18502) { channel in
            channel.reset()
        }
        defer { listener.close() }
        // The RST may arrive while connect is still completing, or just after.
        let outcome: WireError?
        do throws(WireError) {
            let client = try await Channel.connect(host: "127.0.0.1", port: 18502)
            let handler = RecordingHandler()
            client.setHandler(handler)
            outcome = await handler.closeError()
        } catch {
            outcome = error
        }
        #expect(outcome == .connectionReset(peer: "127.0.0.1:18502"))
    }

    @Test func closeAfterFlushDeliversTheLastBytes() async throws {
        let payload = [UInt8](repeating: 0x5A, count: 4 << 20)
        let listener = try await Listener.bind(host: "127.0.0.1", port: 18503) { channel in
            channel.write(bytes: payload)
            channel.closeAfterFlush()
        }
        defer { listener.close() }
        let client = try await Channel.connect(host: "127.0.0.1", port: 18503)
        let handler = RecordingHandler()
        client.setHandler(handler)
        #expect(await handler.wait { !$0.closeErrors.isEmpty })
        #expect(handler.snapshot.bytes.count == payload.count)
        #expect(handler.snapshot.closeErrors.first == .closedByPeer(peer: "127.0.0.1:18503"))
    }

    /// A paused channel reads nothing more; resuming delivers what waited in the kernel, and
    /// a drain callback fires once written bytes have left.
    @Test func pauseAndResumeReadingWithDrainCallback() async throws {
        let accepted = Accepted()
        let listener = try await Listener.bind(host: "127.0.0.1", port: 18504) { channel in
            let handler = RecordingHandler()
            accepted.handlers.withLock { $0.append(handler) }
            accepted.channels.withLock { $0.append(channel) }
            channel.pauseReading()
            channel.setHandler(handler)
        }
        defer { listener.close() }
        let client = try await Channel.connect(host: "127.0.0.1", port: 18504)
        client.setHandler(RecordingHandler())
        defer { client.close() }
        client.write(bytes: Array("paused".utf8))
        #expect(await eventually(timeout: .seconds(5)) { accepted.count == 1 })
        try await Task.sleep(for: .milliseconds(50))
        let server = accepted.channels.withLock { $0[0] }
        let serverHandler = accepted.handlers.withLock { $0[0] } as! RecordingHandler
        #expect(serverHandler.snapshot.bytes.isEmpty)
        server.eventLoop.execute { server.resumeReading() }
        #expect(await serverHandler.wait { $0.bytes == Array("paused".utf8) })

        let drained = Atomic<Bool>(false)
        server.write(bytes: [UInt8](repeating: 1, count: 1000))
        server.whenWritesDrained { drained.store(true, ordering: .releasing) }
        #expect(await eventually(timeout: .seconds(5)) { drained.load(ordering: .acquiring) })
        #expect(server.pendingWriteBytes == 0)
        server.close()
    }
}

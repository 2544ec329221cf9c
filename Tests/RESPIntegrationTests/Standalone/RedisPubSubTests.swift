import RESP
import Synchronization
import Testing
import WireCore

/// Collects a connection's pub/sub messages on a task of its own, so tests can wait for a
/// count with a deadline instead of iterating the stream (which could hang a failing test).
final class MessageCollector: Sendable {
    private let received = Mutex<[RedisPubSubMessage]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: AsyncStream<RedisPubSubMessage>) {
        let task = Task { [self] in
            for await message in stream { received.withLock { $0.append(message) } }
        }
        reader.withLock { $0 = task }
    }

    var messages: [RedisPubSubMessage] { received.withLock { $0 } }

    /// Waits until at least `count` messages arrived; false after `timeout`.
    func wait(for count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { self.messages.count >= count }
    }

    func stop() { reader.withLock { $0?.cancel() } }
}

/// Pub/sub in both protocols: RESP3 delivers messages as pushes beside ordinary replies,
/// RESP2 as arrays on a connection in subscribed mode.
@Suite(.enabled(if: TestServers.redisReachable, TestServers.redisSkipReason))
struct RedisPubSubTests {
    static let protocols = [true, false]  // preferRESP3

    @Test(arguments: protocols)
    func aHundredMessagesArriveInOrder(preferRESP3: Bool) async throws {
        try await withRedis { publisher, prefix throws in
            let subscriber = try await RedisConnection.connect(TestServers.configuration(preferRESP3: preferRESP3))
            defer { subscriber.close() }
            let collector = MessageCollector(subscriber.messages)
            defer { collector.stop() }
            let channel = prefix + "news"
            try await subscriber.subscribe([channel])

            for index in 0..<100 {
                #expect(try await publisher.publish(channel, "message \(index)") == 1)
            }
            #expect(await collector.wait(for: 100), "received \(collector.messages.count) of 100")
            let messages = collector.messages
            #expect(messages.map(\.payloadString) == (0..<100).map { "message \($0)" })
            #expect(messages.allSatisfy { $0.kind == .message && $0.channel == channel && $0.pattern == nil })
            #expect(subscriber.isOpen)
        }
    }

    @Test(arguments: protocols)
    func patternSubscriptionsNameThePatternAndTheChannel(preferRESP3: Bool) async throws {
        try await withRedis { publisher, prefix throws in
            let subscriber = try await RedisConnection.connect(TestServers.configuration(preferRESP3: preferRESP3))
            defer { subscriber.close() }
            let collector = MessageCollector(subscriber.messages)
            defer { collector.stop() }
            let pattern = prefix + "orders.*"
            try await subscriber.psubscribe([pattern])

            #expect(try await publisher.publish(prefix + "orders.created", "1") == 1)
            #expect(try await publisher.publish(prefix + "payments.created", "ignored") == 0)
            #expect(try await publisher.publish(prefix + "orders.paid", [UInt8]([0, 255, 13, 10])) == 1)
            #expect(await collector.wait(for: 2))
            let messages = collector.messages
            #expect(messages.count == 2)
            #expect(messages.map(\.kind) == [.pmessage, .pmessage])
            #expect(messages.map(\.pattern) == [pattern, pattern])
            #expect(messages.map(\.channel) == [prefix + "orders.created", prefix + "orders.paid"])
            #expect(messages.map(\.payload) == [Array("1".utf8), [0, 255, 13, 10]])
        }
    }

    @Test(arguments: protocols)
    func unsubscribingStopsDelivery(preferRESP3: Bool) async throws {
        try await withRedis { publisher, prefix throws in
            let subscriber = try await RedisConnection.connect(TestServers.configuration(preferRESP3: preferRESP3))
            defer { subscriber.close() }
            let collector = MessageCollector(subscriber.messages)
            defer { collector.stop() }
            let kept = prefix + "kept", dropped = prefix + "dropped", pattern = prefix + "p.*"
            try await subscriber.subscribe([kept, dropped])
            try await subscriber.psubscribe([pattern])

            #expect(try await publisher.publish(dropped, "before") == 1)
            #expect(await collector.wait(for: 1))
            try await subscriber.unsubscribe([dropped])
            try await subscriber.punsubscribe([pattern])

            // The server no longer counts this subscriber for those channels…
            #expect(try await publisher.publish(dropped, "after") == 0)
            #expect(try await publisher.publish(prefix + "p.x", "after") == 0)
            // …and still delivers the subscription that was kept.
            #expect(try await publisher.publish(kept, "still") == 1)
            #expect(await collector.wait(for: 2))
            try await Task.sleep(for: .milliseconds(100))
            #expect(collector.messages.map(\.payloadString) == ["before", "still"])
            #expect(collector.messages.map(\.channel) == [dropped, kept])
        }
    }

    /// RESP3 lets a subscribed connection run ordinary commands; their replies must not be
    /// confused with the pushes arriving around them.
    @Test func aSubscribedRESP3ConnectionStillRunsCommands() async throws {
        try await withRedis { publisher, prefix throws in
            let subscriber = try await RedisConnection.connect(TestServers.configuration(preferRESP3: true))
            defer { subscriber.close() }
            let collector = MessageCollector(subscriber.messages)
            defer { collector.stop() }
            let channel = prefix + "busy"
            try await subscriber.subscribe([channel])

            let publishing = Task {
                for index in 0..<200 { _ = try? await publisher.publish(channel, "m\(index)") }
            }
            for index in 0..<50 {
                #expect(try await subscriber.ping() == "PONG")
                #expect(try await subscriber.send(RedisCommand("ECHO").argument("e\(index)")).string == "e\(index)")
                try await subscriber.set(prefix + "k", "\(index)")
                #expect(try await subscriber.getString(prefix + "k") == "\(index)")
            }
            await publishing.value
            #expect(await collector.wait(for: 200))
            #expect(collector.messages.map(\.payloadString) == (0..<200).map { "m\($0)" })
            #expect(subscriber.isOpen)
        }
    }

    /// Messages can follow the SUBSCRIBE confirmation in the very same read from the socket.
    /// On RESP2 they look like replies: the connection must already know it is subscribed,
    /// or it takes them for replies nobody asked for and closes.
    @Test(arguments: protocols)
    func subscribingToABusyChannelKeepsTheConnection(preferRESP3: Bool) async throws {
        try await withRedis { publisher, prefix throws in
            let channel = prefix + "firehose"
            let publishing = Task {
                var batch = 0
                while !Task.isCancelled {
                    let commands = (0..<50).map { RedisCommand("PUBLISH").argument(channel).argument("b\(batch)-\($0)") }
                    _ = try? await publisher.pipeline(commands)
                    batch += 1
                }
            }
            defer { publishing.cancel() }

            for _ in 0..<5 {
                let subscriber = try await RedisConnection.connect(TestServers.configuration(preferRESP3: preferRESP3))
                defer { subscriber.close() }
                let collector = MessageCollector(subscriber.messages)
                defer { collector.stop() }
                try await subscriber.subscribe([channel])
                #expect(await collector.wait(for: 200), "got \(collector.messages.count) messages")
                #expect(subscriber.isOpen, "the connection closed while subscribed")
                try await subscriber.unsubscribe([channel])
                #expect(subscriber.isOpen, "the connection closed while unsubscribing")
            }
        }
    }

    @Test func subscribingToNothingIsRefusedLocally() async throws {
        try await withRedis { connection, _ throws in
            let error = await redisFailure { () async throws(RedisError) in try await connection.subscribe([]) }
            guard case .invalidRequest? = error else {
                Issue.record("expected .invalidRequest, got \(String(describing: error))")
                return
            }
        }
    }

    /// When the connection goes away the message stream ends, so a consumer's loop finishes.
    @Test func theMessageStreamEndsWhenTheConnectionCloses() async throws {
        let subscriber = try await RedisConnection.connect(TestServers.configuration())
        try await subscriber.subscribe([uniqueKeyPrefix() + "c"])
        let ended = Task {
            for await _ in subscriber.messages {}
            return true
        }
        subscriber.close()
        let outcome = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await ended.value }
            group.addTask { try? await Task.sleep(for: .seconds(5)); return false }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        ended.cancel()
        #expect(outcome, "the message stream did not finish after close")
    }
}

import DequeModule
import Synchronization
import WireCore

/// One connection to a Redis server, shared by any number of concurrent tasks.
///
/// Requests are pipelined: each caller encodes its command(s) into the channel's outbound
/// buffer and appends one entry to a FIFO of pending requests, both under one lock so the
/// FIFO order is the wire order. Replies are decoded on the event loop thread and matched to
/// the FIFO head; a batch (`pipeline`, `transaction`) costs one continuation however many
/// replies it expects. Out-of-band RESP3 pushes (pub/sub messages, invalidations) never enter
/// the FIFO.
///
/// A command that gets no reply within its timeout closes the connection: the reply stream
/// can no longer be trusted to match the requests, and a server that stopped answering is
/// best treated as gone (the reconnecting `RedisClient` and the cluster client open a new one).
public final class RedisConnection: ChannelHandler, RedisCommandExecutor, @unchecked Sendable {
    typealias ReplyContinuation = UnsafeContinuation<Result<[RESPValue], RedisError>, Never>

    struct PendingRequest {
        var expectedReplies: Int
        var replies: [RESPValue]
        let continuation: ReplyContinuation
        let deadline: NanoTime
        let timeout: Duration
        let commandName: String
        /// RESP3 answers (P|S)SUBSCRIBE/UNSUBSCRIBE with pushes, not replies.
        let confirmedByPushes: Bool
    }

    struct State {
        var pending = Deque<PendingRequest>()
        var failure: RedisError?
        /// The deadline the reply timer is armed for; a request with an earlier deadline
        /// (its own short timeout) arms another timer, or it would wait for the later one.
        var timerDeadline: NanoTime?
        /// Channels + patterns, and shard channels, as the server last counted them in a
        /// (un)subscribe confirmation: RESP2 messages are told from replies by these.
        var subscriptionCount = 0
        var shardSubscriptionCount = 0
    }

    public let configuration: RedisConnectionConfiguration
    public let channel: Channel
    private let state = Mutex(State())
    private let negotiatedProtocol = Atomic<Int>(2)
    private let decoder = RESPDecoder()
    private let messageStream: AsyncStream<RedisPubSubMessage>
    private let messageContinuation: AsyncStream<RedisPubSubMessage>.Continuation
    private let pushHandler: Mutex<(@Sendable (RESPValue) -> Void)?> = Mutex(nil)

    // Event-loop-only scratch space, reused across reads.
    private var decodedScratch: [RESPValue] = []
    private var completedScratch: [(ReplyContinuation, Result<[RESPValue], RedisError>)] = []

    /// The protocol agreed in the handshake: 3 after a successful HELLO 3, otherwise 2.
    public var protocolVersion: Int { negotiatedProtocol.load(ordering: .relaxed) }

    /// Messages for this connection's subscriptions (see `subscribe`).
    public var messages: AsyncStream<RedisPubSubMessage> { messageStream }

    private init(configuration: RedisConnectionConfiguration, channel: Channel) {
        self.configuration = configuration
        self.channel = channel
        (messageStream, messageContinuation) = AsyncStream.makeStream(of: RedisPubSubMessage.self, bufferingPolicy: .bufferingNewest(100_000))
    }

    deinit {
        channel.close()
        messageContinuation.finish()
    }

    /// Connects, negotiates the protocol (HELLO 3, or AUTH/CLIENT SETNAME on RESP2 servers),
    /// selects the database and, for replica reads, sends READONLY.
    public static func connect(
        _ configuration: RedisConnectionConfiguration,
        eventLoop: EventLoop = EventLoopGroup.shared.next()
    ) async throws(RedisError) -> RedisConnection {
        let channel: Channel
        do {
            channel = try await Channel.connect(
                host: configuration.host, port: configuration.port, tls: configuration.tls,
                options: configuration.channelOptions, eventLoop: eventLoop
            )
        } catch {
            throw .connection(error)
        }
        let connection = RedisConnection(configuration: configuration, channel: channel)
        channel.setHandler(connection)
        do {
            try await connection.handshake()
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private func handshake() async throws(RedisError) {
        var negotiated = false
        if configuration.preferRESP3 {
            var hello = RedisCommand("HELLO").argument("3")
            if let password = configuration.password {
                hello = hello.argument("AUTH").argument(configuration.username ?? "default").argument(password)
            }
            if let name = configuration.clientName {
                hello = hello.argument("SETNAME").argument(name)
            }
            do {
                _ = try await send(hello)
                negotiatedProtocol.store(3, ordering: .relaxed)
                negotiated = true
            } catch let error {
                // Servers before 6.0 do not know HELLO; servers built without RESP3 answer NOPROTO.
                guard case let .server(serverError) = error else { throw error }
                switch serverError.kind {
                case .noProto: break
                case .generic(let code) where code == "ERR" && serverError.message.lowercased().contains("unknown command"): break
                default: throw error  // e.g. WRONGPASS, or "ERR max number of clients reached"
                }
            }
        }
        if !negotiated {
            if let password = configuration.password {
                var auth = RedisCommand("AUTH")
                if let username = configuration.username { auth = auth.argument(username) }
                _ = try await send(auth.argument(password))
            }
            if let name = configuration.clientName {
                _ = try await send(RedisCommand("CLIENT").argument("SETNAME").argument(name))
            }
        }
        if configuration.database != 0 {
            _ = try await send(RedisCommand("SELECT").argument(configuration.database))
        }
        if configuration.readOnlyReplica {
            _ = try await send(RedisCommand("READONLY"))
        }
    }

    /// Closes the connection; requests still waiting fail with a connection error.
    public func close() {
        channel.close()
    }

    public var isOpen: Bool {
        state.withLock { $0.failure == nil } && channel.isActive
    }

    /// Receives RESP3 pushes that are not pub/sub messages (e.g. client-side-caching
    /// invalidations), on the event loop thread.
    public func onPush(_ handler: @escaping @Sendable (RESPValue) -> Void) {
        pushHandler.withLock { $0 = handler }
    }

    // MARK: Sending
    //
    // The request methods are `nonisolated(nonsending)`: they run on their caller's executor
    // instead of hopping to the global one on every call and back on every return. A task on
    // the connection's event loop (executor preference) stays on it from request to reply;
    // each hop would cost a look-up of the task's executor preference under its status lock.

    nonisolated(nonsending) public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await sendOne(command, timeout: nil)
    }

    /// Sends a command with its own reply timeout (blocking commands such as BLPOP).
    nonisolated(nonsending) public func send(_ command: RedisCommand, timeout: Duration) async throws(RedisError) -> RESPValue {
        try await sendOne(command, timeout: timeout)
    }

    nonisolated(nonsending) private func sendOne(_ command: RedisCommand, timeout: Duration?) async throws(RedisError) -> RESPValue {
        let replies = try await submit(expectedReplies: 1, name: command.name, timeout: timeout) { command.encode(into: &$0) }
        let reply = replies[0]
        if let error = reply.redisError { throw .server(error) }
        return reply
    }

    nonisolated(nonsending) public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        if commands.isEmpty { return [] }
        return try await submit(expectedReplies: commands.count, name: commands[0].name) { buffer in
            for command in commands { command.encode(into: &buffer) }
        }
    }

    /// Runs the commands as one MULTI/EXEC block, written in a single piece so no other
    /// caller's command can slip inside it. Returns the commands' replies, or nil when a
    /// WATCHed key changed and the server discarded the transaction.
    ///
    /// WATCH state belongs to the connection: use a connection of your own for WATCH.
    nonisolated(nonsending) public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue]? {
        let multi = RedisCommand("MULTI")
        let exec = RedisCommand("EXEC")
        let replies = try await submit(expectedReplies: commands.count + 2, name: "MULTI") { buffer in
            multi.encode(into: &buffer)
            for command in commands { command.encode(into: &buffer) }
            exec.encode(into: &buffer)
        }
        if let error = replies[0].redisError { throw .server(error) }
        let execReply = replies[replies.count - 1]
        if let error = execReply.redisError {
            // EXECABORT: say which queued command was refused.
            if let refused = replies.dropFirst().dropLast().first(where: { $0.redisError != nil })?.redisError {
                throw .server(RedisServerError(message: "\(error.message) (\(refused.message))"))
            }
            throw .server(error)
        }
        if execReply.isNull { return nil }
        guard case let .array(results) = execReply else {
            throw .unexpectedReply(command: "EXEC", reply: execReply.description)
        }
        return results
    }

    // MARK: Pub/Sub

    /// Subscribes to channels; messages arrive on `messages`. Returns when the server has
    /// confirmed every channel.
    public func subscribe(_ channels: [String]) async throws(RedisError) {
        try await subscription("SUBSCRIBE", channels)
    }

    public func psubscribe(_ patterns: [String]) async throws(RedisError) {
        try await subscription("PSUBSCRIBE", patterns)
    }

    public func ssubscribe(_ channels: [String]) async throws(RedisError) {
        try await subscription("SSUBSCRIBE", channels)
    }

    public func unsubscribe(_ channels: [String]) async throws(RedisError) {
        try await subscription("UNSUBSCRIBE", channels)
    }

    public func punsubscribe(_ patterns: [String]) async throws(RedisError) {
        try await subscription("PUNSUBSCRIBE", patterns)
    }

    private func subscription(_ name: String, _ targets: [String]) async throws(RedisError) {
        guard !targets.isEmpty else { throw .invalidRequest("\(name) needs at least one channel") }
        let command = RedisCommand(name).arguments(targets)
        let replies = try await submit(
            expectedReplies: targets.count, name: name, confirmedByPushes: protocolVersion == 3
        ) { command.encode(into: &$0) }
        if let error = replies.lazy.compactMap(\.redisError).first { throw .server(error) }
    }

    // MARK: Request bookkeeping

    nonisolated(nonsending) private func submit(
        expectedReplies: Int,
        name: String,
        timeout: Duration? = nil,
        confirmedByPushes: Bool = false,
        encode: (inout [UInt8]) -> Void
    ) async throws(RedisError) -> [RESPValue] {
        let timeout = timeout ?? configuration.commandTimeout
        let deadline = NanoTime.now() + timeout
        let result = await withUnsafeContinuation { (continuation: ReplyContinuation) in
            var armTimer = false
            let refusal = state.withLock { state -> RedisError? in
                // Refused before sending: say "closed" (safe to retry elsewhere), not the
                // original failure, which may have hit requests that were already sent.
                if state.failure != nil { return .connection(.closed(peer: channel.peer)) }
                var replies: [RESPValue] = []
                replies.reserveCapacity(expectedReplies)
                state.pending.append(PendingRequest(
                    expectedReplies: expectedReplies, replies: replies, continuation: continuation,
                    deadline: deadline, timeout: timeout, commandName: name, confirmedByPushes: confirmedByPushes
                ))
                guard channel.write(encode) else {
                    state.pending.removeLast()
                    return .connection(.closed(peer: channel.peer))
                }
                if state.timerDeadline.map({ deadline < $0 }) ?? true {
                    state.timerDeadline = deadline
                    armTimer = true
                }
                return nil
            }
            if let refusal {
                continuation.resume(returning: .failure(refusal))
                return
            }
            if armTimer { armTimeoutTimer(at: deadline) }
        }
        return try result.get()
    }

    private func armTimeoutTimer(at deadline: NanoTime) {
        channel.eventLoop.scheduleTimer(at: deadline) { [weak self] in
            self?.checkTimeouts(armedFor: deadline)
        }
    }

    /// Runs on the loop when the earliest deadline may have passed. A timer superseded by an
    /// earlier one does nothing: the earlier one re-arms for whatever is still pending.
    private func checkTimeouts(armedFor armed: NanoTime) {
        let now = NanoTime.now()
        var expired: RedisError?
        var expiredAfter = configuration.commandTimeout
        var nextDeadline: NanoTime?
        state.withLock { state in
            guard state.timerDeadline == armed else { return }
            state.timerDeadline = nil
            guard state.failure == nil else { return }
            for request in state.pending {
                if request.deadline <= now {
                    expired = .timedOut(command: request.commandName, after: request.timeout)
                    expiredAfter = request.timeout
                    break
                }
                nextDeadline = min(nextDeadline ?? request.deadline, request.deadline)
            }
            if let expired {
                state.failure = expired
            } else if let nextDeadline {
                state.timerDeadline = nextDeadline
            }
        }
        if let expired {
            failAll(with: expired)
            channel.closeWithError(.timedOut(operation: "reply", peer: channel.peer, after: expiredAfter))
        } else if let nextDeadline {
            armTimeoutTimer(at: nextDeadline)
        }
    }

    private func failAll(with error: RedisError) {
        let waiting = state.withLock { state -> [PendingRequest] in
            if state.failure == nil { state.failure = error }
            let all = Array(state.pending)
            state.pending.removeAll()
            return all
        }
        for request in waiting {
            request.continuation.resume(returning: .failure(error))
        }
    }

    // MARK: ChannelHandler

    public func channelRead(_ buffer: inout InboundBuffer) {
        var violation: WireDecodingError?
        do throws(WireDecodingError) {
            while let (value, end) = try decoder.decode(buffer.storage, from: buffer.readerIndex, to: buffer.writerIndex) {
                buffer.readerIndex = end
                decodedScratch.append(value)
            }
        } catch {
            violation = error
        }
        if !decodedScratch.isEmpty {
            dispatch(decodedScratch)
            decodedScratch.removeAll(keepingCapacity: true)
        }
        if let violation {
            failAll(with: .protocolViolation(violation))
            channel.close()
        }
    }

    public func channelClosed(_ error: WireError) {
        failAll(with: .connection(error))
        messageContinuation.finish()
    }

    private func dispatch(_ values: [RESPValue]) {
        var outOfBand: [RESPValue] = []
        var unsolicited: RESPValue?
        state.withLock { state in
            for value in values {
                if case let .push(items) = value {
                    // (P|S)(UN)SUBSCRIBE confirmations complete the request waiting for them.
                    if let kind = items.first?.string?.lowercased(), kind.hasSuffix("subscribe"),
                       let head = state.pending.first, head.confirmedByPushes {
                        Self.noteSubscriptionCount(items, in: &state)
                        deliver(value, to: &state)
                    } else {
                        outOfBand.append(value)
                    }
                    continue
                }
                if state.subscriptionCount + state.shardSubscriptionCount > 0, case let .array(items) = value,
                   let kind = items.first?.string?.lowercased(),
                   kind == "message" || kind == "pmessage" || kind == "smessage" {
                    outOfBand.append(value)  // RESP2 subscribed mode
                    continue
                }
                if state.pending.isEmpty {
                    unsolicited = value
                    break
                }
                // A RESP2 confirmation switches subscribed mode on or off at once: messages may
                // follow it in this very batch.
                if case let .array(items) = value, state.pending[state.pending.startIndex].commandName.hasSuffix("SUBSCRIBE") {
                    Self.noteSubscriptionCount(items, in: &state)
                }
                deliver(value, to: &state)
            }
        }
        for (continuation, result) in completedScratch {
            continuation.resume(returning: result)
        }
        completedScratch.removeAll(keepingCapacity: true)
        for value in outOfBand { handleOutOfBand(value) }
        if let unsolicited {
            let error = RedisError.protocolViolation(.malformed(
                field: "reply", reason: "reply with no request waiting: \(unsolicited)", offset: 0))
            failAll(with: error)
            channel.close()
        }
    }

    /// Takes the server's own count from a (P|S)(UN)SUBSCRIBE confirmation.
    private static func noteSubscriptionCount(_ items: [RESPValue], in state: inout State) {
        guard items.count == 3, let kind = items[0].string?.lowercased(), kind.hasSuffix("subscribe"),
              let count = items[2].int else { return }
        if kind == "ssubscribe" || kind == "sunsubscribe" {
            state.shardSubscriptionCount = Int(count)
        } else {
            state.subscriptionCount = Int(count)
        }
    }

    private func deliver(_ value: RESPValue, to state: inout State) {
        state.pending[state.pending.startIndex].replies.append(value)
        let head = state.pending[state.pending.startIndex]
        if head.replies.count >= head.expectedReplies {
            state.pending.removeFirst()
            completedScratch.append((head.continuation, .success(head.replies)))
        }
    }

    private func handleOutOfBand(_ value: RESPValue) {
        let items: [RESPValue]
        switch value {
        case let .push(values), let .array(values): items = values
        default: items = []
        }
        if let message = RedisPubSubMessage(items) {
            messageContinuation.yield(message)
        } else if let handler = pushHandler.withLock({ $0 }) {
            handler(value)
        }
    }
}

import DequeModule
import Synchronization
import WireCore

/// One connection to a MySQL or MariaDB server.
///
/// The protocol lives in `MySQLConnectionStateMachine`; this class feeds it the packets the
/// channel's event loop decodes and carries out its actions. Commands run one at a time (the
/// protocol has no request ids to match pipelined replies): concurrent callers queue in FIFO
/// order.
///
/// The request methods are `nonisolated(nonsending)`: they run on their caller's executor
/// instead of hopping to the global one on every call and back on every return. A caller on
/// the connection's event loop (a task with the loop as its executor preference) stays on
/// it from request to reply; each hop would cost a look-up of the task's executor preference
/// under its status lock (about 10% of the instructions of a point SELECT). Prefer the
/// loop as the task's executor (`Task(executorPreference:)`) over isolating the caller to
/// an actor on the loop: inside `nonisolated(nonsending)` functions `#isolation` is `nil`
/// (Swift 6.3), so a continuation created there resumes on the global pool, and the actor's
/// caller would hop through it on every reply.
///
/// A statement with a timeout that does not finish in time is killed with `KILL QUERY` sent
/// from a second, short-lived connection; the statement then fails with
/// `MySQLError.queryTimeout(killed: true)` and this connection stays usable. If the kill
/// cannot be delivered, or the server does not answer within `killGracePeriod`, the
/// connection is closed instead (`killed: false`).
public final class MySQLConnection: ChannelHandler, @unchecked Sendable {
    typealias Action = MySQLConnectionStateMachine.Action
    /// A caller waiting for what the machine decided: `.sendSSLRequestAndStartTLS` and
    /// `.authenticated` while connecting, `.complete` or `.commandFailed` for a command,
    /// `.closeConnection` when the connection failed. The machine's own action is handed
    /// over as it is (moved, not re-wrapped), so a reply reaches its caller without copies.
    typealias Waiter = UnsafeContinuation<Action, Never>

    struct State {
        var machine: MySQLConnectionStateMachine
        var waiter: Waiter?
        var buffered: Action?
        var failure: MySQLError?
        var session: MySQLConnectionStateMachine.SessionInfo?
        var generation: UInt64 = 0
        /// Set when the statement in flight passed its timeout: the attempt to kill it. Taken
        /// by the statement's `awaitReply`, so it also tells that the statement timed out.
        var killAttempt: KillAttempt?
        /// A caller holds the connection's turn (one command at a time: the protocol has no
        /// request ids to match pipelined replies); the others wait in FIFO order.
        var turnTaken = false
        var turnWaiters = Deque<UnsafeContinuation<Void, Never>>()

        /// True while the command of `generation` runs on a healthy connection.
        func isRunning(_ generation: UInt64) -> Bool {
            self.generation == generation && machine.commandInFlight && failure == nil
        }

        mutating func startCommand(_ command: MySQLConnectionStateMachine.Command) -> (MySQLConnectionStateMachine.Action, UInt64) {
            if let failure { return (.commandFailed(failure), 0) }
            generation += 1
            buffered = nil
            return (machine.startCommand(command), generation)
        }
    }

    public let configuration: MySQLConfiguration
    public let channel: Channel
    private let state: Mutex<State>
    // Event-loop-only.
    @exclusivity(unchecked) private var decoder: MySQLPacketDecoder

    private init(configuration: MySQLConfiguration, channel: Channel) {
        self.configuration = configuration
        self.channel = channel
        self.state = Mutex(State(machine: MySQLConnectionStateMachine(settings: configuration.stateMachineSettings)))
        // Greeting and auth packets are small: a huge announced length before login is
        // not MySQL (an HTTP or TLS server, say), and is refused at once instead of awaited.
        self.decoder = MySQLPacketDecoder(maxPayloadSize: min(64 * 1024, configuration.maxPayloadSize))
    }

    deinit {
        channel.close()
    }

    /// The server's id for this session (what `KILL` and `SHOW PROCESSLIST` use).
    public var connectionID: UInt32 { state.withLock { $0.session?.connectionID ?? 0 } }
    public var serverVersion: String { state.withLock { $0.session?.serverVersion ?? "" } }
    public var isTLS: Bool { state.withLock { $0.session?.isTLS ?? false } }
    public var authPlugin: String { state.withLock { $0.session?.authPlugin ?? "" } }
    public var isOpen: Bool { state.withLock { $0.failure == nil && !$0.machine.isClosed } && channel.isActive }

    // MARK: Connecting

    public static func connect(
        _ configuration: MySQLConfiguration,
        eventLoop: EventLoop = EventLoopGroup.shared.next()
    ) async throws(MySQLError) -> MySQLConnection {
        let start = ContinuousClock.now
        let channel: Channel
        do {
            channel = try await Channel.connect(
                host: configuration.host, port: configuration.port, tls: nil,
                options: ChannelOptions(connectTimeout: configuration.connectTimeout), eventLoop: eventLoop
            )
        } catch {
            throw .connection(error)
        }
        let connection = MySQLConnection(configuration: configuration, channel: channel)
        channel.setHandler(connection)
        let remaining = configuration.connectTimeout - (ContinuousClock.now - start)
        // A timer on the channel's own event loop rather than a sleeping Task: no task, no
        // global-executor timer and no cross-thread wake-up per connection.
        let watchdog = channel.eventLoop.scheduleTimer(at: NanoTime.now() + max(remaining, .milliseconds(1))) { [weak connection] in
            guard let connection, connection.state.withLock({ $0.session == nil }) else { return }
            connection.channel.closeWithError(.timedOut(operation: "MySQL handshake", peer: channel.peer, after: configuration.connectTimeout))
        }
        defer { channel.eventLoop.cancelTimer(watchdog) }
        while true {
            switch await connection.awaitEvent() {
            case let .sendSSLRequestAndStartTLS(sslRequest):
                guard channel.write(bytes: sslRequest) else {
                    throw connection.currentFailure
                }
                do {
                    try await channel.startTLS(configuration.tls, serverName: configuration.tls.serverName)
                } catch {
                    connection.fail(.connection(error))
                    throw .connection(error)
                }
                let action = connection.state.withLock { $0.machine.tlsEstablished() }
                connection.perform(action)
            case let .authenticated(session):
                connection.state.withLock { $0.session = session }
                return connection
            case let .commandFailed(error), let .closeConnection(error):
                connection.channel.close()
                throw error
            case .none, .send, .complete:
                connection.fail(.protocolViolation(.unexpectedPacket(state: "connecting", firstByte: nil, length: 0)))
                throw connection.currentFailure
            }
        }
    }

    // MARK: Commands

    /// Runs SQL text (several statements separated by `;` allowed) and returns every result.
    nonisolated(nonsending) public func query(_ sql: String, timeout: Duration? = nil) async throws(MySQLError) -> MySQLResult {
        guard case let .result(result) = try await run(.query(sql), timeout: timeout ?? configuration.queryTimeout) else {
            throw .protocolViolation(.unexpectedPacket(state: "COM_QUERY result", firstByte: nil, length: 0))
        }
        return result
    }

    nonisolated(nonsending) public func prepare(_ sql: String) async throws(MySQLError) -> MySQLPreparedStatement {
        guard case let .prepared(statement) = try await run(.prepare(sql), timeout: nil) else {
            throw .protocolViolation(.unexpectedPacket(state: "COM_STMT_PREPARE result", firstByte: nil, length: 0))
        }
        return statement
    }

    nonisolated(nonsending) public func execute(_ statement: MySQLPreparedStatement, _ parameters: [MySQLValue] = [], timeout: Duration? = nil) async throws(MySQLError) -> MySQLResult {
        guard statement.connectionID == connectionID else {
            throw .invalidArgument("statement \(statement.id) was prepared on connection \(statement.connectionID), not \(connectionID)")
        }
        guard case let .result(result) = try await run(.execute(statement, parameters), timeout: timeout ?? configuration.queryTimeout) else {
            throw .protocolViolation(.unexpectedPacket(state: "COM_STMT_EXECUTE result", firstByte: nil, length: 0))
        }
        return result
    }

    /// Prepares, executes and closes: a one-off parameterised statement.
    nonisolated(nonsending) public func query(_ sql: String, _ parameters: [MySQLValue], timeout: Duration? = nil) async throws(MySQLError) -> MySQLResult {
        let statement = try await prepare(sql)
        do {
            let result = try await execute(statement, parameters, timeout: timeout)
            try await close(statement)
            return result
        } catch {
            if isOpen { try? await close(statement) }
            throw error
        }
    }

    nonisolated(nonsending) public func close(_ statement: MySQLPreparedStatement) async throws(MySQLError) {
        _ = try await run(.closeStatement(statement.id), timeout: nil)
    }

    nonisolated(nonsending) public func reset(_ statement: MySQLPreparedStatement) async throws(MySQLError) {
        _ = try await run(.resetStatement(statement.id), timeout: nil)
    }

    nonisolated(nonsending) public func ping() async throws(MySQLError) {
        _ = try await run(.ping, timeout: nil)
    }

    /// A liveness check for pools: COM_PING within `timeout`. On expiry the connection is
    /// closed (a server that does not answer a ping is gone) and the answer is false.
    ///
    /// The deadline is an entry in the channel's event-loop timer queue, as a statement's is:
    /// a pool validates connections while a burst keeps the cooperative pool busy, and a
    /// deadline that needs a turn there fires late, holding the acquire that waits on it.
    public func validate(timeout: Duration) async -> Bool {
        guard isOpen else { return false }
        do {
            _ = try await run(.ping, timeout: timeout, onTimeout: .closeConnection)
            return true
        } catch {
            return false
        }
    }

    /// COM_RESET_CONNECTION: rolls back, drops temporary tables, user variables and prepared
    /// statements, without re-authenticating (what a pool does on return).
    nonisolated(nonsending) public func resetConnection() async throws(MySQLError) {
        _ = try await run(.resetConnection, timeout: nil)
    }

    /// Runs `body` inside BEGIN … COMMIT; rolls back and rethrows if it throws (or if COMMIT
    /// fails).
    public func transaction<T: Sendable>(_ body: (MySQLConnection) async throws -> T) async throws -> T {
        _ = try await query("BEGIN")
        let value: T
        do {
            value = try await body(self)
        } catch {
            if isOpen { _ = try? await query("ROLLBACK") }
            throw error
        }
        do {
            _ = try await query("COMMIT")
        } catch {
            if isOpen { _ = try? await query("ROLLBACK") }
            throw error
        }
        return value
    }

    /// Sends COM_QUIT when idle and closes the connection. Never waits for a command in
    /// flight: that command (and any queued behind it) fails with `.connectionClosed`.
    nonisolated(nonsending) public func close() async {
        let action = state.withLock { state -> MySQLConnectionStateMachine.Action? in
            guard !state.turnTaken else { return nil }
            state.turnTaken = true
            guard state.failure == nil, state.machine.isReady else { return MySQLConnectionStateMachine.Action.none }
            // The reason is recorded before COM_QUIT leaves: the server's hang-up that answers
            // it (seen on the loop thread, perhaps before this task goes on) is not the reason.
            state.failure = .connectionClosed
            return state.machine.startCommand(.quit)
        }
        guard let action else {
            fail(.connectionClosed)
            return
        }
        let quit: [UInt8]? = if case let .complete(_, bytes) = action { bytes } else { nil }
        if let quit { channel.write(bytes: quit, flush: .immediately) }
        // COM_QUIT has to leave before the FIN. Followed by an immediate close, a write still
        // queued was dropped: the server took every such close for a client that vanished
        // (Aborted_clients, and with log_warnings >= 2 an "Aborted connection" line in its
        // error log per connection).
        fail(.connectionClosed, closeAfterFlush: quit != nil)
        endTurn()
    }

    // Inlined into the request methods, as is `awaitEvent`: a call boundary between
    // async functions is a potential executor hop, and each costs a preference look-up.
    @inline(__always)
    nonisolated(nonsending) private func run(
        _ command: MySQLConnectionStateMachine.Command, timeout: Duration?, onTimeout: TimeoutAction = .killStatement
    ) async throws(MySQLError) -> MySQLConnectionStateMachine.CommandResult {
        if !takeTurnIfFree() { await waitForTurn() }
        defer { endTurn() }
        // What starting the command yields is used up inside this block: kept until the end
        // of the function it would sit in the suspended frame and be destroyed through
        // run-time type metadata, a measurable part of every command.
        let generation: UInt64
        do {
            let (action, commandGeneration) = state.withLock { $0.startCommand(command) }
            generation = commandGeneration
            switch consume action {
            case let .send(bytes):
                // Sent at once, not at the end of the loop turn: nothing else goes out before
                // the reply, and the rest of this turn then runs while the server works.
                guard channel.write(bytes: bytes, flush: .immediately) else { throw currentFailure }
            case let .complete(result, bytes):
                guard channel.write(bytes: bytes) else { throw currentFailure }
                return result
            case let .commandFailed(error):
                throw error
            default:
                throw .protocolViolation(.unexpectedPacket(state: "starting a command", firstByte: nil, length: 0))
            }
        }

        guard let timeout else {
            // No timer to hold: `Task` is a type of another module whose layout is not known
            // here, so an optional one kept across the wait is handled through run-time type
            // metadata on every command.
            return try Self.commandResult(await awaitEvent(), timedOut: false, timeout: nil)
        }
        return try await awaitReply(generation: generation, timeout: timeout, onTimeout: onTimeout)
    }

    /// What a command that outlives its timeout gets.
    enum TimeoutAction {
        /// `KILL QUERY` from a second connection; this one stays usable (statements).
        case killStatement
        /// The connection is closed: a server that does not answer a ping is gone.
        case closeConnection
    }

    /// A kill in progress, boxed: `Task` is a type of another module whose layout is not
    /// known here, and kept in `State` it would make every access to the state go through
    /// run-time type metadata.
    final class KillAttempt: Sendable {
        let task: Task<Void, Never>
        init(_ task: Task<Void, Never>) { self.task = task }
    }

    /// Waits for the command's reply while a timer kills the statement if it runs too long.
    /// The timer is the channel's event loop's, and so is the task that kills: a statement
    /// timeout does not wait for a turn on the cooperative pool, which the load that makes
    /// statements slow can keep busy (and a timer task per statement costs far more than an
    /// entry in the loop's timer queue).
    nonisolated(nonsending) private func awaitReply(
        generation: UInt64, timeout: Duration, onTimeout: TimeoutAction
    ) async throws(MySQLError) -> MySQLConnectionStateMachine.CommandResult {
        let eventLoop = channel.eventLoop
        let timer = eventLoop.scheduleTimer(at: NanoTime.now() + timeout) { [weak self] in
            self?.commandTimerFired(generation: generation, timeout: timeout, action: onTimeout)
        }
        let outcome = await awaitEvent()
        eventLoop.cancelTimer(timer)
        let kill = state.withLock { $0.killAttempt.take() }
        let timedOut = kill != nil
        if let kill {
            // The answer is here. The attempt is let finish before the next command can
            // start, so a late KILL QUERY never hits the next statement.
            await kill.task.value
        }
        return try Self.commandResult(outcome, timedOut: timedOut, timeout: timeout)
    }

    /// On the event loop, at the command's deadline: if it is still running, a task starts
    /// killing the statement, or the connection is closed.
    private func commandTimerFired(generation: UInt64, timeout: Duration, action: TimeoutAction) {
        let closeNow = state.withLock { state -> Bool in
            guard state.isRunning(generation) else { return false }
            switch action {
            case .closeConnection:
                return true
            case .killStatement:
                state.killAttempt = KillAttempt(Task(executorPreference: channel.eventLoop) { [self] in
                    await killStatement(generation: generation, timeout: timeout)
                })
                return false
            }
        }
        if closeNow {
            channel.closeWithError(.timedOut(operation: "ping", peer: channel.peer, after: timeout))
        }
    }

    /// What a command's reply means for its caller.
    private static func commandResult(
        _ outcome: consuming Action, timedOut: Bool, timeout: Duration?
    ) throws(MySQLError) -> MySQLConnectionStateMachine.CommandResult {
        switch outcome {
        case let .complete(result, _):
            return result
        case .none, .send, .sendSSLRequestAndStartTLS, .authenticated:
            throw .protocolViolation(.unexpectedPacket(state: "command in flight", firstByte: nil, length: 0))
        case let .commandFailed(error), let .closeConnection(error):
            if timedOut, let timeout {
                if case let .server(serverError) = error, serverError.code == .queryInterrupted || serverError.code == .statementTimeout {
                    throw .queryTimeout(after: timeout, killed: true)
                }
                if case .connection = error { throw .queryTimeout(after: timeout, killed: false) }
            }
            throw error
        }
    }

    /// Sends `KILL QUERY` for the timed-out statement from a second, short-lived connection;
    /// closes this connection when that fails or the server does not honour it in time.
    private func killStatement(generation: UInt64, timeout: Duration) async {
        @Sendable func stillRunning() -> Bool { state.withLock { $0.isRunning(generation) } }
        /// Unless the answer came meanwhile: then the statement ended and the connection is fine.
        @Sendable func closeIfStillRunning(_ operation: String) {
            guard stillRunning() else { return }
            channel.closeWithError(.timedOut(operation: operation, peer: channel.peer, after: timeout))
        }
        var killConfiguration = configuration
        killConfiguration.queryTimeout = nil
        killConfiguration.connectTimeout = min(configuration.connectTimeout, configuration.killGracePeriod)
        var killed = false
        do {
            let killer = try await MySQLConnection.connect(killConfiguration, eventLoop: channel.eventLoop)
            if stillRunning() {
                _ = try await killer.query("KILL QUERY \(connectionID)")
            }
            await killer.close()
            killed = true
        } catch {
            killed = false
        }
        if !killed {
            closeIfStillRunning("query")
            return
        }
        // If the statement still runs at the end of the grace period, the server did not
        // honour the kill. Checked by the loop's timer queue, not a sleeping task: the attempt
        // ends here, and the answer's arrival ends the command (the check then does nothing).
        channel.eventLoop.scheduleTimer(at: NanoTime.now() + configuration.killGracePeriod) {
            closeIfStillRunning("query (after KILL QUERY)")
        }
    }

    // MARK: Plumbing

    /// Takes the turn when nobody holds it (the usual case: no suspension).
    private func takeTurnIfFree() -> Bool {
        state.withLock { state -> Bool in
            if state.turnTaken { return false }
            state.turnTaken = true
            return true
        }
    }

    /// Waits until the caller ahead hands the turn over (`endTurn`).
    nonisolated(nonsending) private func waitForTurn() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let takenNow = state.withLock { state -> Bool in
                if !state.turnTaken {
                    state.turnTaken = true
                    return true
                }
                state.turnWaiters.append(continuation)
                return false
            }
            if takenNow { continuation.resume() }
        }
    }

    /// Hands the turn to the next waiting caller, or frees it.
    private func endTurn() {
        let next = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            if let next = state.turnWaiters.popFirst() { return next }
            state.turnTaken = false
            return nil
        }
        next?.resume()
    }

    private var currentFailure: MySQLError {
        state.withLock { $0.failure } ?? .connectionClosed
    }

    @inline(__always)
    nonisolated(nonsending) private func awaitEvent() async -> Action {
        await withUnsafeContinuation { (continuation: Waiter) in
            let immediate = state.withLock { state -> Action? in
                if let buffered = state.buffered.take() { return buffered }
                if let failure = state.failure { return .closeConnection(failure) }
                state.waiter = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    private func deliver(_ outcome: consuming Action) {
        let waiter = state.withLock { state -> Waiter? in
            if let waiter = state.waiter.take() { return waiter }
            state.buffered = outcome
            return nil
        }
        waiter?.resume(returning: outcome)
    }

    /// Records a fatal error, wakes the waiter with it and closes the channel: at once, or
    /// once what was written has left (`closeAfterFlush`, for a goodbye such as COM_QUIT).
    private func fail(_ error: MySQLError, closeAfterFlush: Bool = false) {
        recordFailure(error).waiter?.resume(returning: .closeConnection(error))
        if closeAfterFlush { channel.closeAfterFlush() } else { channel.close() }
    }

    /// Marks the connection failed (the first reason recorded stays) and takes the waiter;
    /// returns it with the reason in effect.
    private func recordFailure(_ error: MySQLError) -> (waiter: Waiter?, failure: MySQLError) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
            state.machine.closed()
            return (state.waiter.take(), state.failure ?? error)
        }
    }

    private func perform(_ action: consuming Action) {
        switch action {
        case .none:
            return
        case let .send(bytes):
            channel.write(bytes: bytes)
        case .sendSSLRequestAndStartTLS, .authenticated, .commandFailed:
            deliver(action)
        case let .complete(_, bytes):
            if !bytes.isEmpty { channel.write(bytes: bytes) }
            deliver(action)
        case let .closeConnection(error):
            fail(error)
        }
    }

    /// Packets are decoded in place from the channel's buffer. The tail of a large frame
    /// (a big row) is moved into the decoder instead, so the channel's buffer stays small
    /// and the frame accumulates with plain appends.
    public func channelRead(_ buffer: inout InboundBuffer) {
        let end = buffer.writerIndex
        var index = buffer.readerIndex
        if decoder.hasBufferedBytes {
            decoder.append(buffer.storage[index..<end])
            index = end
            buffer.readerIndex = index
            handlePackets { (decoder: inout MySQLPacketDecoder, machine: inout MySQLConnectionStateMachine) throws(MySQLProtocolError) in
                guard let packet = try decoder.next() else { return nil }
                return machine.packetReceived(packet)
            }
            return
        }
        // Decoded where they lie in the channel's buffer: the machine copies out only what it
        // keeps (a copy per packet was about a tenth of a point SELECT).
        let storage = buffer.storage
        let ok = handlePackets { (decoder: inout MySQLPacketDecoder, machine: inout MySQLConnectionStateMachine) throws(MySQLProtocolError) in
            switch try decoder.nextFrame(from: storage, index: &index, end: end) {
            case nil:
                return nil
            case let .inPlace(sequenceID, start, frameEnd)?:
                return machine.packetReceived(sequenceID: sequenceID, in: storage, from: start, to: frameEnd)
            case let .reassembled(packet)?:
                return machine.packetReceived(packet)
            }
        }
        if ok, let length = MySQLPacketDecoder.frameLength(in: storage, at: index, end: end), length >= 32 * 1024 {
            decoder.append(storage[index..<end])
            index = end
        }
        buffer.readerIndex = ok ? index : end
    }

    /// What one locked pass over the received packets ends with.
    private enum PacketsOutcome {
        /// No more whole packets.
        case drained
        /// An action to carry out before reading on.
        case perform(MySQLConnectionStateMachine.Action)
        /// The command ended (nothing to send) and its caller was waiting: resume it.
        case resume(Waiter, Action)
        case malformed(MySQLProtocolError)
    }

    /// Feeds every whole packet to the state machine under one acquisition of the lock (a
    /// result set is several packets), stopping at each action that needs doing. `feed` hands
    /// the next packet to the machine and returns its action, or nil when no whole packet is
    /// left. Returns false after a malformed packet (the connection is then failed).
    @discardableResult
    private func handlePackets(
        _ feed: (inout MySQLPacketDecoder, inout MySQLConnectionStateMachine) throws(MySQLProtocolError) -> Action?
    ) -> Bool {
        while true {
            let outcome = state.withLock { state -> PacketsOutcome in
                while true {
                    let fed: Action?
                    do throws(MySQLProtocolError) { fed = try feed(&decoder, &state.machine) } catch { return .malformed(error) }
                    guard let action = fed else { return .drained }
                    if action.isNone { continue }
                    if action.endsCommandQuietly, let waiter = state.waiter.take() {
                        return .resume(waiter, action)
                    }
                    return .perform(action)
                }
            }
            switch outcome {
            case .drained:
                return true
            case let .perform(action):
                if case .authenticated = action { decoder.maxPayloadSize = configuration.maxPayloadSize }
                perform(action)
            case let .resume(waiter, action):
                waiter.resume(returning: action)
            case let .malformed(error):
                fail(.protocolViolation(error))
                return false
            }
        }
    }

    public func channelClosed(_ error: WireError) {
        let (waiter, failure) = recordFailure(.connection(error))
        waiter?.resume(returning: .closeConnection(failure))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A TCP connection (optionally TLS) owned by an event loop.
///
/// Reads happen on the loop thread: on each readiness edge the channel drains the socket into
/// its reusable `InboundBuffer` and hands it to the handler. Writes may come from any thread:
/// bytes are encoded straight into the outbound buffer under a lock and sent at once, or, when
/// the writer runs on the loop itself, at the end of the loop turn so that many writes leave
/// in one syscall. A write that cannot complete waits for writability, bounded by
/// `writeTimeout`. Every failure closes the channel and reaches the handler exactly once.
public final class Channel: @unchecked Sendable, EventLoopSelectable, CustomStringConvertible {
    enum Lifecycle {
        case connecting
        case handshaking
        case active
        case closed(WireError)
    }

    struct IOState {
        var lifecycle: Lifecycle = .connecting
        var outbound: [UInt8] = []
        var outboundIndex = 0
        var waitingForWritable = false
        var flushDeferred = false
        var writeTimer: UInt64?
        var tls: TLSSession?
        /// Called once the outbound buffer is empty (`whenWritesDrained`).
        var drainCallbacks: [@Sendable () -> Void] = []
        /// Close once the outbound buffer is empty (`closeAfterFlush`).
        var closeWhenFlushed = false
    }

    public let eventLoop: EventLoop
    public let peer: String
    public let host: String
    public let options: ChannelOptions
    let fd: Int32

    private let io: Mutex<IOState>

    // Loop-thread-only state (exclusive by confinement; the hot ones skip the dynamic
    // exclusivity check, a thread-local lookup per access).
    @exclusivity(unchecked) private var inbound: InboundBuffer
    @exclusivity(unchecked) private weak var handler: (any ChannelHandler)?
    private var hasHandler = false
    private var closeDelivered = false
    private var establishment: UnsafeContinuation<Result<Void, WireError>, Never>?
    private var establishmentTimer: UInt64?
    private var pendingTLS: (configuration: TLSConfiguration, host: String)?
    @exclusivity(unchecked) private var readingPaused = false
    private var hangupWhilePaused = false

    public var description: String { "Channel(\(peer), fd \(fd))" }

    private init(fd: Int32, host: String, peer: String, eventLoop: EventLoop, options: ChannelOptions) {
        self.fd = fd
        self.host = host
        self.peer = peer
        self.eventLoop = eventLoop
        self.options = options
        self.io = Mutex(IOState())
        self.inbound = InboundBuffer(capacity: options.receiveBufferCapacity)
    }

    // MARK: Establishing

    /// Wraps a connected socket that a `Listener` accepted: registers it with `eventLoop` and
    /// makes it active at once. Call on `eventLoop`'s thread; the channel owns `fd` from here on
    /// (it is closed if registration fails).
    static func adopt(fd: Int32, peer: String, eventLoop: EventLoop, options: ChannelOptions) throws(WireError) -> Channel {
        precondition(eventLoop.inEventLoop)
        var on: Int32 = 1
        if options.noDelay { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        if options.keepAlive { setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size)) }
        let channel = Channel(fd: fd, host: peer, peer: peer, eventLoop: eventLoop, options: options)
        do {
            try eventLoop.register(fd: fd, channel)
        } catch {
            channel.io.withLock { $0.lifecycle = .closed(error) }
            Glibc.close(fd)
            throw error
        }
        channel.io.withLock { $0.lifecycle = .active }
        return channel
    }

    /// Connects to `host:port` (trying each resolved address in turn), then performs the TLS
    /// handshake when `tls` is given. The whole establishment is bounded by
    /// `options.connectTimeout`.
    public static func connect(
        host: String,
        port: Int,
        tls: TLSConfiguration? = nil,
        options: ChannelOptions = ChannelOptions(),
        eventLoop: EventLoop = EventLoopGroup.shared.next()
    ) async throws(WireError) -> Channel {
        let addresses = try SocketAddress.resolve(host: host, port: port)
        var lastError: WireError?
        for address in addresses {
            do {
                return try await connect(to: address, host: host, tls: tls, options: options, eventLoop: eventLoop)
            } catch {
                lastError = error
                if case .timedOut = error { throw error }
            }
        }
        throw lastError ?? WireError.connectionRefused(peer: "\(host):\(port)")
    }

    static func connect(
        to address: SocketAddress,
        host: String,
        tls: TLSConfiguration?,
        options: ChannelOptions,
        eventLoop: EventLoop
    ) async throws(WireError) -> Channel {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(operation: "socket", errno: errno) }
        var on: Int32 = 1
        if options.noDelay { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        if options.keepAlive { setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size)) }

        let peer = address.description
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if result != 0 && errno != EINPROGRESS {
            let code = errno
            Glibc.close(fd)
            throw WireError.fromErrno(code, operation: "connect", peer: peer)
        }

        let channel = Channel(fd: fd, host: host, peer: peer, eventLoop: eventLoop, options: options)
        if let tls { channel.pendingTLS = (tls, host) }
        let deadline = NanoTime.now() + options.connectTimeout
        let outcome = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Void, WireError>, Never>) in
            // On the loop's own thread (a task that prefers the loop) the socket is registered
            // right away: queued, it would cost the loop a turn (an extra epoll_wait) first.
            let begin: @Sendable () -> Void = {
                channel.beginEstablishment(continuation, deadline: deadline, alreadyConnected: result == 0)
            }
            if eventLoop.inEventLoop { begin() } else { eventLoop.execute(begin) }
        }
        try outcome.get()
        return channel
    }

    private func beginEstablishment(
        _ continuation: UnsafeContinuation<Result<Void, WireError>, Never>,
        deadline: NanoTime,
        alreadyConnected: Bool
    ) {
        establishment = continuation
        do {
            try eventLoop.register(fd: fd, self)
        } catch {
            Glibc.close(fd)
            io.withLock { $0.lifecycle = .closed(error) }
            finishEstablishment(.failure(error))
            return
        }
        let timeout = options.connectTimeout
        establishmentTimer = eventLoop.scheduleTimer(at: deadline) { [self] in
            establishmentTimer = nil
            guard establishment != nil else { return }
            closeOnLoop(.timedOut(operation: pendingTLS == nil ? "connect" : "TLS handshake", peer: peer, after: timeout))
        }
        if alreadyConnected { connectCompleted(readable: true) }
    }

    private func finishEstablishment(_ outcome: Result<Void, WireError>) {
        if let timer = establishmentTimer {
            eventLoop.cancelTimer(timer)
            establishmentTimer = nil
        }
        if let continuation = establishment {
            establishment = nil
            continuation.resume(returning: outcome)
        }
    }

    /// `readable`: whether the readiness that completed the connect also reported data. A
    /// connect usually completes before the server's first bytes (MySQL's greeting) arrive,
    /// and reading then would only return EAGAIN: the edge that brings them will come.
    private func connectCompleted(readable: Bool, peerHungUp: Bool = false) {
        // A failed connect always raises EPOLLERR (tcp_poll reports a pending socket error),
        // which arrives here as a hangup: only then is SO_ERROR worth a syscall.
        if peerHungUp {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 {
                closeOnLoop(WireError.fromErrno(code, operation: "connect", peer: peer))
                return
            }
        }
        if let (configuration, host) = pendingTLS {
            pendingTLS = nil
            beginHandshake(configuration, host: host)
            return
        }
        io.withLock { $0.lifecycle = .active }
        finishEstablishment(.success(()))
        if readable || peerHungUp { readAvailable(peerHungUp: peerHungUp) }
    }

    /// Upgrades an established plain connection to TLS in-band (MySQL's SSLRequest, STARTTLS).
    /// Call it when no bytes are in flight in either direction.
    public func startTLS(_ configuration: TLSConfiguration, serverName: String? = nil) async throws(WireError) {
        let deadline = NanoTime.now() + options.connectTimeout
        let outcome = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Void, WireError>, Never>) in
            eventLoop.execute { [self] in
                let state = io.withLock { state -> Result<Void, WireError> in
                    if case let .closed(error) = state.lifecycle { return .failure(error) }
                    return .success(())
                }
                if case .failure = state {
                    continuation.resume(returning: state)
                    return
                }
                establishment = continuation
                let timeout = options.connectTimeout
                establishmentTimer = eventLoop.scheduleTimer(at: deadline) { [self] in
                    establishmentTimer = nil
                    guard establishment != nil else { return }
                    closeOnLoop(.timedOut(operation: "TLS handshake", peer: peer, after: timeout))
                }
                beginHandshake(configuration, host: serverName ?? host)
            }
        }
        try outcome.get()
    }

    /// Creates the TLS session on this socket and drives the handshake from the loop.
    private func beginHandshake(_ configuration: TLSConfiguration, host: String) {
        do throws(WireError) {
            let session = try TLSSession(fd: fd, configuration: configuration, host: host, peer: peer)
            io.withLock {
                $0.tls = session
                $0.lifecycle = .handshaking
            }
            continueHandshake()
        } catch {
            closeOnLoop(error)
        }
    }

    private func continueHandshake() {
        let progress = io.withLock { state -> TLSSession.Progress in
            guard let tls = state.tls else { return .failed("no TLS session") }
            return tls.handshake()
        }
        switch progress {
        case .done:
            io.withLock { $0.lifecycle = .active }
            finishEstablishment(.success(()))
            flushFromLoop()
            readAvailable()
        case .wantRead, .wantWrite:
            return
        case .closed:
            closeOnLoop(.tls(peer: peer, reason: "peer closed the connection during the handshake"))
        case let .failed(reason):
            let error = io.withLock { $0.tls?.handshakeFailure(reason) } ?? .tls(peer: peer, reason: reason)
            closeOnLoop(error)
        }
    }

    // MARK: Handler

    /// Attaches the protocol handler; bytes that arrived before it are delivered at once.
    /// The channel holds the handler weakly: the handler's owner decides its lifetime and
    /// should close the channel when it is done.
    public func setHandler(_ newHandler: any ChannelHandler) {
        let install: @Sendable () -> Void = { [self] in
            handler = newHandler
            hasHandler = true
            let closedError = io.withLock { state -> WireError? in
                if case let .closed(error) = state.lifecycle { return error }
                return nil
            }
            if let closedError {
                if !closeDelivered {
                    closeDelivered = true
                    // What the peer sent before hanging up (often the reason it hung up)
                    // still comes first.
                    if inbound.readableBytes > 0 { newHandler.channelRead(&inbound) }
                    newHandler.channelClosed(closedError)
                }
                return
            }
            if inbound.readableBytes > 0 { newHandler.channelRead(&inbound) }
        }
        if eventLoop.inEventLoop { install() } else { eventLoop.execute(install) }
    }

    // MARK: Readiness

    func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {
        // An edge-triggered event reports writability whenever the socket is writable, so
        // only a write that is waiting for room makes it worth a flush.
        let (lifecycle, waitingForWritable) = io.withLock { ($0.lifecycle, $0.waitingForWritable) }
        switch lifecycle {
        case .connecting:
            if writable || hangup { connectCompleted(readable: readable, peerHungUp: hangup) }
        case .handshaking:
            continueHandshake()
        case .active:
            if writable && waitingForWritable { flushFromLoop() }
            if readable || hangup { readAvailable(peerHungUp: hangup) }
        case .closed:
            return
        }
    }

    /// Drains the socket into the inbound buffer and delivers it. A short plain read means the
    /// kernel buffer was emptied, so the next edge will announce new data; TLS may hold
    /// decrypted bytes internally, so it reads until OpenSSL wants more from the socket.
    /// When the edge also reported a hangup, the FIN came with the data and no further edge
    /// will announce it: then it reads on until EOF (or EAGAIN).
    private func readAvailable(peerHungUp: Bool = false) {
        if readingPaused {
            // Edge-triggered: remember the hangup, the data stays in the kernel until resumed.
            if peerHungUp { hangupWhilePaused = true }
            return
        }
        var delivered = false
        var isTLS = false
        while true {
            var failure: WireError?
            var sawEOF = false
            var drained = false
            let minimum = 16 * 1024
            let count = inbound.writeWithUnsafeMutableBytes(minimum: minimum) { raw -> Int in
                io.withLock { state -> Int in
                    if case .closed = state.lifecycle { drained = true; return 0 }
                    if let tls = state.tls {
                        isTLS = true
                        switch tls.read(into: raw.baseAddress!, count: raw.count) {
                        case let .done(n): return n
                        case .wantRead, .wantWrite: drained = true; return 0
                        case .closed: sawEOF = true; return 0
                        case let .failed(reason): failure = .tls(peer: peer, reason: reason); return 0
                        }
                    }
                    while true {
                        let n = recv(fd, raw.baseAddress!, raw.count, 0)
                        if n > 0 {
                            if n < raw.count && !peerHungUp { drained = true }
                            return n
                        }
                        if n == 0 { sawEOF = true; return 0 }
                        let code = errno
                        if code == EINTR { continue }
                        if code == EAGAIN || code == EWOULDBLOCK { drained = true; return 0 }
                        failure = WireError.fromErrno(code, operation: "read", peer: peer)
                        return 0
                    }
                }
            }
            if count > 0, let handler, inbound.readableBytes > 0 {
                handler.channelRead(&inbound)
                delivered = true
            }
            if let failure { closeOnLoop(failure); return }
            if sawEOF { closeOnLoop(.closedByPeer(peer: peer)); return }
            if drained { break }
            if readingPaused {
                // The handler asked for a pause; what is left stays in the kernel buffer.
                if peerHungUp { hangupWhilePaused = true }
                return
            }
        }
        if delivered { inbound.shrinkIfIdle(to: options.receiveBufferCapacity) }
        // A TLS read may have been blocked on a write (renegotiation, key update).
        if isTLS && io.withLock({ $0.waitingForWritable }) { flushFromLoop() }
    }

    // MARK: Flow control

    /// Stops reading from the socket (backpressure): the kernel buffer fills and TCP's window
    /// slows the peer. Bytes already read stay in the inbound buffer. Loop thread only.
    public func pauseReading() {
        precondition(eventLoop.inEventLoop)
        readingPaused = true
    }

    /// Reads again after `pauseReading`, delivering what arrived meanwhile. Loop thread only.
    public func resumeReading() {
        precondition(eventLoop.inEventLoop)
        guard readingPaused else { return }
        readingPaused = false
        let hungUp = hangupWhilePaused
        hangupWhilePaused = false
        guard isActive else { return }
        if inbound.readableBytes > 0, let handler { handler.channelRead(&inbound) }
        // No new edge announces data that arrived while paused, so look now.
        readAvailable(peerHungUp: hungUp)
    }

    public var isReadingPaused: Bool { readingPaused }

    /// Bytes accepted by `write` that the socket has not taken yet.
    public var pendingWriteBytes: Int {
        io.withLock { $0.outbound.count - $0.outboundIndex }
    }

    /// Calls `callback` on the loop once every byte written so far has left (at once, on the
    /// next loop turn, when nothing is pending), or when the channel closes.
    public func whenWritesDrained(_ callback: @escaping @Sendable () -> Void) {
        let runNow = io.withLock { state -> Bool in
            if case .closed = state.lifecycle { return true }
            if state.outboundIndex >= state.outbound.count && !state.flushDeferred { return true }
            state.drainCallbacks.append(callback)
            return false
        }
        if runNow { eventLoop.execute(callback) }
    }

    private func runDrainCallbacks() {
        let callbacks = io.withLock { state -> [@Sendable () -> Void] in
            guard state.outboundIndex >= state.outbound.count, !state.drainCallbacks.isEmpty else { return [] }
            let taken = state.drainCallbacks
            state.drainCallbacks = []
            return taken
        }
        for callback in callbacks { callback() }
    }

    // MARK: Writing

    /// When bytes written on the loop thread leave.
    public enum FlushTiming: Sendable {
        /// At the end of the loop turn, together with whatever else the turn writes (many
        /// pipelined requests in one syscall).
        case endOfTurn
        /// Now. For a request that waits for its reply before anything else is written (a
        /// MySQL command): the work left in this turn then overlaps the server's.
        case immediately
    }

    /// Encodes bytes straight into the outbound buffer and sends them. Safe from any thread.
    /// Returns false (and encodes nothing) when the channel is already closed; a failure while
    /// sending closes the channel and reaches the handler. Writes from other threads are
    /// always sent at once; `timing` decides for writes on the loop thread.
    @discardableResult
    public func write(flush timing: FlushTiming = .endOfTurn, _ encode: (inout [UInt8]) -> Void) -> Bool {
        write(flush: timing, direct: nil, encode)
    }

    /// Sends `bytes` (a convenience over `write(flush:_:)`). When they are to leave now and
    /// nothing is queued before them (a request that waits for its reply), they go to the
    /// socket straight from `bytes`, without a copy into the outbound buffer; whatever the
    /// socket does not take is queued as usual.
    @discardableResult
    public func write(bytes: [UInt8], flush timing: FlushTiming = .endOfTurn) -> Bool {
        write(flush: timing, direct: bytes) { $0.append(contentsOf: bytes) }
    }

    private func write(flush timing: FlushTiming, direct: [UInt8]?, _ encode: (inout [UInt8]) -> Void) -> Bool {
        let onLoop = eventLoop.inEventLoop
        let sendNow = !onLoop || timing == .immediately
        var drainCallbacksDue = false
        var deferToLoop = false
        var failure: WireError?
        let accepted = io.withLock { state -> Bool in
            switch state.lifecycle {
            case .closed: return false
            case .connecting, .handshaking:
                encode(&state.outbound)
                return true
            case .active:
                if sendNow, let direct, !direct.isEmpty, state.tls == nil, !state.waitingForWritable, state.outbound.isEmpty {
                    switch direct.withUnsafeBytes({ sendPlain($0.baseAddress!, $0.count) }) {
                    case let .sent(count) where count == direct.count:
                        drainCallbacksDue = !state.drainCallbacks.isEmpty
                        return true
                    case let .sent(count):
                        // The rest is queued; the flush below sends on until the socket is full.
                        state.outbound.append(contentsOf: direct[count...])
                    case .full:
                        state.outbound.append(contentsOf: direct)
                    case let .failed(error):
                        failure = error
                        return true
                    }
                } else {
                    encode(&state.outbound)
                }
                if state.waitingForWritable { return true }
                if sendNow {
                    // Also sends what an earlier write of this turn deferred (same buffer, in order).
                    failure = flushLocked(&state)
                    drainCallbacksDue = failure == nil && !state.drainCallbacks.isEmpty && state.outboundIndex >= state.outbound.count
                } else if !state.flushDeferred {
                    state.flushDeferred = true
                    deferToLoop = true
                }
                return true
            }
        }
        if deferToLoop { eventLoop.deferFlush(self) }
        if let failure { eventLoop.execute { [self] in closeOnLoop(failure) } }
        if drainCallbacksDue { eventLoop.execute { [self] in runDrainCallbacks() } }
        return accepted
    }

    /// What one `send` on the plain socket did.
    private enum SendOutcome {
        case sent(Int)
        /// The socket buffer is full (EAGAIN).
        case full
        case failed(WireError)
    }

    /// One `send` on the plain socket (retried on EINTR). Called under the I/O lock.
    private func sendPlain(_ pointer: UnsafeRawPointer, _ count: Int) -> SendOutcome {
        while true {
            let n = send(fd, pointer, count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .sent(n) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .full }
            return .failed(WireError.fromErrno(code, operation: "write", peer: peer))
        }
    }

    func flushDeferredWrites() {
        flushFromLoop()
    }

    private func flushFromLoop() {
        var closeNow = false
        var drainCallbacksDue = false
        let failure = io.withLock { state -> WireError? in
            state.flushDeferred = false
            guard case .active = state.lifecycle else { return nil }
            state.waitingForWritable = false
            let failure = flushLocked(&state)
            let drained = state.outboundIndex >= state.outbound.count
            if failure == nil && state.closeWhenFlushed && drained { closeNow = true }
            drainCallbacksDue = drained && !state.drainCallbacks.isEmpty
            return failure
        }
        if let failure { closeOnLoop(failure); return }
        if drainCallbacksDue { runDrainCallbacks() }
        if closeNow { closeOnLoop(.closed(peer: peer)) }
    }

    /// Writes as much of the outbound buffer as the socket takes. Runs under the I/O lock.
    private func flushLocked(_ state: inout IOState) -> WireError? {
        while state.outboundIndex < state.outbound.count {
            let start = state.outboundIndex
            let remaining = state.outbound.count - start
            var blocked = false
            var failure: WireError?
            let written = state.outbound.withUnsafeBytes { raw -> Int in
                let pointer = raw.baseAddress! + start
                if let tls = state.tls {
                    switch tls.write(from: pointer, count: remaining) {
                    case let .done(n): return n
                    case .wantRead, .wantWrite: blocked = true; return 0
                    case .closed: failure = .closedByPeer(peer: peer); return 0
                    case let .failed(reason): failure = .tls(peer: peer, reason: reason); return 0
                    }
                }
                switch sendPlain(pointer, remaining) {
                case let .sent(n): return n
                case .full: blocked = true; return 0
                case let .failed(error): failure = error; return 0
                }
            }
            if let failure { return failure }
            state.outboundIndex += written
            if blocked {
                state.waitingForWritable = true
                if state.writeTimer == nil {
                    let timeout = options.writeTimeout
                    let progressMark = state.outboundIndex
                    state.writeTimer = eventLoop.scheduleTimer(at: NanoTime.now() + timeout) { [self] in
                        writeTimerFired(progressMark: progressMark, timeout: timeout)
                    }
                }
                return nil
            }
        }
        if let timer = state.writeTimer {
            eventLoop.cancelTimer(timer)
            state.writeTimer = nil
        }
        if state.outbound.capacity > 4 * 1024 * 1024 {
            state.outbound = []
        } else {
            state.outbound.removeAll(keepingCapacity: true)
        }
        state.outboundIndex = 0
        return nil
    }

    private func writeTimerFired(progressMark: Int, timeout: Duration) {
        let stalled = io.withLock { state -> Bool in
            state.writeTimer = nil
            guard state.waitingForWritable else { return false }
            if state.outboundIndex > progressMark {
                // The peer is slow but reading: grant another period.
                let mark = state.outboundIndex
                state.writeTimer = eventLoop.scheduleTimer(at: NanoTime.now() + timeout) { [self] in
                    writeTimerFired(progressMark: mark, timeout: timeout)
                }
                return false
            }
            return true
        }
        if stalled { closeOnLoop(.timedOut(operation: "write", peer: peer, after: timeout)) }
    }

    // MARK: Closing

    /// Closes once the bytes written so far have been sent (a proxy relaying a peer's last
    /// reply before its hangup). Reads stop at once.
    public func closeAfterFlush() {
        let body: @Sendable () -> Void = { [self] in
            readingPaused = true
            let now = io.withLock { state -> Bool in
                if case .closed = state.lifecycle { return false }
                if state.outboundIndex >= state.outbound.count && !state.flushDeferred { return true }
                state.closeWhenFlushed = true
                return false
            }
            if now { closeOnLoop(.closed(peer: peer)) }
        }
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    /// Aborts the connection with a TCP RST (SO_LINGER 0) instead of a FIN: the peer sees
    /// ECONNRESET. Unsent bytes are dropped.
    public func reset() {
        let body: @Sendable () -> Void = { [self] in
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            closeOnLoop(.connectionReset(peer: "\(peer) (reset on this side)"))
        }
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    /// Closes the connection. Pending work fails with `WireError.closed`.
    public func close() {
        closeWithError(.closed(peer: peer))
    }

    /// Closes the connection, reporting `error` to the handler (e.g. a protocol violation
    /// detected by the handler, or a request timeout).
    public func closeWithError(_ error: WireError) {
        if eventLoop.inEventLoop {
            closeOnLoop(error)
        } else {
            eventLoop.execute { [self] in closeOnLoop(error) }
        }
    }

    public var isActive: Bool {
        io.withLock { state in
            if case .active = state.lifecycle { return true }
            return false
        }
    }

    private func closeOnLoop(_ error: WireError) {
        let firstClose = io.withLock { state -> Bool in
            if case .closed = state.lifecycle { return false }
            state.lifecycle = .closed(error)
            if let timer = state.writeTimer {
                eventLoop.cancelTimer(timer)
                state.writeTimer = nil
            }
            state.tls?.shutdown()
            state.outbound = []
            state.outboundIndex = 0
            return true
        }
        guard firstClose else { return }
        let drainCallbacks = io.withLock { state -> [@Sendable () -> Void] in
            let taken = state.drainCallbacks
            state.drainCallbacks = []
            return taken
        }
        for callback in drainCallbacks { eventLoop.execute(callback) }
        eventLoop.closeRegistered(fd: fd)
        finishEstablishment(.failure(error))
        if hasHandler, !closeDelivered {
            closeDelivered = true
            handler?.channelClosed(error)
        }
        io.withLock { $0.tls = nil }
    }

    deinit {
        // Normally closed by its handler; a channel dropped while open must not leak its fd.
        let open = io.withLock { state -> Bool in
            if case .closed = state.lifecycle { return false }
            return true
        }
        if open { Glibc.close(fd) }
    }
}

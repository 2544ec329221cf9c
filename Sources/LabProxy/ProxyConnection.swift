#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import WireCore

/// One client connection and its upstream connection, pumped both ways on one event loop.
/// Every method runs on `loop` (other threads hop there through `loop.execute`), so the state
/// needs no lock.
final class ProxyConnection: @unchecked Sendable {
    /// Above this many bytes queued or unsent towards one side, the other side's reads pause.
    static let highWater = 1 << 20
    static let lowWater = 256 * 1024

    let id: UInt64
    let route: Route
    let loop: EventLoop
    let client: Channel
    private(set) var upstream: Channel?
    private weak var server: ProxyServer?
    private let trace: TraceSink
    private var framer: ProtocolFramer!
    private var pipes: [Pipe] = []
    private var clientSide: Side?
    private var upstreamSide: Side?
    private(set) var closed = false

    init(id: UInt64, route: Route, client: Channel, server: ProxyServer, framer: (FramerContext) -> ProtocolFramer) {
        self.id = id
        self.route = route
        self.loop = client.eventLoop
        self.client = client
        self.server = server
        self.trace = server.trace
        let context = FramerContext(
            connection: id, route: route.name,
            emit: { [trace = server.trace] event in trace.emit(event) },
            failMessage: { [weak server, name = route.name] names in server?.failMessage(route: name, names: names) }
        )
        self.framer = framer(context)
        pipes = [Pipe(direction: .upstream, connection: self), Pipe(direction: .downstream, connection: self)]
    }

    func pipe(_ direction: ProxyDirection) -> Pipe { direction == .upstream ? pipes[0] : pipes[1] }

    func source(of direction: ProxyDirection) -> Channel? { direction == .upstream ? client : upstream }
    func destination(of direction: ProxyDirection) -> Channel? { direction == .upstream ? upstream : client }

    /// Attaches the client handler and connects upstream (on the same loop).
    func start() {
        precondition(loop.inEventLoop)
        let clientSide = Side(connection: self, direction: .upstream)
        self.clientSide = clientSide
        client.setHandler(clientSide)
        let route = route
        let loop = loop
        Task { [self] in
            do {
                let channel = try await Channel.connect(host: route.upstreamHost, port: route.upstreamPort,
                                                        options: ChannelOptions(connectTimeout: .seconds(5)), eventLoop: loop)
                loop.execute { [self] in upstreamConnected(channel) }
            } catch {
                loop.execute { [self] in
                    trace.emit(TraceEvent(timeMicros: ProxyClock.now().wallMicros, connection: id, route: route.name,
                                                 proto: route.proto, name: "upstream_connect_failed",
                                                 fields: [("upstream", .string("\(route.upstreamHost):\(route.upstreamPort)")),
                                                          ("error", .string("\(error)"))]))
                    close(reason: "upstream connect failed")
                }
            }
        }
    }

    private func upstreamConnected(_ channel: Channel) {
        guard !closed else { channel.close(); return }
        upstream = channel
        let side = Side(connection: self, direction: .downstream)
        upstreamSide = side
        channel.setHandler(side)
        pipe(.upstream).pump()
    }

    // MARK: Bytes in

    func received(_ bytes: [UInt8], from direction: ProxyDirection) {
        guard !closed else { return }
        let now = ProxyClock.now()
        let faults = server?.faults(route: route.name, direction: direction) ?? []
        let frames = framer.feed(bytes, direction: direction, now: now)
        let pipe = pipe(direction)
        var answeredLocally = false
        for frame in frames {
            if frame.closeConnection { close(reason: "fail fault"); return }
            if let reply = frame.localReply {
                if !reply.isEmpty {
                    self.pipe(.downstream).enqueue(reply, faults: [], frameNames: [], now: now)
                    answeredLocally = true
                }
                continue
            }
            pipe.enqueue(frame.bytes, faults: faults, frameNames: frame.names, now: now)
            if closed { return }
        }
        pipe.pump()
        if answeredLocally { self.pipe(.downstream).pump() }
    }

    /// One side hung up (or failed): relay what is queued towards the other side, then close it.
    func sideClosed(_ direction: ProxyDirection, error: WireError) {
        guard !closed else { return }
        let other = direction == .upstream ? pipe(.upstream) : pipe(.downstream)
        other.flushIgnoringDelays()
        close(reason: "\(error)", graceful: true)
    }

    func close(reason: String, graceful: Bool = false) {
        guard !closed else { return }
        closed = true
        for pipe in pipes { pipe.cancelTimer() }
        framer.finish(now: ProxyClock.now())
        if graceful {
            client.closeAfterFlush()
            upstream?.closeAfterFlush()
        } else {
            client.close()
            upstream?.close()
        }
        server?.connectionClosed(self)
    }

    /// Aborts both sides with RST.
    func reset() {
        guard !closed else { return }
        closed = true
        for pipe in pipes { pipe.cancelTimer() }
        framer.finish(now: ProxyClock.now())
        client.reset()
        upstream?.reset()
        server?.connectionClosed(self)
    }

    /// Reads on one side are paused for backpressure; resumes them once the queue drained.
    func updateFlowControl(_ direction: ProxyDirection) {
        guard !closed, let source = source(of: direction) else { return }
        let pipe = pipe(direction)
        let backlog = pipe.queuedBytes + (destination(of: direction)?.pendingWriteBytes ?? 0)
        if backlog > Self.highWater {
            if !source.isReadingPaused { source.pauseReading() }
            if let destination = destination(of: direction), !pipe.awaitingDrain {
                pipe.awaitingDrain = true
                destination.whenWritesDrained {
                    pipe.awaitingDrain = false
                    pipe.pump()
                }
            }
        } else if backlog < Self.lowWater && source.isReadingPaused {
            source.resumeReading()
        }
    }

    final class Side: ChannelHandler, @unchecked Sendable {
        let connection: ProxyConnection
        let direction: ProxyDirection

        init(connection: ProxyConnection, direction: ProxyDirection) {
            self.connection = connection
            self.direction = direction
        }

        func channelRead(_ buffer: inout InboundBuffer) {
            let bytes = buffer.readableBytesArray()
            buffer.readerIndex = buffer.writerIndex
            connection.received(bytes, from: direction)
        }

        func channelClosed(_ error: WireError) {
            connection.sideClosed(direction, error: error)
        }
    }
}

/// One direction's outbound queue: chunks wait here until their release time (latency,
/// delay and slice faults), then go to the destination channel in order.
final class Pipe: @unchecked Sendable {
    struct Chunk {
        var release: UInt64
        var bytes: [UInt8]
    }

    let direction: ProxyDirection
    private let loop: EventLoop
    weak var connection: ProxyConnection?
    private var queue: [Chunk] = []
    private var head = 0
    private(set) var queuedBytes = 0
    private var lastRelease: UInt64 = 0
    /// Bandwidth fault: when the last paced piece has finished "transmitting".
    private var linkFree: UInt64 = 0
    private var timer: UInt64?
    private var timerDeadline: UInt64 = 0
    private var forwarded = 0
    var awaitingDrain = false
    private var random = SystemRandomNumberGenerator()

    init(direction: ProxyDirection, connection: ProxyConnection) {
        self.direction = direction
        self.connection = connection
        self.loop = connection.loop
    }

    func enqueue(_ bytes: [UInt8], faults: [Fault], frameNames: [String], now: ProxyClock.Instant) {
        guard !bytes.isEmpty, let connection else { return }
        var delayNanos: UInt64 = 0
        var slice: (bytes: Int, delayMs: Int)?
        var bandwidth: Int?
        for fault in faults {
            switch fault.kind {
            case .blackhole:
                return
            case let .latency(ms, jitter):
                var value = ms
                if jitter > 0 { value += Int.random(in: -jitter...jitter, using: &random) }
                delayNanos += UInt64(max(0, value)) * 1_000_000
            case let .delay(command, ms):
                if frameNames.contains(where: { $0.caseInsensitiveCompare(command) }) { delayNanos += UInt64(ms) * 1_000_000 }
            case let .slice(bytes, delayMs):
                slice = (bytes, delayMs)
            case let .bandwidth(rate):
                bandwidth = rate
            case let .closeAfter(limit):
                let remaining = limit - forwarded
                if remaining <= bytes.count {
                    if remaining > 0 { append(Array(bytes.prefix(remaining)), release: max(now.monotonicNanos + delayNanos, lastRelease)) }
                    forwarded = limit
                    flushIgnoringDelays()
                    connection.close(reason: "close-after fault", graceful: true)
                    return
                }
            case .reset, .down, .fail:
                break
            }
        }
        forwarded += bytes.count
        var release = max(now.monotonicNanos + delayNanos, lastRelease)
        if let rate = bandwidth {
            // The link is busy until `linkFree`; each piece leaves once its transmission time at
            // `rate` has elapsed. Pieces of ~10 ms worth keep the pacing smooth.
            let piece = max(1, min(64 * 1024, rate / 100))
            var offset = 0
            var start = max(release, linkFree)
            while offset < bytes.count {
                let end = min(offset + piece, bytes.count)
                start += UInt64(end - offset) * 1_000_000_000 / UInt64(rate)
                append(Array(bytes[offset..<end]), release: start)
                offset = end
            }
            linkFree = start
        } else if let slice, bytes.count > slice.bytes {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + slice.bytes, bytes.count)
                append(Array(bytes[offset..<end]), release: release)
                release += UInt64(slice.delayMs) * 1_000_000
                offset = end
            }
        } else {
            append(bytes, release: release)
        }
    }

    private func append(_ bytes: [UInt8], release: UInt64) {
        queue.append(Chunk(release: release, bytes: bytes))
        queuedBytes += bytes.count
        lastRelease = release
    }

    /// Writes every chunk whose time has come; arms a timer for the next one.
    func pump() {
        guard let connection, let destination = connection.destination(of: direction) else { return }
        let now = ProxyClock.now().monotonicNanos
        while head < queue.count, queue[head].release <= now {
            let chunk = queue[head].bytes
            queue[head].bytes = []
            head += 1
            queuedBytes -= chunk.count
            destination.write(bytes: chunk)
        }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 256 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        if head < queue.count {
            let next = queue[head].release
            if timer == nil || timerDeadline > next {
                if let timer { loop.cancelTimer(timer) }
                timerDeadline = next
                // Timer callbacks run on the loop thread.
                timer = loop.scheduleTimer(at: NanoTime(nanoseconds: next)) { [self] in
                    timer = nil
                    pump()
                }
            }
        }
        connection.updateFlowControl(direction)
    }

    /// Writes everything queued now (a side is closing).
    func flushIgnoringDelays() {
        cancelTimer()
        guard let destination = connection?.destination(of: direction) else { return }
        while head < queue.count {
            destination.write(bytes: queue[head].bytes)
            head += 1
        }
        queue.removeAll()
        head = 0
        queuedBytes = 0
    }

    func cancelTimer() {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A piece of one direction's byte stream, ready to forward: a whole protocol frame, or
/// bytes no codec could read (forwarded untouched).
public struct ProxyFrame: Sendable {
    public var bytes: [UInt8]
    /// The names a command/API fault can match (upstream frames): e.g. ["Produce"],
    /// ["COM_QUERY", "QUERY", "SELECT"], ["GET"].
    public var names: [String]
    public var unparsed: Bool
    /// Set when a `fail` fault matched: send this to the client instead of forwarding.
    public var localReply: [UInt8]?
    /// Set when a `fail` fault matched and the protocol has no cheap error answer: cut the connection.
    public var closeConnection: Bool

    public init(bytes: [UInt8], names: [String] = [], unparsed: Bool = false, localReply: [UInt8]? = nil, closeConnection: Bool = false) {
        self.bytes = bytes
        self.names = names
        self.unparsed = unparsed
        self.localReply = localReply
        self.closeConnection = closeConnection
    }

    public func matches(_ command: String) -> Bool {
        names.contains { $0.caseInsensitiveCompare(command) }
    }
}

extension String {
    func caseInsensitiveCompare(_ other: String) -> Bool {
        self.uppercased() == other.uppercased()
    }
}

/// What a framer needs from its connection: where events go, what a fail fault says.
public struct FramerContext: Sendable {
    public var connection: UInt64
    public var route: String
    public var emit: @Sendable (TraceEvent) -> Void
    /// The message of a `fail` fault matching any of these names, if one is active.
    public var failMessage: @Sendable ([String]) -> String?

    public init(connection: UInt64, route: String, emit: @escaping @Sendable (TraceEvent) -> Void,
                failMessage: @escaping @Sendable ([String]) -> String? = { _ in nil }) {
        self.connection = connection
        self.route = route
        self.emit = emit
        self.failMessage = failMessage
    }
}

/// Splits both directions of one connection into frames, pairs requests with responses and
/// emits one trace event per exchange. It never rejects bytes: what it cannot parse it hands
/// back as `unparsed` frames (and from then on that direction is forwarded blind, since the
/// frame boundaries are lost). Called on the connection's event loop only.
public protocol ProtocolFramer: AnyObject {
    func feed(_ bytes: [UInt8], direction: ProxyDirection, now: ProxyClock.Instant) -> [ProxyFrame]
    /// The connection ended: emit what is still waiting for an answer.
    func finish(now: ProxyClock.Instant)
}

/// Monotonic time for latencies and wall time for event stamps.
public enum ProxyClock {
    public struct Instant: Sendable {
        public var monotonicNanos: UInt64
        public var wallMicros: Int64
    }

    public static func now() -> Instant {
        var mono = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return Instant(
            monotonicNanos: UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec),
            wallMicros: Int64(wall.tv_sec) * 1_000_000 + Int64(wall.tv_nsec) / 1000
        )
    }

    static func micros(from start: Instant, to end: Instant) -> Int64 {
        end.monotonicNanos >= start.monotonicNanos ? Int64((end.monotonicNanos - start.monotonicNanos) / 1000) : 0
    }
}

/// Accumulates one direction's bytes until frames are complete; once `blind`, everything
/// passes through as it comes.
struct DirectionBuffer {
    var bytes: [UInt8] = []
    var blind = false
    /// Bytes discarded from the front (consumed frames) since the last compaction.
    var start = 0

    var readable: Int { bytes.count - start }

    mutating func append(_ new: [UInt8]) {
        if start > 0 && start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 64 * 1024 && start * 2 > bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
        bytes.append(contentsOf: new)
    }

    mutating func take(_ count: Int) -> [UInt8] {
        let frame = Array(bytes[start..<start + count])
        start += count
        return frame
    }

    /// Switches to blind forwarding and returns everything buffered as one unparsed frame.
    mutating func goBlind() -> ProxyFrame? {
        blind = true
        guard readable > 0 else { return nil }
        let rest = take(readable)
        return ProxyFrame(bytes: rest, unparsed: true)
    }
}

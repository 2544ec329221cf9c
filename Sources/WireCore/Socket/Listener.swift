#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A listening TCP socket owned by an event loop. Each accepted connection becomes a
/// `Channel` on the loop `childEventLoop` picks, handed to `onAccept` on that loop's thread
/// (set its handler there; bytes that arrive first are kept for it).
public final class Listener: @unchecked Sendable, EventLoopSelectable, CustomStringConvertible {
    public let eventLoop: EventLoop
    public let host: String
    /// The bound port (the kernel's choice when 0 was asked for).
    public let port: Int
    let fd: Int32
    private let options: ChannelOptions
    private let childEventLoop: @Sendable () -> EventLoop
    private let onAccept: @Sendable (Channel) -> Void
    private let closed = Atomic<Bool>(false)

    public var description: String { "Listener(\(host):\(port), fd \(fd))" }

    private init(
        fd: Int32, host: String, port: Int, eventLoop: EventLoop, options: ChannelOptions,
        childEventLoop: @escaping @Sendable () -> EventLoop, onAccept: @escaping @Sendable (Channel) -> Void
    ) {
        self.fd = fd
        self.host = host
        self.port = port
        self.eventLoop = eventLoop
        self.options = options
        self.childEventLoop = childEventLoop
        self.onAccept = onAccept
    }

    /// Binds `host:port` (SO_REUSEADDR, so a port in TIME_WAIT is reusable) and starts
    /// accepting. Accepted channels live on `childEventLoop()`, the listener's own loop by default.
    public static func bind(
        host: String = "127.0.0.1",
        port: Int,
        backlog: Int32 = 128,
        options: ChannelOptions = ChannelOptions(),
        eventLoop: EventLoop = EventLoopGroup.shared.next(),
        childEventLoop: (@Sendable () -> EventLoop)? = nil,
        onAccept: @escaping @Sendable (Channel) -> Void
    ) async throws(WireError) -> Listener {
        let listener = try open(host: host, port: port, backlog: backlog, options: options, eventLoop: eventLoop,
                                childEventLoop: childEventLoop, onAccept: onAccept)
        // Wait until the loop has registered it, so its accepts are running on return.
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            eventLoop.execute { continuation.resume() }
        }
        return listener
    }

    /// Like `bind`, but synchronous: the socket is listening on return (connections queue in
    /// the backlog) and registration with the loop follows at once. For callers that must
    /// hand the port out before they can await (a proxy rewriting addresses).
    public static func open(
        host: String = "127.0.0.1",
        port: Int,
        backlog: Int32 = 128,
        options: ChannelOptions = ChannelOptions(),
        eventLoop: EventLoop = EventLoopGroup.shared.next(),
        childEventLoop: (@Sendable () -> EventLoop)? = nil,
        onAccept: @escaping @Sendable (Channel) -> Void
    ) throws(WireError) -> Listener {
        guard let address = try SocketAddress.resolve(host: host, port: port).first else {
            throw .invalidAddress("\(host):\(port)")
        }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(operation: "socket", errno: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if address.withSockAddr({ Glibc.bind(fd, $0, $1) }) != 0 {
            let code = errno
            Glibc.close(fd)
            throw .io(operation: "bind \(address)", errno: code)
        }
        if Glibc.listen(fd, backlog) != 0 {
            let code = errno
            Glibc.close(fd)
            throw .io(operation: "listen \(address)", errno: code)
        }
        let boundPort = Self.localPort(fd) ?? port
        let loop = eventLoop
        let listener = Listener(
            fd: fd, host: address.host, port: boundPort, eventLoop: loop, options: options,
            childEventLoop: childEventLoop ?? { loop }, onAccept: onAccept
        )
        loop.execute {
            guard !listener.closed.load(ordering: .acquiring) else { return }
            do throws(WireError) {
                try loop.register(fd: fd, listener)
                // Connections may already be queued: edge-triggered, so look now.
                listener.acceptAvailable()
            } catch {
                listener.close()
            }
        }
        return listener
    }

    private static func localPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { raw -> Int in
            if family == sa_family_t(AF_INET6) {
                return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    func handleReadiness(readable: Bool, writable: Bool, hangup: Bool) {
        if readable { acceptAvailable() }
    }

    func flushDeferredWrites() {}

    /// Accepts until the queue is empty (edge-triggered registration).
    private func acceptAvailable() {
        while !closed.load(ordering: .acquiring) {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let child = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(fd, $0, &length)
                }
            }
            if child >= 0 {
                // accept4 is not in Glibc's Swift overlay: set the flags separately.
                _ = fcntl(child, F_SETFL, fcntl(child, F_GETFL) | O_NONBLOCK)
                _ = fcntl(child, F_SETFD, FD_CLOEXEC)
            }
            if child < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                // EAGAIN: drained. EMFILE/ENFILE and others: try again on the next edge rather
                // than spin.
                return
            }
            let peer = Self.describe(&storage)
            let loop = childEventLoop()
            let options = options
            let onAccept = onAccept
            let adopt: @Sendable () -> Void = {
                guard let channel = try? Channel.adopt(fd: child, peer: peer, eventLoop: loop, options: options) else { return }
                onAccept(channel)
            }
            if loop === eventLoop { adopt() } else { loop.execute(adopt) }
        }
    }

    private static func describe(_ storage: inout sockaddr_storage) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var port = 0
        let family = storage.ss_family
        withUnsafePointer(to: &storage) { raw in
            if family == sa_family_t(AF_INET6) {
                raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var address = $0.pointee.sin6_addr
                    inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                    port = Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            } else {
                raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var address = $0.pointee.sin_addr
                    inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
                    port = Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
        }
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(port)"
    }

    /// Stops accepting and closes the listening socket (accepted channels stay open).
    public func close() {
        let body: @Sendable () -> Void = { [self] in
            guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            eventLoop.closeRegistered(fd: fd)
        }
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    deinit {
        if !closed.load(ordering: .acquiring) { Glibc.close(fd) }
    }
}

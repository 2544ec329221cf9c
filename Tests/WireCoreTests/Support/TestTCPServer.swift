#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Starts `body` on a new detached pthread (test servers block in accept/read, so they must
/// not run on the Swift concurrency pool or an event loop).
func startTestThread(_ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    let box = Unmanaged.passRetained(Box(body))
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        box.body()
        return nil
    }, box.toOpaque())
    precondition(result == 0, "pthread_create failed: \(result)")
    pthread_detach(thread)
}

/// Why a test socket helper failed (the syscall and its errno).
struct TestSocketError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    var description: String { "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// A tiny blocking TCP server on 127.0.0.1 (port chosen by the kernel) for channel tests.
/// One thread accepts; each accepted connection gets its own thread running `behavior`.
/// Everything polls with a short timeout so `stop()` ends it promptly.
final class TestTCPServer: @unchecked Sendable {
    enum Behavior: Sendable {
        /// Sends back every byte received, until the client closes.
        case echo
        /// Reads until some bytes arrived, then closes: with FIN, or with RST (SO_LINGER 0).
        case closeAfterFirstRead(reset: Bool)
        /// Writes `greeting` at once after accepting, then closes (FIN).
        case sendThenClose([UInt8])
        /// Accepts and keeps the connection open without ever reading from it.
        case holdWithoutReading
        /// Never calls accept: connections pile up in the listen backlog.
        case neverAccept
    }

    let port: Int
    let behavior: Behavior
    private let listenFD: Int32
    private let stopping = Atomic<Bool>(false)
    /// Connections kept open by `holdWithoutReading`, closed by `stop()`.
    private let held = Mutex<[Int32]>([])
    private let accepted = Atomic<Int>(0)

    /// How many connections the server has accepted so far.
    var acceptedCount: Int { accepted.load(ordering: .acquiring) }

    init(_ behavior: Behavior, backlog: Int32 = 64) throws {
        self.behavior = behavior
        let (fd, port) = try TestTCPServer.listen(backlog: backlog)
        self.listenFD = fd
        self.port = port
        if case .neverAccept = behavior { return }
        startTestThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Stops accepting and ends every connection thread (within one poll interval).
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if case .neverAccept = behavior { close(listenFD) }
        for fd in held.withLock({ fds in defer { fds.removeAll() }; return fds }) { close(fd) }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    static func listen(backlog: Int32) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestSocketError(operation: "socket", code: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let code = errno; close(fd); throw TestSocketError(operation: "bind", code: code) }
        guard Glibc.listen(fd, backlog) == 0 else { let code = errno; close(fd); throw TestSocketError(operation: "listen", code: code) }
        return (fd, try boundPort(fd))
    }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !isStopping {
            guard waitReadable(listenFD, milliseconds: 20) else { continue }
            let connection = accept(listenFD, nil, nil)
            if connection < 0 { continue }
            accepted.add(1, ordering: .releasing)
            switch behavior {
            case .holdWithoutReading:
                // The smallest receive buffer, so the client's writes stall sooner.
                var size: Int32 = 4096
                setsockopt(connection, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                held.withLock { $0.append(connection) }
            default:
                startTestThread { [self] in serve(connection) }
            }
        }
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        switch behavior {
        case .echo:
            defer { close(fd) }
            while !isStopping {
                guard waitReadable(fd, milliseconds: 20) else { continue }
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { return }
                guard writeAll(fd, buffer, count: count) else { return }
            }
        case let .closeAfterFirstRead(reset):
            while !isStopping {
                guard waitReadable(fd, milliseconds: 20) else { continue }
                let count = read(fd, &buffer, buffer.count)
                if count < 0 { break }
                if reset {
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                }
                break
            }
            close(fd)
        case let .sendThenClose(greeting):
            _ = writeAll(fd, greeting, count: greeting.count)
            close(fd)
        case .holdWithoutReading, .neverAccept:
            close(fd)
        }
    }
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

func boundPort(_ fd: Int32) throws -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard result == 0 else { throw TestSocketError(operation: "getsockname", code: errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// True when `fd` became readable (or hung up) within the time given.
func waitReadable(_ fd: Int32, milliseconds: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, milliseconds) > 0
}

/// Writes `count` bytes of `bytes` on a blocking socket; false when the peer went away.
func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int) -> Bool {
    var offset = 0
    while offset < count {
        let written = bytes.withUnsafeBytes { raw in
            send(fd, raw.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL))
        }
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}

/// A port on 127.0.0.1 that refuses connections: bound (so no one else takes it while the
/// test runs) but not listening. Close `fd` when done.
func reserveRefusingPort() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestSocketError(operation: "socket", code: errno) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { let code = errno; close(fd); throw TestSocketError(operation: "bind", code: code) }
    return (fd, try boundPort(fd))
}

/// Opens raw client connections to `port` until one does not complete within `probe`: the
/// listener's accept queue is then full and the kernel drops further SYNs. Returns every
/// socket opened (the caller closes them), or nil when no connect hung after `limit` tries.
func fillAcceptQueue(port: Int, probe: Int32 = 300, limit: Int = 32) -> (sockets: [Int32], full: Bool) {
    var sockets: [Int32] = []
    for _ in 0..<limit {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { break }
        sockets.append(fd)
        var address = loopbackAddress(port: UInt16(port))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 { continue }
        guard errno == EINPROGRESS else { break }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&entry, 1, probe) == 0 { return (sockets, true) }
    }
    return (sockets, false)
}

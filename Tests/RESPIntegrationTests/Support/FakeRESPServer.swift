#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import RESP
import Synchronization
import WireCore

/// A scripted Redis impostor on 127.0.0.1 (kernel-chosen port): it decodes each command a
/// client sends and answers with whatever bytes `respond` returns, valid RESP or not. Blocking
/// sockets on plain threads (accept loop plus one per connection), polled so `stop()` ends it.
final class FakeRESPServer: @unchecked Sendable {
    enum Action: Sendable {
        /// Send these bytes (which need not be valid RESP).
        case reply([UInt8])
        /// Say nothing.
        case silence
        /// Hang up.
        case close
    }

    let port: Int
    private let listenFD: Int32
    private let respond: @Sendable (_ words: [String]) -> Action
    private let stopping = Atomic<Bool>(false)
    private let received = Mutex<[[String]]>([])

    /// Every command received so far, in arrival order.
    var commands: [[String]] { received.withLock { $0 } }

    init(respond: @escaping @Sendable (_ words: [String]) -> Action) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireError.io(operation: "socket", errno: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { let code = errno; close(fd); throw WireError.io(operation: "bind/listen", errno: code) }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        FakeRESPServer.spawn { [self] in acceptLoop() }
    }

    deinit { stop() }

    func stop() {
        stopping.store(true, ordering: .releasing)
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !isStopping {
            guard FakeRESPServer.waitReadable(listenFD) else { continue }
            let connection = accept(listenFD, nil, nil)
            if connection >= 0 { FakeRESPServer.spawn { [self] in serve(connection) } }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        let decoder = RESPDecoder()
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !isStopping {
            guard FakeRESPServer.waitReadable(fd) else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return }
            pending += buffer[0..<count]
            var index = 0
            while let (value, end) = try? decoder.decode(pending, from: index, to: pending.count) {
                index = end
                let words = (value.array ?? []).compactMap(\.string)
                received.withLock { $0.append(words) }
                switch respond(words) {
                case let .reply(bytes):
                    var offset = 0
                    while offset < bytes.count {
                        let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                        if written <= 0 { return }
                        offset += written
                    }
                case .silence:
                    break
                case .close:
                    return
                }
            }
            pending.removeFirst(index)
        }
    }

    private static func waitReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 20) > 0
    }

    private static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        let box = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}

extension FakeRESPServer.Action {
    static func text(_ text: String) -> Self { .reply(Array(text.utf8)) }
}

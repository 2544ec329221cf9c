#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import MySQLWire
import Synchronization
import WireCore

/// A scripted MySQL impostor on 127.0.0.1 (kernel-chosen port): it sends `greeting` on
/// accept, then answers each packet a client sends with whatever bytes `respond` returns,
/// valid protocol or not. Blocking sockets on plain threads, polled so `stop()` ends it.
final class FakeMySQLServer: @unchecked Sendable {
    enum Action: Sendable {
        case reply([UInt8])
        case silence
        case close
    }

    let port: Int
    private let listenFD: Int32
    private let greeting: [UInt8]?
    private let respond: @Sendable (_ packet: MySQLPacket, _ index: Int) -> Action
    private let stopping = Atomic<Bool>(false)

    /// A valid MariaDB-like greeting (mysql_native_password, no TLS).
    static func handshake(connectionID: UInt32 = 42) -> [UInt8] {
        let caps = MySQLCapabilities.clientDefault.union([.connectAttrs])
        let payload = HandshakeV10(serverVersion: "5.5.5-10.11.19-MariaDB-fake", connectionID: connectionID, authPluginData: Array(1...20), capabilities: caps).encoded()
        return MySQLPacket(sequenceID: 0, payload: payload).encoded()
    }

    /// Replies to packet `index` of a connection: 0 is the handshake response.
    static func packet(_ payload: [UInt8], sequence: UInt8) -> [UInt8] {
        MySQLPacket(sequenceID: sequence, payload: payload).encoded()
    }

    init(greeting: [UInt8]? = FakeMySQLServer.handshake(), respond: @escaping @Sendable (_ packet: MySQLPacket, _ index: Int) -> Action) throws {
        self.greeting = greeting
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
        FakeMySQLServer.spawn { [self] in acceptLoop() }
    }

    deinit { stop() }

    func stop() { stopping.store(true, ordering: .releasing) }

    var configuration: MySQLConfiguration {
        MySQLConfiguration(host: "127.0.0.1", port: port, username: "lab", password: "lab", database: "lab", connectTimeout: .seconds(5))
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !isStopping {
            guard FakeMySQLServer.waitReadable(listenFD) else { continue }
            let connection = accept(listenFD, nil, nil)
            if connection >= 0 { FakeMySQLServer.spawn { [self] in serve(connection) } }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        if let greeting, !write(fd, greeting) { return }
        var decoder = MySQLPacketDecoder()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var index = 0
        while !isStopping {
            guard FakeMySQLServer.waitReadable(fd) else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return }
            decoder.append(buffer[0..<count])
            while let packet = try? decoder.next() {
                switch respond(packet, index) {
                case let .reply(bytes): if !write(fd, bytes) { return }
                case .silence: break
                case .close: return
                }
                index += 1
            }
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

#if canImport(Glibc)
import Glibc
#endif

/// Whether a lab server is up, checked before a suite that needs it runs (so a missing
/// server skips the suite with a reason instead of failing every test). A plain blocking
/// probe with a timeout: it runs while traits are evaluated, outside the event loops.
public enum TCPProbe {
    /// True when a TCP connection to host:port is accepted within `milliseconds`.
    public static func isReachable(host: String, port: Int, milliseconds: Int32 = 1000) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 && errno != EINPROGRESS { continue }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&entry, 1, milliseconds) == 1 else { continue }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 { return true }
        }
        return false
    }
}

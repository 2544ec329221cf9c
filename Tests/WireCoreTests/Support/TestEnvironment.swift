#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing

/// Where the lab's servers are, as `scripts/infra` publishes it in the environment.
enum TestEnvironment {
    static func variable(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// The package root, found from this file's path (Tests/WireCoreTests/Support/…).
    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// `rediss://host:port` of the TLS Redis (`scripts/infra up redis-tls`).
    static let redisTLSURL = variable("LAB_REDIS_TLS_URL") ?? "rediss://127.0.0.1:16380"
    static let redisTLSCA = variable("LAB_REDIS_TLS_CA") ?? packageRoot + "/.infra/tls/ca.crt"

    static let redisTLSEndpoint: (host: String, port: Int) = {
        var rest = Substring(redisTLSURL)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
            return (String(rest), 6379)
        }
        return (String(rest[..<colon]), port)
    }()

    static let redisTLSReachable = isReachable(host: redisTLSEndpoint.host, port: redisTLSEndpoint.port)
        && access(redisTLSCA, R_OK) == 0

    static let redisTLSSkipReason: Comment = """
        TLS Redis not reachable at \(redisTLSURL) or CA \(redisTLSCA) unreadable \
        (start it with `scripts/infra up redis-tls`)
        """

    /// True when a TCP connection to host:port is accepted within `milliseconds`.
    static func isReachable(host: String, port: Int, milliseconds: Int32 = 1000) -> Bool {
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

import LabTestSupport
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

    static let redisTLSReachable = TCPProbe.isReachable(host: redisTLSEndpoint.host, port: redisTLSEndpoint.port)
        && access(redisTLSCA, R_OK) == 0

    static let redisTLSSkipReason: Comment = """
        TLS Redis not reachable at \(redisTLSURL) or CA \(redisTLSCA) unreadable \
        (start it with `scripts/infra up redis-tls`)
        """
}

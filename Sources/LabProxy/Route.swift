/// The wire protocol a route carries; it picks the framer that traces it.
public enum ProxyProtocol: String, Sendable, CaseIterable {
    case kafka, mysql, resp
}

/// One listening address forwarded to one upstream server.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The name faults and trace events refer to: `listenPort` unless given.
    public var name: String
    public var listenHost: String
    public var listenPort: Int
    public var upstreamHost: String
    public var upstreamPort: Int
    public var proto: ProxyProtocol

    public init(
        name: String? = nil, listenHost: String = "127.0.0.1", listenPort: Int,
        upstreamHost: String, upstreamPort: Int, proto: ProxyProtocol
    ) {
        self.name = name ?? String(listenPort)
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.proto = proto
    }

    public var description: String { "\(name) \(proto) \(listenHost):\(listenPort) -> \(upstreamHost):\(upstreamPort)" }

    /// Parses `host:port` (IPv6 in brackets).
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
            let host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (host, port)
        }
        guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
              (0...65535).contains(port), colon > trimmed.startIndex else { return nil }
        return (String(trimmed[..<colon]), port)
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Set where Element == Character {
    static let whitespaces: Set<Character> = [" ", "\t", "\r", "\n"]
}

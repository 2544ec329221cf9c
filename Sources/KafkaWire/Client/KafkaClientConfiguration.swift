import WireCore

/// A `host:port` a client starts from, before it knows the cluster's own broker list.
public struct KafkaBootstrapServer: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port[,host:port…]`; IPv6 literals may be bracketed (`[::1]:9092`).
    public static func parseList(_ text: String) -> [KafkaBootstrapServer]? {
        var servers: [KafkaBootstrapServer] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingSpaces
            guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
                  (1...65535).contains(port) else { return nil }
            var host = String(trimmed[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            servers.append(KafkaBootstrapServer(host: host, port: port))
        }
        return servers.isEmpty ? nil : servers
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

/// How a `KafkaClient` reaches and talks to a cluster.
public struct KafkaClientConfiguration: Sendable {
    public var bootstrapServers: [KafkaBootstrapServer]
    public var clientID: String
    public var tls: TLSConfiguration?
    /// Deadline of each request on the wire (also the connect timeout).
    public var requestTimeout: Duration
    /// Metadata older than this is refreshed before it is used (Java's `metadata.max.age.ms`).
    public var metadataMaxAge: Duration
    public var retry: KafkaRetryPolicy
    /// Highest versions to use per API, below what negotiation would pick: for brokers that
    /// advertise versions they cannot parse (librdkafka's mock cluster advertises flexible
    /// JoinGroup v6 and drops the connection when it gets one).
    public var maxApiVersions: [ApiKey: Int16]

    /// The caps librdkafka's mock cluster needs: it advertises group-API versions it cannot
    /// parse (flexible JoinGroup v6 and up) and drops the connection when it gets one.
    public static let librdkafkaMockVersionCaps: [ApiKey: Int16] = [.joinGroup: 5, .syncGroup: 3, .heartbeat: 3, .leaveGroup: 3]

    public init(
        bootstrapServers: [KafkaBootstrapServer],
        clientID: String = "reliability-lab",
        tls: TLSConfiguration? = nil,
        requestTimeout: Duration = .seconds(30),
        metadataMaxAge: Duration = .seconds(300),
        retry: KafkaRetryPolicy = KafkaRetryPolicy(),
        maxApiVersions: [ApiKey: Int16] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.tls = tls
        self.requestTimeout = requestTimeout
        self.metadataMaxAge = metadataMaxAge
        self.retry = retry
        self.maxApiVersions = maxApiVersions
    }
}

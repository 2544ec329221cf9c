import WireCore

/// Where and how to connect to one Redis server.
public struct RedisConnectionConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// TLS settings; nil for plain TCP. `rediss://` URLs set it.
    public var tls: TLSConfiguration?
    public var username: String?
    public var password: String?
    public var database: Int
    public var clientName: String?
    /// Ask for RESP3 with HELLO 3, falling back to RESP2 on servers that refuse it.
    public var preferRESP3: Bool
    /// How long a command may wait for its reply before the connection is declared dead.
    public var commandTimeout: Duration
    public var channelOptions: ChannelOptions
    /// Send READONLY after connecting, so a cluster replica serves reads.
    public var readOnlyReplica: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        tls: TLSConfiguration? = nil,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        clientName: String? = nil,
        preferRESP3: Bool = true,
        commandTimeout: Duration = .seconds(10),
        channelOptions: ChannelOptions = ChannelOptions(connectTimeout: .seconds(5)),
        readOnlyReplica: Bool = false
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.preferRESP3 = preferRESP3
        self.commandTimeout = commandTimeout
        self.channelOptions = channelOptions
        self.readOnlyReplica = readOnlyReplica
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]` and `rediss://…` (TLS, verified
    /// against `caFile` or the system trust store).
    public init(url: String, caFile: String? = nil) throws(RedisError) {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("redis://") {
            scheme = "redis"
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss"
            rest = url.dropFirst("rediss://".count)
        } else {
            throw .invalidRequest("URL must start with redis:// or rediss://: \(url)")
        }
        self.init()
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user).removingPercentEncoding
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else if !credentials.isEmpty {
                // A lone credential is the password (requirepass), as redis-cli reads it.
                password = String(credentials).removingPercentEncoding
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else { throw .invalidRequest("database must be a number: \(url)") }
                database = db
            }
        }
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else { throw .invalidRequest("bad port in \(url)") }
                port = value
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let value = Int(hostPort[hostPort.index(after: colon)...]) else { throw .invalidRequest("bad port in \(url)") }
            port = value
        } else if !hostPort.isEmpty {
            host = String(hostPort)
        }
        if host.isEmpty { host = "127.0.0.1" }
        if scheme == "rediss" { tls = TLSConfiguration(caFile: caFile) }
    }
}

extension String {
    /// Decodes %XX escapes (for passwords in URLs); nil when an escape is malformed.
    var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

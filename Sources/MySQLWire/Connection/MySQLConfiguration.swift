import WireCore

/// How to reach and log in to a MySQL/MariaDB server.
public struct MySQLConfiguration: Sendable {
    public typealias TLSMode = MySQLConnectionStateMachine.TLSMode

    public var host: String
    public var port: Int
    public var username: String
    public var password: String
    public var database: String?
    public var tlsMode: TLSMode
    public var tls: TLSConfiguration
    /// Bounds TCP connect, the TLS handshake and authentication together.
    public var connectTimeout: Duration
    /// Default per-statement timeout for `query` / `execute` (nil: none). On expiry the
    /// statement is killed with `KILL QUERY` from a second connection.
    public var queryTimeout: Duration?
    /// How long to wait for the server's answer after `KILL QUERY` before closing the
    /// connection instead.
    public var killGracePeriod: Duration
    /// caching_sha2_password over plain TCP: the server's RSA public key (PEM), if known.
    public var serverPublicKeyPEM: [UInt8]?
    public var maxPayloadSize: Int

    public init(
        host: String = "127.0.0.1", port: Int = 3306, username: String, password: String = "", database: String? = nil,
        tlsMode: TLSMode = .disabled, tls: TLSConfiguration = TLSConfiguration(), connectTimeout: Duration = .seconds(10),
        queryTimeout: Duration? = nil, killGracePeriod: Duration = .seconds(5), serverPublicKeyPEM: [UInt8]? = nil,
        maxPayloadSize: Int = 256 * 1024 * 1024
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
        self.killGracePeriod = killGracePeriod
        self.serverPublicKeyPEM = serverPublicKeyPEM
        self.maxPayloadSize = maxPayloadSize
    }

    /// Parses `mysql://user:password@host:port/database` (percent-escapes in user and password
    /// are decoded). Returns nil for anything else.
    public init?(url: String) {
        let prefix = "mysql://"
        guard url.hasPrefix(prefix) else { return nil }
        var rest = Substring(url.dropFirst(prefix.count))
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            database = db.isEmpty ? nil : String(db)
            rest = rest[..<slash]
        }
        var user = ""
        var password = ""
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = percentDecode(credentials[..<colon])
                password = percentDecode(credentials[credentials.index(after: colon)...])
            } else {
                user = percentDecode(credentials)
            }
        }
        var host = String(rest)
        var port = 3306
        if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), p > 0, p < 65536 else { return nil }
            port = p
            host = String(rest[..<colon])
        }
        guard !host.isEmpty, !user.isEmpty else { return nil }
        self.init(host: host, port: port, username: user, password: password, database: database)
    }

    var stateMachineSettings: MySQLConnectionStateMachine.Settings {
        MySQLConnectionStateMachine.Settings(
            username: username, password: password, database: database, tls: tlsMode, serverPublicKeyPEM: serverPublicKeyPEM
        )
    }
}

private func percentDecode(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8)[...]
    while let byte = iterator.popFirst() {
        if byte == UInt8(ascii: "%"), iterator.count >= 2,
           let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(value)
            iterator = iterator.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The authentication plugins this client speaks, and the first response each sends.
public enum MySQLAuthPlugin: Sendable, Hashable {
    case nativePassword
    case cachingSHA2Password
    case clearPassword
    case clientEd25519

    public init?(name: String) {
        switch name {
        case MySQLNativePassword.name: self = .nativePassword
        case MySQLCachingSHA2Password.name: self = .cachingSHA2Password
        case "mysql_clear_password": self = .clearPassword
        case MySQLClientEd25519.name: self = .clientEd25519
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .nativePassword: return MySQLNativePassword.name
        case .cachingSHA2Password: return MySQLCachingSHA2Password.name
        case .clearPassword: return "mysql_clear_password"
        case .clientEd25519: return MySQLClientEd25519.name
        }
    }

    /// The response to the server's nonce (as sent: scrambles use its first 20 bytes, ed25519
    /// its first 32). `secure`: the channel is TLS (cleartext allowed).
    public func initialResponse(password: String, nonce: [UInt8], secure: Bool) throws(MySQLAuthenticationError) -> [UInt8] {
        switch self {
        case .nativePassword: return MySQLNativePassword.scramble(password: password, nonce: nonce)
        case .cachingSHA2Password: return MySQLCachingSHA2Password.scramble(password: password, nonce: nonce)
        case .clearPassword:
            guard secure else { throw .insecureCleartext(plugin: name) }
            return Array(password.utf8) + [0]
        case .clientEd25519:
            return MySQLClientEd25519.signature(password: password, nonce: Array(nonce.prefix(32)))
        }
    }
}

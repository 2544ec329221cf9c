import COpenSSL
import WireCore

/// caching_sha2_password (MySQL 8 default). Fast path: SHA256(password) XOR
/// SHA256(SHA256(SHA256(password)) + nonce); the server answers AuthMoreData 0x03 (cached,
/// OK follows) or 0x04 (full authentication needed). Full path: the cleartext password + NUL
/// over TLS, or — over plain TCP — RSA-OAEP of (password + NUL) XOR nonce with the server's
/// public key (asked for with a single 0x02 byte unless configured).
public enum MySQLCachingSHA2Password {
    public static let name = "caching_sha2_password"
    /// The client's request for the server's RSA public key.
    public static let requestPublicKey: [UInt8] = [0x02]

    public static func scramble(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        MySQLPasswordScramble.scramble(.sha256, password: password, nonce: nonce, order: .nonceLast)
    }

    public static func scramble(password: String, nonce: [UInt8]) -> [UInt8] {
        MySQLPasswordScramble.scramble(.sha256, password: password, nonce: nonce, order: .nonceLast)
    }

    /// Full authentication over a secure channel (TLS or a Unix socket).
    public static func cleartext(password: String) -> [UInt8] {
        Array(password.utf8) + [0]
    }

    /// (password + NUL) XOR the nonce, repeated: what is RSA-encrypted.
    public static func xorWithNonce(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        var data = password + [0]
        let nonce = Array(nonce.prefix(20))
        guard !nonce.isEmpty else { return data }
        for i in 0..<data.count { data[i] ^= nonce[i % nonce.count] }
        return data
    }

    /// RSA-OAEP (SHA-1, MySQL 8.0.5+) encryption of the XOR-ed password with a PEM public key.
    public static func encryptPassword(_ password: String, nonce: [UInt8], publicKeyPEM: [UInt8]) throws(MySQLAuthenticationError) -> [UInt8] {
        let plain = xorWithNonce(password: Array(password.utf8), nonce: nonce)
        return try RSAOAEP.encrypt(plain, publicKeyPEM: publicKeyPEM)
    }
}

/// Authentication failed on the client side (the server's refusals are `MySQLServerError`).
public enum MySQLAuthenticationError: Error, Sendable, Hashable, CustomStringConvertible {
    case unsupportedPlugin(String)
    case publicKey(String)
    case insecureCleartext(plugin: String)
    case crypto(String)

    public var description: String {
        switch self {
        case let .unsupportedPlugin(name): return "authentication plugin '\(name)' is not supported"
        case let .publicKey(reason): return "server RSA public key unusable: \(reason)"
        case let .insecureCleartext(plugin): return "\(plugin) would send the password in cleartext over an unencrypted connection"
        case let .crypto(reason): return "crypto failure: \(reason)"
        }
    }
}

enum RSAOAEP {
    static func encrypt(_ plain: [UInt8], publicKeyPEM: [UInt8]) throws(MySQLAuthenticationError) -> [UInt8] {
        let key: OpaquePointer? = publicKeyPEM.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let key else { throw .publicKey("not a PEM public key") }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw .crypto("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_encrypt_init(context) == 1 else { throw .crypto("EVP_PKEY_encrypt_init") }
        guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1 else { throw .crypto("set OAEP padding") }
        var length = 0
        guard EVP_PKEY_encrypt(context, nil, &length, plain, plain.count) == 1 else {
            throw .crypto("EVP_PKEY_encrypt (size): password too long for the key?")
        }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_encrypt(context, &output, &length, plain, plain.count) == 1 else {
            throw .crypto("EVP_PKEY_encrypt: password too long for the key?")
        }
        return Array(output.prefix(length))
    }

    /// For tests: decrypt with a PEM private key.
    static func decrypt(_ cipher: [UInt8], privateKeyPEM: [UInt8]) throws(MySQLAuthenticationError) -> [UInt8] {
        let key: OpaquePointer? = privateKeyPEM.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else { throw .publicKey("not a PEM private key") }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw .crypto("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_decrypt_init(context) == 1,
              EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1 else { throw .crypto("decrypt init") }
        var length = 0
        guard EVP_PKEY_decrypt(context, nil, &length, cipher, cipher.count) == 1 else { throw .crypto("decrypt size") }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_decrypt(context, &output, &length, cipher, cipher.count) == 1 else { throw .crypto("decrypt") }
        return Array(output.prefix(length))
    }
}

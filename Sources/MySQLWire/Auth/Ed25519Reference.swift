import COpenSSL

/// Standard Ed25519 through OpenSSL, to check `MySQLClientEd25519` against (for a 32-byte
/// password the two schemes coincide).
enum Ed25519Reference {
    static func sign(seed: [UInt8], message: [UInt8]) -> [UInt8]? {
        guard seed.count == 32,
              let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else { return nil }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else { return nil }
        var length = 64
        var signature = [UInt8](repeating: 0, count: 64)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { return nil }
        return Array(signature.prefix(length))
    }

    static func publicKey(seed: [UInt8]) -> [UInt8]? {
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else { return nil }
        defer { EVP_PKEY_free(key) }
        var length = 32
        var bytes = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_get_raw_public_key(key, &bytes, &length) == 1 else { return nil }
        return bytes
    }
}

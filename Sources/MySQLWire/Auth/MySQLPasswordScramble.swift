import WireCore

/// The challenge-response both hash plugins share: `H(password) XOR H(a + b)`, where `a + b`
/// is the nonce (its first 20 bytes) and `H(H(password))` in the plugin's order. One running
/// digest serves the three hashes, and the concatenation is fed in parts, never built.
enum MySQLPasswordScramble {
    enum Order {
        /// mysql_native_password: `H(nonce + H(H(password)))`.
        case nonceFirst
        /// caching_sha2_password: `H(H(H(password)) + nonce)`.
        case nonceLast
    }

    static func scramble(_ algorithm: Digest.Algorithm, password: [UInt8], nonce: [UInt8], order: Order) -> [UInt8] {
        if password.isEmpty { return [] }
        var digest = Digest.Running(algorithm)
        digest.update(password)
        var result = digest.finish()
        digest.update(result)
        let twice = digest.finish()
        let mix = nonce.withUnsafeBytes { raw -> [UInt8] in
            let salt = UnsafeRawBufferPointer(rebasing: raw.prefix(20))
            switch order {
            case .nonceFirst:
                digest.update(salt)
                digest.update(twice)
            case .nonceLast:
                digest.update(twice)
                digest.update(salt)
            }
            return digest.finish()
        }
        for i in 0..<result.count { result[i] ^= mix[i] }
        return result
    }
}

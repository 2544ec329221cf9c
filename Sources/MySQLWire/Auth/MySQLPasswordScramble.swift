#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import WireCore

/// The challenge-response both hash plugins share: `H(password) XOR H(a + b)`, where `a + b`
/// is the nonce (its first 20 bytes) and `H(H(password))` in the plugin's order. One running
/// digest serves the three hashes into stack buffers, and the concatenation is fed in parts,
/// never built: the only allocation is the answer.
enum MySQLPasswordScramble {
    enum Order {
        /// mysql_native_password: `H(nonce + H(H(password)))`.
        case nonceFirst
        /// caching_sha2_password: `H(H(H(password)) + nonce)`.
        case nonceLast
    }

    static func scramble(_ algorithm: Digest.Algorithm, password: [UInt8], nonce: [UInt8], order: Order) -> [UInt8] {
        password.withUnsafeBytes { scramble(algorithm, password: $0, nonce: nonce, order: order) }
    }

    static func scramble(_ algorithm: Digest.Algorithm, password: String, nonce: [UInt8], order: Order) -> [UInt8] {
        var password = password
        return password.withUTF8 { scramble(algorithm, password: UnsafeRawBufferPointer($0), nonce: nonce, order: order) }
    }

    static func scramble(_ algorithm: Digest.Algorithm, password: UnsafeRawBufferPointer, nonce: [UInt8], order: Order) -> [UInt8] {
        if password.isEmpty { return [] }
        let length = algorithm.length
        var digest = Digest.Running(algorithm)
        return withUnsafeTemporaryAllocation(byteCount: 2 * length, alignment: 8) { scratch in
            // H(password) and H(H(password)) are password equivalents: wiped before the
            // stack space is given back (explicit_bzero: a plain store could be elided).
            defer { explicit_bzero(scratch.baseAddress!, scratch.count) }
            let once = UnsafeMutableRawBufferPointer(rebasing: scratch[..<length])
            let twice = UnsafeMutableRawBufferPointer(rebasing: scratch[length...])
            digest.update(password)
            _ = digest.finish(into: once)
            digest.update(UnsafeRawBufferPointer(once))
            _ = digest.finish(into: twice)
            nonce.withUnsafeBytes { raw in
                let salt = UnsafeRawBufferPointer(rebasing: raw.prefix(20))
                switch order {
                case .nonceFirst:
                    digest.update(salt)
                    digest.update(UnsafeRawBufferPointer(twice))
                case .nonceLast:
                    digest.update(UnsafeRawBufferPointer(twice))
                    digest.update(salt)
                }
            }
            return [UInt8](unsafeUninitializedCapacity: length) { result, count in
                _ = digest.finish(into: UnsafeMutableRawBufferPointer(twice))
                for i in 0..<length { result[i] = once[i] ^ twice[i] }
                count = length
            }
        }
    }
}

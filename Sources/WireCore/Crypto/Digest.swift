import COpenSSL

/// Message digests through OpenSSL (script SHAs for Redis, password scrambles for MySQL).
public enum Digest {
    public enum Algorithm: Sendable {
        case sha1, sha256, sha512

        /// The implementation, fetched from OpenSSL's provider once: passing the legacy
        /// `EVP_sha1()` instead makes OpenSSL 3 fetch it again on every digest (name lookups
        /// under locks, more than the hashing of a short input costs).
        fileprivate var implementation: OpaquePointer? {
            switch self {
            case .sha1: return Fetched.sha1.pointer
            case .sha256: return Fetched.sha256.pointer
            case .sha512: return Fetched.sha512.pointer
            }
        }
    }

    /// A fetched `EVP_MD`, kept for the life of the process.
    private struct Fetched: @unchecked Sendable {
        let pointer: OpaquePointer?
        init(_ name: String, fallback: @autoclosure () -> OpaquePointer?) {
            pointer = EVP_MD_fetch(nil, name, nil) ?? fallback()
        }
        static let sha1 = Fetched("SHA1", fallback: EVP_sha1())
        static let sha256 = Fetched("SHA256", fallback: EVP_sha256())
        static let sha512 = Fetched("SHA512", fallback: EVP_sha512())
    }

    public static func hash(_ algorithm: Algorithm, _ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hash(algorithm, $0) }
    }

    public static func hash<C: Collection>(_ algorithm: Algorithm, _ data: C) -> [UInt8] where C.Element == UInt8 {
        if let digest = data.withContiguousStorageIfAvailable({ hash(algorithm, UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(data).withUnsafeBytes { hash(algorithm, $0) }
    }

    public static func hash(_ algorithm: Algorithm, _ data: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = Running(algorithm)
        digest.update(data)
        return digest.finish()
    }

    /// A digest fed in parts and reusable after each `finish()`: chained hashes (a password
    /// scramble hashes three times) share one OpenSSL context, whose allocation, set-up and
    /// cleansing cost more than hashing a short input, and hash concatenations without
    /// building them.
    public struct Running: ~Copyable {
        private let context: OpaquePointer?
        private let algorithm: Algorithm

        public init(_ algorithm: Algorithm) {
            self.algorithm = algorithm
            context = EVP_MD_CTX_new()
            if let context { EVP_DigestInit_ex2(context, algorithm.implementation, nil) }
        }

        deinit { EVP_MD_CTX_free(context) }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let context, let base = bytes.baseAddress else { return }
            EVP_DigestUpdate(context, base, bytes.count)
        }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// The digest of everything fed since the last `finish()` (or `init`); the context
        /// starts over for the next one. Empty if OpenSSL failed.
        public mutating func finish() -> [UInt8] {
            guard let context else { return [] }
            var length: UInt32 = 0
            let output = [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { buffer, count in
                count = EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1 ? Int(length) : 0
            }
            EVP_DigestInit_ex2(context, algorithm.implementation, nil)
            return output
        }
    }

    public static func sha1(_ data: [UInt8]) -> [UInt8] { hash(.sha1, data) }
    public static func sha256(_ data: [UInt8]) -> [UInt8] { hash(.sha256, data) }
    public static func sha1<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 { hash(.sha1, data) }
    public static func sha256<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 { hash(.sha256, data) }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

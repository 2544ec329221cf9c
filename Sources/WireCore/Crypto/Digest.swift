import COpenSSL

/// Message digests through OpenSSL (script SHAs for Redis, password scrambles for MySQL).
public enum Digest {
    public enum Algorithm: Sendable {
        case sha1, sha256, sha512

        /// The digest's length in bytes.
        public var length: Int {
            switch self {
            case .sha1: return Int(SHA_DIGEST_LENGTH)
            case .sha256: return Int(SHA256_DIGEST_LENGTH)
            case .sha512: return Int(SHA512_DIGEST_LENGTH)
            }
        }

        fileprivate var code: Int32 {
            switch self {
            case .sha1: return Int32(LAB_DIGEST_SHA1)
            case .sha256: return Int32(LAB_DIGEST_SHA256)
            case .sha512: return Int32(LAB_DIGEST_SHA512)
            }
        }
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

    /// A digest fed in parts and reusable after each `finish()`, its state held in place (no
    /// allocation): chained hashes (a password scramble hashes three times) hash
    /// concatenations without building them.
    public struct Running: ~Copyable {
        private var context = lab_digest_ctx()
        public let algorithm: Algorithm

        public init(_ algorithm: Algorithm) {
            self.algorithm = algorithm
            lab_digest_init(&context, algorithm.code)
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            lab_digest_update(&context, base, bytes.count)
        }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// Writes the digest of everything fed since the last `finish()` (or `init`) to the
        /// start of `output`, which must hold `algorithm.length` bytes, and returns that
        /// length; the digest starts over for the next one.
        public mutating func finish(into output: UnsafeMutableRawBufferPointer) -> Int {
            precondition(output.count >= algorithm.length, "digest output buffer too small")
            return lab_digest_final(&context, output.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }

        /// The digest of everything fed since the last `finish()` (or `init`); the digest
        /// starts over for the next one.
        public mutating func finish() -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: algorithm.length) { buffer, count in
                count = finish(into: UnsafeMutableRawBufferPointer(buffer))
            }
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

import COpenSSL

/// Message digests through OpenSSL (script SHAs for Redis, password scrambles for MySQL).
public enum Digest {
    public enum Algorithm: Sendable {
        case sha1, sha256, sha512

        fileprivate var evp: OpaquePointer? {
            switch self {
            case .sha1: return EVP_sha1()
            case .sha256: return EVP_sha256()
            case .sha512: return EVP_sha512()
            }
        }
    }

    public static func hash<C: Collection>(_ algorithm: Algorithm, _ data: C) -> [UInt8] where C.Element == UInt8 {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let body: (UnsafeRawBufferPointer) -> Void = { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &output, &length, algorithm.evp, nil)
        }
        if let done: Void = data.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            _ = done
        } else {
            Array(data).withUnsafeBytes(body)
        }
        return Array(output.prefix(Int(length)))
    }

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

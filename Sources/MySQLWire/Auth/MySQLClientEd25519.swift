import WireCore

/// MariaDB's client_ed25519: an Ed25519 signature of the server's 32-byte nonce, where the
/// 64-byte expanded secret is SHA-512(password) itself (standard Ed25519 hashes a 32-byte
/// seed instead, so for a 32-byte password the two coincide — which is how the tests check
/// this against OpenSSL). The arithmetic follows TweetNaCl (public domain): 16 × 16-bit limbs
/// in Int64. Not constant-time, which is acceptable for a client signing a fresh nonce.
public enum MySQLClientEd25519 {
    public static let name = "client_ed25519"

    /// The 64-byte signature (R ‖ S) the client sends.
    public static func signature(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        var az = Digest.hash(.sha512, password)
        az[0] &= 248
        az[31] &= 63
        az[31] |= 64
        let publicKey = pack(scalarBase(Array(az[0..<32])))
        var r = Digest.hash(.sha512, Array(az[32..<64]) + nonce)
        reduce(&r)
        let bigR = pack(scalarBase(Array(r[0..<32])))
        var h = Digest.hash(.sha512, bigR + publicKey + nonce)
        reduce(&h)
        var x = [Int64](repeating: 0, count: 64)
        for i in 0..<32 { x[i] = Int64(r[i]) }
        for i in 0..<32 {
            for j in 0..<32 { x[i + j] += Int64(h[i]) * Int64(az[j]) }
        }
        var s = [UInt8](repeating: 0, count: 32)
        modL(&s, &x)
        return bigR + s
    }

    public static func signature(password: String, nonce: [UInt8]) -> [UInt8] {
        signature(password: Array(password.utf8), nonce: nonce)
    }

    /// The public key MariaDB stores for the account (base64 of this is `PASSWORD()` for ed25519).
    public static func publicKey(password: [UInt8]) -> [UInt8] {
        var az = Digest.hash(.sha512, password)
        az[0] &= 248
        az[31] &= 63
        az[31] |= 64
        return pack(scalarBase(Array(az[0..<32])))
    }

    // MARK: Field arithmetic mod 2^255 - 19

    typealias GF = [Int64]

    static let gf0: GF = [Int64](repeating: 0, count: 16)
    static let gf1: GF = [1] + [Int64](repeating: 0, count: 15)
    static let d2: GF = [0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
                         0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406]
    static let baseX: GF = [0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c,
                            0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169]
    static let baseY: GF = [0x6658] + [Int64](repeating: 0x6666, count: 15)
    static let orderL: [Int64] = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]

    static func carry(_ o: inout GF) {
        for i in 0..<16 {
            o[i] += 1 << 16
            let c = o[i] >> 16
            if i < 15 {
                o[i + 1] += c - 1
            } else {
                o[0] += 38 * (c - 1)
            }
            o[i] -= c << 16
        }
    }

    static func select(_ p: inout GF, _ q: inout GF, _ b: Int64) {
        let c = ~(b - 1)
        for i in 0..<16 {
            let t = c & (p[i] ^ q[i])
            p[i] ^= t
            q[i] ^= t
        }
    }

    static func pack25519(_ n: GF) -> [UInt8] {
        var t = n
        carry(&t)
        carry(&t)
        carry(&t)
        var m = gf0
        for _ in 0..<2 {
            m[0] = t[0] - 0xffed
            for i in 1..<15 {
                m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1)
                m[i - 1] &= 0xffff
            }
            m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1)
            let b = (m[15] >> 16) & 1
            m[14] &= 0xffff
            select(&t, &m, 1 - b)
        }
        var o = [UInt8](repeating: 0, count: 32)
        for i in 0..<16 {
            o[2 * i] = UInt8(truncatingIfNeeded: t[i] & 0xff)
            o[2 * i + 1] = UInt8(truncatingIfNeeded: t[i] >> 8)
        }
        return o
    }

    static func add(_ a: GF, _ b: GF) -> GF {
        var o = gf0
        for i in 0..<16 { o[i] = a[i] + b[i] }
        return o
    }

    static func sub(_ a: GF, _ b: GF) -> GF {
        var o = gf0
        for i in 0..<16 { o[i] = a[i] - b[i] }
        return o
    }

    static func mul(_ a: GF, _ b: GF) -> GF {
        var t = [Int64](repeating: 0, count: 31)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                t.withUnsafeMutableBufferPointer { t in
                    for i in 0..<16 {
                        let ai = a[i]
                        for j in 0..<16 { t[i + j] &+= ai &* b[j] }
                    }
                    for i in 0..<15 { t[i] &+= 38 &* t[i + 16] }
                }
            }
        }
        var o = Array(t[0..<16])
        carry(&o)
        carry(&o)
        return o
    }

    static func invert(_ i: GF) -> GF {
        var c = i
        for a in stride(from: 253, through: 0, by: -1) {
            c = mul(c, c)
            if a != 2 && a != 4 { c = mul(c, i) }
        }
        return c
    }

    // MARK: Points (extended coordinates X, Y, Z, T)

    static func pointAdd(_ p: inout [GF], _ q: [GF]) {
        let a = mul(sub(p[1], p[0]), sub(q[1], q[0]))
        let b = mul(add(p[0], p[1]), add(q[0], q[1]))
        let c = mul(mul(p[3], q[3]), d2)
        var d = mul(p[2], q[2])
        d = add(d, d)
        let e = sub(b, a)
        let f = sub(d, c)
        let g = add(d, c)
        let h = add(b, a)
        p[0] = mul(e, f)
        p[1] = mul(h, g)
        p[2] = mul(g, f)
        p[3] = mul(e, h)
    }

    static func pointSwap(_ p: inout [GF], _ q: inout [GF], _ b: Int64) {
        for i in 0..<4 { select(&p[i], &q[i], b) }
    }

    static func pack(_ p: [GF]) -> [UInt8] {
        let zi = invert(p[2])
        let tx = mul(p[0], zi)
        let ty = mul(p[1], zi)
        var r = pack25519(ty)
        r[31] ^= (pack25519(tx)[0] & 1) << 7
        return r
    }

    static func scalarMult(_ q: [GF], _ s: [UInt8]) -> [GF] {
        var p: [GF] = [gf0, gf1, gf1, gf0]
        var q = q
        for i in stride(from: 255, through: 0, by: -1) {
            let b = Int64((s[i / 8] >> UInt8(i & 7)) & 1)
            pointSwap(&p, &q, b)
            pointAdd(&q, p)
            let pCopy = p
            pointAdd(&p, pCopy)
            pointSwap(&p, &q, b)
        }
        return p
    }

    static func scalarBase(_ s: [UInt8]) -> [GF] {
        scalarMult([baseX, baseY, gf1, mul(baseX, baseY)], s)
    }

    // MARK: Scalars mod L

    static func modL(_ r: inout [UInt8], _ x: inout [Int64]) {
        for i in stride(from: 63, through: 32, by: -1) {
            var carry: Int64 = 0
            var j = i - 32
            while j < i - 12 {
                x[j] += carry - 16 * x[i] * orderL[j - (i - 32)]
                carry = (x[j] + 128) >> 8
                x[j] -= carry << 8
                j += 1
            }
            x[j] += carry
            x[i] = 0
        }
        var carry: Int64 = 0
        for j in 0..<32 {
            x[j] += carry - (x[31] >> 4) * orderL[j]
            carry = x[j] >> 8
            x[j] &= 255
        }
        for j in 0..<32 { x[j] -= carry * orderL[j] }
        for i in 0..<32 {
            x[i + 1] += x[i] >> 8
            r[i] = UInt8(truncatingIfNeeded: x[i] & 255)
        }
    }

    /// Reduces a 64-byte little-endian number mod L in place (the result fills the first 32 bytes).
    static func reduce(_ r: inout [UInt8]) {
        var x = r.map { Int64($0) }
        for i in 0..<64 { r[i] = 0 }
        modL(&r, &x)
    }
}

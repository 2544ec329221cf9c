import Testing
import WireCore

/// FIPS 180 test vectors.
@Suite struct DigestTests {
    static let abc = Array("abc".utf8)
    static let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)

    @Test func sha1OfKnownVectors() {
        #expect(Digest.hex(Digest.sha1(Self.abc)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Digest.hex(Digest.sha1([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Digest.hex(Digest.sha1(Self.twoBlocks)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(Digest.sha1(Self.abc).count == 20)
    }

    @Test func sha256OfKnownVectors() {
        #expect(Digest.hex(Digest.sha256(Self.abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.hex(Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.hex(Digest.sha256(Self.twoBlocks)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Digest.sha256(Self.abc).count == 32)
    }

    @Test func sha512OfABC() {
        #expect(Digest.hex(Digest.hash(.sha512, Self.abc)) ==
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    }

    /// Collections without contiguous storage take the copying path and must hash the same.
    @Test func nonContiguousInputHashesLikeAnArray() {
        let lazy = Self.abc.lazy.map { $0 }
        #expect(Digest.sha1(lazy) == Digest.sha1(Self.abc))
        #expect(Digest.sha256(Self.abc[1...]) == Digest.sha256(Array("bc".utf8)))
    }

    /// A running digest fed in parts gives the digest of their concatenation, and starts
    /// over after each `finish()` (the MySQL scrambles chain three hashes through one).
    @Test func runningDigestHashesPartsAndStartsOverAfterFinish() {
        var sha1 = Digest.Running(.sha1)
        sha1.update(Array("ab".utf8))
        Array("c".utf8).withUnsafeBytes { sha1.update($0) }
        #expect(Digest.hex(sha1.finish()) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Digest.hex(sha1.finish()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        sha1.update(Self.twoBlocks)
        #expect(Digest.hex(sha1.finish()) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        var sha256 = Digest.Running(.sha256)
        Self.twoBlocks.withUnsafeBytes { sha256.update(UnsafeRawBufferPointer(rebasing: $0.prefix(10))) }
        Self.twoBlocks.withUnsafeBytes { sha256.update(UnsafeRawBufferPointer(rebasing: $0.dropFirst(10))) }
        #expect(sha256.finish() == Digest.sha256(Self.twoBlocks))
    }

    @Test func hexIsLowercaseAndZeroPadded() {
        #expect(Digest.hex([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        #expect(Digest.hex([]) == "")
    }
}

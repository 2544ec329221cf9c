@testable import MySQLWire
import Testing
import WireCore

@Suite struct Ed25519Tests {
    /// MariaDB 10.11 stored this (base64 nawZ5CazR15rPBMibJFCMl1wWQO7qNP2ouWR77l/3qQ) for
    /// `IDENTIFIED VIA ed25519 USING PASSWORD('lab')`.
    @Test func publicKeyMatchesWhatMariaDBStores() {
        #expect(Digest.hex(MySQLClientEd25519.publicKey(password: Array("lab".utf8)))
                == "9dac19e426b3475e6b3c13226c9142325d705903bba8d3f6a2e591efb97fdea4")
    }

    /// For a 32-byte password MariaDB's scheme is standard Ed25519 with the password as seed.
    @Test(arguments: 0..<8)
    func signatureMatchesOpenSSLForThirtyTwoBytePasswords(_ round: Int) throws {
        var rng = SystemRandomNumberGenerator()
        let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let nonce = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let expected = try #require(Ed25519Reference.sign(seed: seed, message: nonce))
        #expect(MySQLClientEd25519.signature(password: seed, nonce: nonce) == expected)
        #expect(MySQLClientEd25519.publicKey(password: seed) == Ed25519Reference.publicKey(seed: seed))
    }

    @Test func emptyAndLongPasswordsGiveSixtyFourByteSignatures() {
        let nonce = [UInt8](repeating: 0, count: 32)
        for password in ["", "lab", String(repeating: "long ", count: 40)] {
            let signature = MySQLClientEd25519.signature(password: password, nonce: nonce)
            #expect(signature.count == 64)
            #expect(signature[63] & 0xe0 == 0)  // S < L < 2^253
        }
        #expect(MySQLClientEd25519.signature(password: "a", nonce: nonce) != MySQLClientEd25519.signature(password: "b", nonce: nonce))
    }
}

@testable import MySQLWire
import Testing
import WireCore

/// Scramble vectors computed with PyMySQL 1.x (pymysql._auth.scramble_native_password /
/// scramble_caching_sha2) for the nonce 01 02 … 14, and one captured from MariaDB.
@Suite struct AuthScrambleTests {
    static let nonce: [UInt8] = Array(1...20)

    static let vectors: [(password: String, native: String, cachingSHA2: String)] = [
        ("", "", ""),
        ("lab", "813ddafe359d97d7483965be1674b487b47a7404", "8f2e6e20ef12d8b7a4559dd4443b44d814a8e2db3d503ed042fcddbc7629a099"),
        ("secret", "b32bb3a583e1340c0a1108d58b1be49781ad8c2f", "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9"),
        // Longer than 20 bytes (the nonce length), non-ASCII.
        (String(repeating: "a", count: 25) + "ü", "43fafe95571f016b99c0fa819305f1ff2651fb12", "b451f8a88291055016ab915bfd4e8ee29aec13d8938af697086221721e7b34d8"),
        ("pässwörd", "9891a8536587af22d12e126cf5f7a8ea86d63b0e", "8526563d365f5cb2cf44b162e5251a5cc348e1a1afeec271669611d0fdac23f7"),
    ]

    @Test(arguments: 0..<vectors.count)
    func nativePasswordMatchesPyMySQL(_ index: Int) {
        let vector = Self.vectors[index]
        #expect(Digest.hex(MySQLNativePassword.scramble(password: vector.password, nonce: Self.nonce)) == vector.native)
    }

    @Test(arguments: 0..<vectors.count)
    func cachingSHA2MatchesPyMySQL(_ index: Int) {
        let vector = Self.vectors[index]
        #expect(Digest.hex(MySQLCachingSHA2Password.scramble(password: vector.password, nonce: Self.nonce)) == vector.cachingSHA2)
    }

    @Test func nativePasswordWithARealMariaDBNonce() {
        let nonce = hex("71245873583f713d7a6f4134234d3f3174792444")
        #expect(Digest.hex(MySQLNativePassword.scramble(password: "lab", nonce: nonce)) == "2de970ef0852c54fc77d2143f8c5c76047694423")
        // A trailing NUL (as AuthSwitchRequest carries it) is not part of the nonce.
        #expect(MySQLNativePassword.scramble(password: "lab", nonce: nonce + [0]) == MySQLNativePassword.scramble(password: "lab", nonce: nonce))
    }

    @Test func emptyPasswordsSendEmptyResponses() throws {
        #expect(MySQLNativePassword.scramble(password: "", nonce: Self.nonce).isEmpty)
        #expect(MySQLCachingSHA2Password.scramble(password: "", nonce: Self.nonce).isEmpty)
        #expect(try MySQLAuthPlugin.nativePassword.initialResponse(password: "", nonce: Self.nonce, secure: false).isEmpty)
    }

    @Test func clearPasswordOnlyOverTLS() throws {
        #expect(throws: MySQLAuthenticationError.insecureCleartext(plugin: "mysql_clear_password")) {
            try MySQLAuthPlugin.clearPassword.initialResponse(password: "x", nonce: [], secure: false)
        }
        #expect(try MySQLAuthPlugin.clearPassword.initialResponse(password: "x", nonce: [], secure: true) == [0x78, 0])
        #expect(MySQLCachingSHA2Password.cleartext(password: "lab") == [0x6c, 0x61, 0x62, 0])
    }

    @Test func fullAuthenticationXorsWithTheNonceCyclically() {
        let password = String(repeating: "p", count: 30)
        let xored = MySQLCachingSHA2Password.xorWithNonce(password: Array(password.utf8), nonce: Self.nonce)
        #expect(xored.count == 31)
        for (i, byte) in xored.enumerated() {
            let plain: UInt8 = i < 30 ? UInt8(ascii: "p") : 0
            #expect(byte == plain ^ Self.nonce[i % 20])
        }
    }

    @Test func rsaOAEPEncryptionDecryptsToTheXoredPassword() throws {
        for password in ["", "lab", String(repeating: "long password ", count: 10)] {
            let cipher = try MySQLCachingSHA2Password.encryptPassword(password, nonce: Self.nonce, publicKeyPEM: Array(Self.publicKey.utf8))
            #expect(cipher.count == 256)
            let plain = try RSAOAEP.decrypt(cipher, privateKeyPEM: Array(Self.privateKey.utf8))
            #expect(plain == MySQLCachingSHA2Password.xorWithNonce(password: Array(password.utf8), nonce: Self.nonce))
        }
    }

    @Test func badPublicKeyIsATypedError() {
        #expect(throws: MySQLAuthenticationError.publicKey("not a PEM public key")) {
            try MySQLCachingSHA2Password.encryptPassword("lab", nonce: Self.nonce, publicKeyPEM: Array("garbage".utf8))
        }
        #expect(throws: MySQLAuthenticationError.self) {
            // Too long for OAEP with a 2048-bit key (max 214 bytes).
            try MySQLCachingSHA2Password.encryptPassword(String(repeating: "x", count: 300), nonce: Self.nonce, publicKeyPEM: Array(Self.publicKey.utf8))
        }
    }

    static let publicKey = """
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsbioCI9oGBQ9nke5xHjL
OTKHNXPNTfnZiQY3v3Ac4AZMWIpr7+64nNHKxZNwz2LGWP2n9e2d4wYgoX3g8z1M
wj1WZMSiy9mZ16NCc1KG20SjYmEvvzLFE1gEsYS0A+zgY4QnBUM07MCBpDupUey0
gLvcsXZ04ssnIRzj9NYdwALXFq3pk6pYeaGsoqGyHtRUVOriWLIto1hm51gfAPCA
7a5h9EwGfQVQBwEMTV3OMSRYAdtC0Gju5TdmJ6LK7eXpe67GrSQAVOuTtb9Bs38J
66Pt22bBH7slHxFG6ru9u+7npgsLlIxL8wD/vyEklmqiRZsNeI1bghYpGKOdCnf8
xQIDAQAB
-----END PUBLIC KEY-----
"""

    static let privateKey = """
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCxuKgIj2gYFD2e
R7nEeMs5Moc1c81N+dmJBje/cBzgBkxYimvv7ric0crFk3DPYsZY/af17Z3jBiCh
feDzPUzCPVZkxKLL2ZnXo0JzUobbRKNiYS+/MsUTWASxhLQD7OBjhCcFQzTswIGk
O6lR7LSAu9yxdnTiyychHOP01h3AAtcWremTqlh5oayiobIe1FRU6uJYsi2jWGbn
WB8A8IDtrmH0TAZ9BVAHAQxNXc4xJFgB20LQaO7lN2Ynosrt5el7rsatJABU65O1
v0Gzfwnro+3bZsEfuyUfEUbqu7277uemCwuUjEvzAP+/ISSWaqJFmw14jVuCFikY
o50Kd/zFAgMBAAECggEAFnkefHif5d2XXh69SbApqJmwWczDMx9LSAW6gnF7oUOC
n3afiAdUnnXz8XB/xSW9Ja8rsFBEFRtnAGzRx4hinrRRaqwn1uW1C7zYEAupRGxl
SbE277NMkvHgJA9/EPkA9eyV35c8R8zfB+TIeDTZrWa0FVfAl5YvZENKOyFhQTCU
lrfv7S7M0qfQxscyrw3kblL0z8mNRZ8GzKOFag1u/c//PJ7b1DNBbcJ+rFi2NZ1G
nJvLwBrSRj0UbBLYIiYHNMuJ9MA/bEvc7Y6IqbXd0sF8QFHQmFeW+ZdNXjQ2k+L9
rPMCqmsROk8Q9s7Ae6HkajL9c9a6wZZtlzyk6oXYgQKBgQDpbOuJxPuQwp/996dd
+xHBvkszlDiXVzJUc/gKCod9YPGGiJ4Q9T2kyYryjxVOSZDN1/JgfZGHy780ljc4
sGaOx8T0yvi23qygZcd2o/0EKnI5GPFN3oXkUvcS8wLxNqFCjd083XsGLdDwAqFJ
mKktyh+EzJjj8pWZyi/NVq76gQKBgQDC6KEH5WVcNVx4+BESvmWtN6FWwIJ7WPt7
2lEbHYHbQLc7w/ZqQ9c37JVy9/e36EWWYnVNfKhcF8B5Iymg3gREPi5MDDh8xyXa
OUmbxk2vRaMDb9Td7HITOFHemcXLlUt+/hIId7vspXYk8l/ELpMj9mxapFWxZsw+
mVz0guJ4RQKBgBCvzaK6pzUxBJj2NEu+oAVWoi+cv/Lps9pfs/Kb0BXBcWKpr4sM
zQxTsBAo9F/1WFmuv0/wig/IG/IZbvcpfRtl4omRXPhNsM+ClyC/Fl5O3n2Ab/ee
Gbo5yBndr28o9Zw5YgBw4NOPQOl3dqo5NJbmZRxsN93LwLAOyR4HvViBAoGBAK+G
6F5ADEQ6Ggkm/dkvdknEa5vAysFipTgoqBoPPL7DTUCZffS9G7jVatGa1o/csa55
BMK/nK8zBLcTH44r4xPCG9eIueZFQqWAKfYLZDKQN/oEYGNraGA+vBwHx8VLsi2v
iXXuvmKjr/4d+HioqQIeDf6jODkHJrDJVJkutd0xAoGBAIHyn4KsV+rrcpuHgmpj
5BB4GMGfX8bgwLEZ0hVxEKZ9vuoVnsPidOKlJh5yj25sOs/VagfuHNF24Ww+YIkf
36LIw3UTIvJzWSVDqBSk5Vd+frtXlp4cL37UXy10UEuRTz1cW71Y9k22w+JQujpc
sVoWfCEuwzpfCpeA8kWKqyOi
-----END PRIVATE KEY-----
"""
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var iterator = text.filter { !$0.isWhitespace }.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        bytes.append(UInt8(String([high, low]), radix: 16)!)
    }
    return bytes
}

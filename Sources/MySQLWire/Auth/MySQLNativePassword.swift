import WireCore

/// mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))).
/// An empty password sends an empty response.
public enum MySQLNativePassword {
    public static let name = "mysql_native_password"

    public static func scramble(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        MySQLPasswordScramble.scramble(.sha1, password: password, nonce: nonce, order: .nonceFirst)
    }

    public static func scramble(password: String, nonce: [UInt8]) -> [UInt8] {
        MySQLPasswordScramble.scramble(.sha1, password: password, nonce: nonce, order: .nonceFirst)
    }
}

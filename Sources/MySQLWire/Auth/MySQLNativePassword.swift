import WireCore

/// mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))).
/// An empty password sends an empty response.
public enum MySQLNativePassword {
    public static let name = "mysql_native_password"

    public static func scramble(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        if password.isEmpty { return [] }
        let nonce = nonce.prefix(20)
        let stage1 = Digest.sha1(password)
        let stage2 = Digest.sha1(stage1)
        let mix = Digest.sha1(Array(nonce) + stage2)
        var result = stage1
        for i in 0..<result.count { result[i] ^= mix[i] }
        return result
    }

    public static func scramble(password: String, nonce: [UInt8]) -> [UInt8] {
        scramble(password: Array(password.utf8), nonce: nonce)
    }
}

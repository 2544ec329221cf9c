import WireCore

/// mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))).
/// An empty password sends an empty response.
public enum MySQLNativePassword {
    public static let name = "mysql_native_password"

    public static func scramble(password: [UInt8], nonce: [UInt8]) -> [UInt8] {
        if password.isEmpty { return [] }
        let nonce = nonce.prefix(20)
        var sha1 = Digest.Running(.sha1)
        sha1.update(password)
        let stage1 = sha1.finish()
        sha1.update(stage1)
        let stage2 = sha1.finish()
        sha1.update(nonce)
        sha1.update(stage2)
        let mix = sha1.finish()
        var result = stage1
        for i in 0..<result.count { result[i] ^= mix[i] }
        return result
    }

    public static func scramble(password: String, nonce: [UInt8]) -> [UInt8] {
        scramble(password: Array(password.utf8), nonce: nonce)
    }
}

import WireCore

/// 0x01 + data: more data for the auth plugin in progress (caching_sha2_password's fast-auth
/// result byte or its RSA public key; MariaDB's ed25519 never uses it).
public struct AuthMoreData: Sendable, Hashable {
    public var data: [UInt8]

    public init(data: [UInt8]) { self.data = data }

    /// caching_sha2_password status bytes.
    public static let fastAuthSuccess: UInt8 = 0x03
    public static let performFullAuthentication: UInt8 = 0x04

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(0x01)
        writer.writeBytes(data)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: data.count + 1)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> AuthMoreData {
        try decodingMessage("AuthMoreData") { () throws(WireDecodingError) -> AuthMoreData in
            var reader = ByteReader(payload)
            let header = try reader.readUInt8("header")
            guard header == 0x01 else {
                throw .malformed(field: "header", reason: "0x\(String(header, radix: 16)), expected 0x01", offset: 0)
            }
            return AuthMoreData(data: reader.readRemainingBytes())
        }
    }
}

import WireCore

/// Sent instead of the handshake response to switch the connection to TLS; the real response
/// follows over TLS with the next sequence id. It is the first 32 bytes of a
/// HandshakeResponse41.
public struct SSLRequest: Sendable, Hashable {
    public var capabilities: MySQLCapabilities
    public var maxPacketSize: UInt32
    public var characterSet: UInt8
    /// MariaDB's extended capabilities, as in `HandshakeResponse41` (the server takes them
    /// from this packet on a TLS connection).
    public var mariaDBCapabilities: UInt32

    public init(
        capabilities: MySQLCapabilities, maxPacketSize: UInt32 = 0x0100_0000, characterSet: UInt8 = MySQLCharacterSet.utf8mb4GeneralCI,
        mariaDBCapabilities: UInt32 = 0
    ) {
        self.capabilities = capabilities.union(.ssl)
        self.maxPacketSize = maxPacketSize
        self.characterSet = characterSet
        self.mariaDBCapabilities = mariaDBCapabilities
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeLittleEndian(capabilities.rawValue)
        writer.writeLittleEndian(maxPacketSize)
        writer.writeUInt8(characterSet)
        writer.writeZeros(19)
        writer.writeLittleEndian(mariaDBCapabilities)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> SSLRequest {
        try decodingMessage("SSLRequest") { () throws(WireDecodingError) -> SSLRequest in
            guard payload.count == 32 else {
                throw .malformed(field: "SSLRequest", reason: "length \(payload.count), expected 32", offset: 0)
            }
            var reader = ByteReader(payload)
            let caps = MySQLCapabilities(rawValue: try reader.readLittleEndian(UInt32.self, "capability flags"))
            guard caps.contains(.ssl) else {
                throw .malformed(field: "capability flags", reason: "CLIENT_SSL not set", offset: 0)
            }
            let maxPacket = try reader.readLittleEndian(UInt32.self, "max packet size")
            let charset = try reader.readUInt8("character set")
            try reader.skip(19, field: "filler")
            let mariaDB = try reader.readLittleEndian(UInt32.self, "filler / MariaDB capabilities")
            return SSLRequest(capabilities: caps, maxPacketSize: maxPacket, characterSet: charset, mariaDBCapabilities: mariaDB)
        }
    }
}

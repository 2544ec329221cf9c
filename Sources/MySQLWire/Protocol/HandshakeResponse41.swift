import WireCore

/// The client's answer to the greeting (Protocol::HandshakeResponse41).
public struct HandshakeResponse41: Sendable, Hashable {
    public var capabilities: MySQLCapabilities
    public var maxPacketSize: UInt32
    public var characterSet: UInt8
    public var username: String
    public var authResponse: [UInt8]
    public var database: String?
    public var authPluginName: String?
    /// Connection attributes, in order (sent when `.connectAttrs` is set).
    public var attributes: [(key: String, value: String)]
    /// MariaDB's extended capabilities (`MariaDBCapability`), in the last 4 filler bytes; a
    /// MariaDB server reads them when `.longPassword` (CLIENT_MYSQL) is clear.
    public var mariaDBCapabilities: UInt32

    public init(
        capabilities: MySQLCapabilities, maxPacketSize: UInt32 = 0x0100_0000,
        characterSet: UInt8 = MySQLCharacterSet.utf8mb4GeneralCI, username: String, authResponse: [UInt8],
        database: String? = nil, authPluginName: String? = nil, attributes: [(key: String, value: String)] = [],
        mariaDBCapabilities: UInt32 = 0
    ) {
        self.capabilities = capabilities
        self.maxPacketSize = maxPacketSize
        self.characterSet = characterSet
        self.username = username
        self.authResponse = authResponse
        self.database = database
        self.authPluginName = authPluginName
        self.attributes = attributes
        self.mariaDBCapabilities = mariaDBCapabilities
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.capabilities == rhs.capabilities && lhs.maxPacketSize == rhs.maxPacketSize
            && lhs.characterSet == rhs.characterSet && lhs.username == rhs.username
            && lhs.authResponse == rhs.authResponse && lhs.database == rhs.database
            && lhs.authPluginName == rhs.authPluginName && lhs.mariaDBCapabilities == rhs.mariaDBCapabilities
            && lhs.attributes.map(\.key) == rhs.attributes.map(\.key)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(username)
        hasher.combine(authResponse)
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeLittleEndian(capabilities.rawValue)
        writer.writeLittleEndian(maxPacketSize)
        writer.writeUInt8(characterSet)
        writer.writeZeros(19)
        writer.writeLittleEndian(mariaDBCapabilities)
        writer.writeNullTerminatedString(username)
        if capabilities.contains(.pluginAuthLengthEncodedClientData) {
            writer.writeLengthEncodedBytes(authResponse)
        } else if capabilities.contains(.secureConnection) {
            writer.writeUInt8(UInt8(truncatingIfNeeded: min(authResponse.count, 255)))
            writer.writeBytes(authResponse.prefix(255))
        } else {
            writer.writeBytes(authResponse)
            writer.writeUInt8(0)
        }
        if capabilities.contains(.connectWithDB) {
            writer.writeNullTerminatedString(database ?? "")
        }
        if capabilities.contains(.pluginAuth) {
            writer.writeNullTerminatedString(authPluginName ?? "")
        }
        if capabilities.contains(.connectAttrs) {
            // The block's length first, summed rather than encoded into a second buffer.
            var length = 0
            for (key, value) in attributes {
                let keyCount = key.utf8.count, valueCount = value.utf8.count
                length += ByteWriter.lengthEncodedIntegerSize(UInt64(keyCount)) + keyCount
                length += ByteWriter.lengthEncodedIntegerSize(UInt64(valueCount)) + valueCount
            }
            writer.writeLengthEncodedInteger(UInt64(length))
            for (key, value) in attributes {
                writer.writeLengthEncodedString(key)
                writer.writeLengthEncodedString(value)
            }
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> HandshakeResponse41 {
        try decodingMessage("HandshakeResponse41") { () throws(WireDecodingError) -> HandshakeResponse41 in
            var reader = ByteReader(payload)
            let capabilities = MySQLCapabilities(rawValue: try reader.readLittleEndian(UInt32.self, "capability flags"))
            guard capabilities.contains(.protocol41) else {
                throw .malformed(field: "capability flags", reason: "CLIENT_PROTOCOL_41 not set", offset: 0)
            }
            let maxPacket = try reader.readLittleEndian(UInt32.self, "max packet size")
            let charset = try reader.readUInt8("character set")
            try reader.skip(19, field: "filler")
            let mariaDBCapabilities = try reader.readLittleEndian(UInt32.self, "filler / MariaDB capabilities")
            let username = try reader.readNullTerminatedString("username")
            let authResponse: [UInt8]
            if capabilities.contains(.pluginAuthLengthEncodedClientData) {
                authResponse = try reader.readLengthEncodedBytes("auth response")
            } else if capabilities.contains(.secureConnection) {
                let count = Int(try reader.readUInt8("auth response length"))
                authResponse = try reader.readBytes(count, "auth response")
            } else {
                authResponse = try reader.readNullTerminatedBytes("auth response")
            }
            var response = HandshakeResponse41(
                capabilities: capabilities, maxPacketSize: maxPacket, characterSet: charset,
                username: username, authResponse: authResponse, mariaDBCapabilities: mariaDBCapabilities
            )
            if capabilities.contains(.connectWithDB) {
                response.database = try reader.readNullTerminatedString("database")
            }
            if capabilities.contains(.pluginAuth) {
                response.authPluginName = try reader.readNullTerminatedString("auth plugin name")
            }
            if capabilities.contains(.connectAttrs) {
                let length = try reader.readLengthEncodedLength("connection attributes length")
                var attrs = ByteReader(reader.bytes, from: reader.readerIndex, to: reader.readerIndex + length)
                while !attrs.isAtEnd {
                    let key = try attrs.readLengthEncodedString("attribute key")
                    let value = try attrs.readLengthEncodedString("attribute value")
                    response.attributes.append((key, value))
                }
                try reader.skip(length, field: "connection attributes")
            }
            return response
        }
    }
}

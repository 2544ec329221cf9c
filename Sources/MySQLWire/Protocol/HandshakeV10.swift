import WireCore

/// The server's greeting (Protocol::HandshakeV10).
public struct HandshakeV10: Sendable, Hashable {
    public var protocolVersion: UInt8
    public var serverVersion: String
    public var connectionID: UInt32
    /// The nonce ("scramble"): part 1 (8 bytes) + part 2, without part 2's trailing NUL.
    public var authPluginData: [UInt8]
    public var capabilities: MySQLCapabilities
    public var characterSet: UInt8
    public var statusFlags: MySQLServerStatus
    public var authPluginName: String?
    /// MariaDB's extended capabilities, in the last 4 of the 10 reserved bytes (when the server
    /// does not claim CLIENT_LONG_PASSWORD, i.e. CLIENT_MYSQL, is unset).
    public var mariaDBExtendedCapabilities: UInt32

    public init(
        protocolVersion: UInt8 = 10, serverVersion: String, connectionID: UInt32, authPluginData: [UInt8],
        capabilities: MySQLCapabilities, characterSet: UInt8 = MySQLCharacterSet.utf8mb4GeneralCI,
        statusFlags: MySQLServerStatus = .autocommit, authPluginName: String? = "mysql_native_password",
        mariaDBExtendedCapabilities: UInt32 = 0
    ) {
        self.protocolVersion = protocolVersion
        self.serverVersion = serverVersion
        self.connectionID = connectionID
        self.authPluginData = authPluginData
        self.capabilities = capabilities
        self.characterSet = characterSet
        self.statusFlags = statusFlags
        self.authPluginName = authPluginName
        self.mariaDBExtendedCapabilities = mariaDBExtendedCapabilities
    }

    public var isMariaDB: Bool { serverVersion.contains("MariaDB") }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> HandshakeV10 {
        try decodingMessage("HandshakeV10") { () throws(WireDecodingError) -> HandshakeV10 in
            var reader = ByteReader(payload)
            let version = try reader.readUInt8("protocol version")
            guard version == 10 else {
                throw .malformed(field: "protocol version", reason: "\(version), only 10 is supported", offset: 0)
            }
            let serverVersion = try reader.readNullTerminatedString("server version")
            let connectionID = try reader.readLittleEndian(UInt32.self, "connection id")
            // The nonce is assembled once, from part 1 and part 2 in place, in one array.
            let part1 = try reader.readSlice(8, "auth-plugin-data-part-1")
            try reader.skip(1, field: "filler")
            let capsLow = UInt32(try reader.readLittleEndian(UInt16.self, "capability flags (lower)"))
            var handshake = HandshakeV10(
                protocolVersion: version, serverVersion: serverVersion, connectionID: connectionID,
                authPluginData: [], capabilities: MySQLCapabilities(rawValue: capsLow),
                characterSet: 0, statusFlags: [], authPluginName: nil
            )
            if reader.isAtEnd {
                handshake.authPluginData = Array(part1)
                return handshake
            }
            handshake.characterSet = try reader.readUInt8("character set")
            handshake.statusFlags = MySQLServerStatus(rawValue: try reader.readLittleEndian(UInt16.self, "status flags"))
            let capsHigh = UInt32(try reader.readLittleEndian(UInt16.self, "capability flags (upper)"))
            let capabilities = MySQLCapabilities(rawValue: capsLow | capsHigh << 16)
            handshake.capabilities = capabilities
            let authDataLength = Int(try reader.readUInt8("auth plugin data length"))
            try reader.skip(6, field: "reserved")
            handshake.mariaDBExtendedCapabilities = try reader.readLittleEndian(UInt32.self, "reserved / MariaDB capabilities")
            var part2: ArraySlice<UInt8> = []
            if capabilities.contains(.secureConnection) {
                let part2Length = max(13, authDataLength - 8)
                // Some servers end the packet early; take what is there, up to part2Length.
                part2 = try reader.readSlice(min(part2Length, reader.remaining), "auth-plugin-data-part-2")
                if part2.last == 0 { part2 = part2.dropLast() }
            }
            var nonce: [UInt8] = []
            nonce.reserveCapacity(part1.count + part2.count)
            nonce += part1
            nonce += part2
            handshake.authPluginData = nonce
            if capabilities.contains(.pluginAuth) {
                // MySQL 5.5.7–5.5.9 forgot the terminating NUL: read to the end then.
                if reader.firstIndex(of: 0) != nil {
                    handshake.authPluginName = try reader.readNullTerminatedString("auth plugin name")
                } else {
                    handshake.authPluginName = reader.readRemainingString()
                }
            }
            return handshake
        }
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(protocolVersion)
        writer.writeNullTerminatedString(serverVersion)
        writer.writeLittleEndian(connectionID)
        var part1 = Array(authPluginData.prefix(8))
        while part1.count < 8 { part1.append(0) }
        writer.writeBytes(part1)
        writer.writeUInt8(0)
        writer.writeLittleEndian(UInt16(truncatingIfNeeded: capabilities.rawValue))
        writer.writeUInt8(characterSet)
        writer.writeLittleEndian(statusFlags.rawValue)
        writer.writeLittleEndian(UInt16(truncatingIfNeeded: capabilities.rawValue >> 16))
        let part2 = Array(authPluginData.dropFirst(8)) + [0]
        writer.writeUInt8(capabilities.contains(.pluginAuth) ? UInt8(truncatingIfNeeded: 8 + part2.count) : 0)
        writer.writeZeros(6)
        writer.writeLittleEndian(mariaDBExtendedCapabilities)
        if capabilities.contains(.secureConnection) {
            writer.writeBytes(part2)
            if part2.count < 13 { writer.writeZeros(13 - part2.count) }
        }
        if capabilities.contains(.pluginAuth) {
            writer.writeNullTerminatedString(authPluginName ?? "")
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 96)
        encode(into: &writer)
        return writer.bytes
    }
}

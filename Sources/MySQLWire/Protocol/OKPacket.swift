import WireCore

/// OK_Packet: a command succeeded. Header 0x00, or 0xFE when it ends a result set under
/// CLIENT_DEPRECATE_EOF (then it replaces the EOF packet).
public struct OKPacket: Sendable, Hashable {
    public var header: UInt8
    public var affectedRows: UInt64
    public var lastInsertID: UInt64
    public var statusFlags: MySQLServerStatus
    public var warnings: UInt16
    public var info: String
    /// Session state change data (CLIENT_SESSION_TRACK), kept raw.
    public var sessionStateChanges: [UInt8]

    public init(
        header: UInt8 = 0x00, affectedRows: UInt64 = 0, lastInsertID: UInt64 = 0,
        statusFlags: MySQLServerStatus = .autocommit, warnings: UInt16 = 0, info: String = "",
        sessionStateChanges: [UInt8] = []
    ) {
        self.header = header
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
        self.statusFlags = statusFlags
        self.warnings = warnings
        self.info = info
        self.sessionStateChanges = sessionStateChanges
    }

    /// Is this payload an OK packet? (0xFE qualifies only as a result-set terminator under
    /// CLIENT_DEPRECATE_EOF; a short 0xFE payload is an EOF packet instead.)
    public static func isOK(_ payload: [UInt8], deprecateEOF: Bool) -> Bool {
        guard let first = payload.first else { return false }
        if first == 0x00 { return payload.count >= 7 }
        return first == 0xfe && deprecateEOF && payload.count < 0xff_ffff
    }

    public func encode(into writer: inout ByteWriter, capabilities: MySQLCapabilities) {
        writer.writeUInt8(header)
        writer.writeLengthEncodedInteger(affectedRows)
        writer.writeLengthEncodedInteger(lastInsertID)
        if capabilities.contains(.protocol41) {
            writer.writeLittleEndian(statusFlags.rawValue)
            writer.writeLittleEndian(warnings)
        } else if capabilities.contains(.transactions) {
            writer.writeLittleEndian(statusFlags.rawValue)
        }
        if capabilities.contains(.sessionTrack) {
            if !info.isEmpty || statusFlags.contains(.sessionStateChanged) {
                writer.writeLengthEncodedString(info)
            }
            if statusFlags.contains(.sessionStateChanged) {
                writer.writeLengthEncodedBytes(sessionStateChanges)
            }
        } else {
            writer.writeString(info)
        }
    }

    public func encoded(capabilities: MySQLCapabilities = .clientDefault) -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + info.utf8.count)
        encode(into: &writer, capabilities: capabilities)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8], capabilities: MySQLCapabilities = .clientDefault) throws(MySQLProtocolError) -> OKPacket {
        try decode(payload, from: 0, to: payload.count, capabilities: capabilities)
    }

    /// The OK packet whose payload is `bytes[start..<end]` (decoded where it was received);
    /// error offsets count from the start of `bytes`.
    public static func decode(
        _ bytes: [UInt8], from start: Int, to end: Int, capabilities: MySQLCapabilities = .clientDefault
    ) throws(MySQLProtocolError) -> OKPacket {
        try decodingMessage("OK") { () throws(WireDecodingError) -> OKPacket in
            var reader = ByteReader(bytes, from: start, to: end)
            let header = try reader.readUInt8("header")
            guard header == 0x00 || header == 0xfe else {
                throw .malformed(field: "header", reason: "0x\(String(header, radix: 16)), expected 0x00 or 0xfe", offset: start)
            }
            var ok = OKPacket(header: header)
            ok.affectedRows = try reader.readLengthEncodedInteger("affected rows")
            ok.lastInsertID = try reader.readLengthEncodedInteger("last insert id")
            if capabilities.contains(.protocol41) {
                ok.statusFlags = MySQLServerStatus(rawValue: try reader.readLittleEndian(UInt16.self, "status flags"))
                ok.warnings = try reader.readLittleEndian(UInt16.self, "warnings")
            } else if capabilities.contains(.transactions) {
                ok.statusFlags = MySQLServerStatus(rawValue: try reader.readLittleEndian(UInt16.self, "status flags"))
            } else {
                ok.statusFlags = []
            }
            if capabilities.contains(.sessionTrack) {
                if !reader.isAtEnd { ok.info = try reader.readLengthEncodedString("info") }
                if ok.statusFlags.contains(.sessionStateChanged) && !reader.isAtEnd {
                    ok.sessionStateChanges = try reader.readLengthEncodedBytes("session state info")
                }
            } else {
                ok.info = reader.readRemainingString()
            }
            return ok
        }
    }
}

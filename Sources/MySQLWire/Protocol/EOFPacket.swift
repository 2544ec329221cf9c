import WireCore

/// EOF_Packet (0xFE, under 9 bytes): ends column definitions and rows when
/// CLIENT_DEPRECATE_EOF is not in effect.
public struct EOFPacket: Sendable, Hashable {
    public var warnings: UInt16
    public var statusFlags: MySQLServerStatus

    public init(warnings: UInt16 = 0, statusFlags: MySQLServerStatus = .autocommit) {
        self.warnings = warnings
        self.statusFlags = statusFlags
    }

    public static func isEOF(_ payload: [UInt8]) -> Bool {
        isEOF(payload, from: 0, to: payload.count)
    }

    /// `isEOF` for the payload `bytes[start..<end]` (a packet where it was received).
    public static func isEOF(_ bytes: [UInt8], from start: Int, to end: Int) -> Bool {
        start < end && bytes[start] == 0xfe && end - start < 9
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(0xfe)
        writer.writeLittleEndian(warnings)
        writer.writeLittleEndian(statusFlags.rawValue)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 5)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> EOFPacket {
        try decodingMessage("EOF") { () throws(WireDecodingError) -> EOFPacket in
            var reader = ByteReader(payload)
            let header = try reader.readUInt8("header")
            guard header == 0xfe, payload.count < 9 else {
                throw .malformed(field: "header", reason: "not an EOF packet (0x\(String(header, radix: 16)), \(payload.count) bytes)", offset: 0)
            }
            // Pre-4.1 EOF is the bare 0xFE.
            if reader.isAtEnd { return EOFPacket(warnings: 0, statusFlags: []) }
            let warnings = try reader.readLittleEndian(UInt16.self, "warnings")
            let status = MySQLServerStatus(rawValue: try reader.readLittleEndian(UInt16.self, "status flags"))
            return EOFPacket(warnings: warnings, statusFlags: status)
        }
    }
}

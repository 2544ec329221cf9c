import WireCore

/// ERR_Packet: 0xFF, error code, '#' + 5-character SQLSTATE (protocol 4.1), message.
public struct ERRPacket: Sendable, Hashable {
    public var error: MySQLServerError

    public init(_ error: MySQLServerError) { self.error = error }

    public static func isERR(_ payload: [UInt8]) -> Bool { isERR(payload, from: 0, to: payload.count) }

    /// `isERR` for the payload `bytes[start..<end]` (a packet where it was received).
    public static func isERR(_ bytes: [UInt8], from start: Int, to end: Int) -> Bool { start < end && bytes[start] == 0xff }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(0xff)
        writer.writeLittleEndian(error.code.rawValue)
        if let state = error.sqlState {
            writer.writeUInt8(UInt8(ascii: "#"))
            var bytes = Array(state.utf8.prefix(5))
            while bytes.count < 5 { bytes.append(UInt8(ascii: " ")) }
            writer.writeBytes(bytes)
        }
        writer.writeString(error.message)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + error.message.utf8.count)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> ERRPacket {
        try decodingMessage("ERR") { () throws(WireDecodingError) -> ERRPacket in
            var reader = ByteReader(payload)
            let header = try reader.readUInt8("header")
            guard header == 0xff else {
                throw .malformed(field: "header", reason: "0x\(String(header, radix: 16)), expected 0xff", offset: 0)
            }
            let code = try reader.readLittleEndian(UInt16.self, "error code")
            var state: String?
            // Errors sent before capabilities are agreed (e.g. 1040 too many connections)
            // may lack the SQLSTATE marker.
            if reader.peekUInt8() == UInt8(ascii: "#") {
                try reader.skip(1, field: "sql state marker")
                state = try reader.readString(5, "sql state")
            }
            let message = reader.readRemainingString()
            return ERRPacket(MySQLServerError(code: .init(rawValue: code), sqlState: state, message: message))
        }
    }
}

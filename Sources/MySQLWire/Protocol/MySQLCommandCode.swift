import WireCore

/// First byte of a command packet.
public enum MySQLCommandCode {
    public static let quit: UInt8 = 0x01
    public static let initDB: UInt8 = 0x02
    public static let query: UInt8 = 0x03
    public static let ping: UInt8 = 0x0e
    public static let stmtPrepare: UInt8 = 0x16
    public static let stmtExecute: UInt8 = 0x17
    public static let stmtClose: UInt8 = 0x19
    public static let stmtReset: UInt8 = 0x1a
    public static let resetConnection: UInt8 = 0x1f
}

func readCommandCode(_ reader: inout ByteReader, expected: UInt8, name: String) throws(WireDecodingError) {
    let code = try reader.readUInt8("command")
    guard code == expected else {
        throw .malformed(field: "command", reason: "0x\(String(code, radix: 16)), expected 0x\(String(expected, radix: 16)) (\(name))", offset: 0)
    }
}

/// A command that is just its code (COM_PING, COM_QUIT, COM_RESET_CONNECTION).
func decodeBareCommand(_ payload: [UInt8], code: UInt8, name: String) throws(MySQLProtocolError) {
    try decodingMessage(name) { () throws(WireDecodingError) in
        var reader = ByteReader(payload)
        try readCommandCode(&reader, expected: code, name: name)
        guard reader.isAtEnd else {
            throw .malformed(field: name, reason: "\(reader.remaining) unexpected bytes", offset: 1)
        }
    }
}

import WireCore

/// COM_STMT_RESET: resets a prepared statement's long data and cursor; answered by OK.
public struct COMStmtReset: Sendable, Hashable {
    public var statementID: UInt32

    public init(statementID: UInt32) { self.statementID = statementID }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.stmtReset)
        writer.writeLittleEndian(statementID)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 5)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMStmtReset {
        try decodingMessage("COM_STMT_RESET") { () throws(WireDecodingError) -> COMStmtReset in
            var reader = ByteReader(payload)
            try readCommandCode(&reader, expected: MySQLCommandCode.stmtReset, name: "COM_STMT_RESET")
            let id = try reader.readLittleEndian(UInt32.self, "statement id")
            guard reader.isAtEnd else {
                throw .malformed(field: "COM_STMT_RESET", reason: "\(reader.remaining) unexpected bytes", offset: reader.readerIndex)
            }
            return COMStmtReset(statementID: id)
        }
    }
}

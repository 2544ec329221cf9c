import WireCore

/// COM_STMT_CLOSE: deallocates a prepared statement; the server sends no reply.
public struct COMStmtClose: Sendable, Hashable {
    public var statementID: UInt32

    public init(statementID: UInt32) { self.statementID = statementID }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.stmtClose)
        writer.writeLittleEndian(statementID)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 5)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMStmtClose {
        try decodingMessage("COM_STMT_CLOSE") { () throws(WireDecodingError) -> COMStmtClose in
            var reader = ByteReader(payload)
            try readCommandCode(&reader, expected: MySQLCommandCode.stmtClose, name: "COM_STMT_CLOSE")
            let id = try reader.readLittleEndian(UInt32.self, "statement id")
            guard reader.isAtEnd else {
                throw .malformed(field: "COM_STMT_CLOSE", reason: "\(reader.remaining) unexpected bytes", offset: reader.readerIndex)
            }
            return COMStmtClose(statementID: id)
        }
    }
}

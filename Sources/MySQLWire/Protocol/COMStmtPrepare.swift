import WireCore

/// COM_STMT_PREPARE: prepare a statement with `?` placeholders. Answered by
/// `StmtPrepareOK` (then parameter and column definitions) or ERR.
public struct COMStmtPrepare: Sendable, Hashable {
    public var sql: String

    public init(sql: String) { self.sql = sql }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.stmtPrepare)
        writer.writeString(sql)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 1 + sql.utf8.count)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMStmtPrepare {
        try decodingMessage("COM_STMT_PREPARE") { () throws(WireDecodingError) -> COMStmtPrepare in
            var reader = ByteReader(payload)
            try readCommandCode(&reader, expected: MySQLCommandCode.stmtPrepare, name: "COM_STMT_PREPARE")
            return COMStmtPrepare(sql: reader.readRemainingString())
        }
    }
}

/// COM_STMT_PREPARE_OK: the statement id and how many parameter and column definitions
/// follow.
public struct StmtPrepareOK: Sendable, Hashable {
    public var statementID: UInt32
    public var columnCount: UInt16
    public var parameterCount: UInt16
    public var warnings: UInt16

    public init(statementID: UInt32, columnCount: UInt16, parameterCount: UInt16, warnings: UInt16 = 0) {
        self.statementID = statementID
        self.columnCount = columnCount
        self.parameterCount = parameterCount
        self.warnings = warnings
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(0x00)
        writer.writeLittleEndian(statementID)
        writer.writeLittleEndian(columnCount)
        writer.writeLittleEndian(parameterCount)
        writer.writeUInt8(0)
        writer.writeLittleEndian(warnings)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 12)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> StmtPrepareOK {
        try decodingMessage("COM_STMT_PREPARE_OK") { () throws(WireDecodingError) -> StmtPrepareOK in
            var reader = ByteReader(payload)
            let status = try reader.readUInt8("status")
            guard status == 0x00 else {
                throw .malformed(field: "status", reason: "0x\(String(status, radix: 16)), expected 0x00", offset: 0)
            }
            let id = try reader.readLittleEndian(UInt32.self, "statement id")
            let columns = try reader.readLittleEndian(UInt16.self, "column count")
            let parameters = try reader.readLittleEndian(UInt16.self, "parameter count")
            var warnings: UInt16 = 0
            if !reader.isAtEnd {
                try reader.skip(1, field: "filler")
                warnings = try reader.readLittleEndian(UInt16.self, "warning count")
            }
            return StmtPrepareOK(statementID: id, columnCount: columns, parameterCount: parameters, warnings: warnings)
        }
    }
}

import WireCore

/// COM_STMT_EXECUTE: run a prepared statement with binary-encoded parameters (NULL bitmap,
/// then — with new-params-bound — each parameter's type, then the values).
public struct COMStmtExecute: Sendable, Hashable {
    public var statementID: UInt32
    /// CURSOR_TYPE_* (0: no cursor).
    public var flags: UInt8
    public var parameters: [MySQLValue]

    public init(statementID: UInt32, flags: UInt8 = 0, parameters: [MySQLValue]) {
        self.statementID = statementID
        self.flags = flags
        self.parameters = parameters
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.stmtExecute)
        writer.writeLittleEndian(statementID)
        writer.writeUInt8(flags)
        writer.writeLittleEndian(UInt32(1))  // iteration count
        guard !parameters.isEmpty else { return }
        // NULL bitmap, written byte by byte (no temporary array per execute).
        var bits: UInt8 = 0
        for (index, value) in parameters.enumerated() {
            if value.isNull { bits |= 1 << UInt8(index % 8) }
            if index % 8 == 7 {
                writer.writeUInt8(bits)
                bits = 0
            }
        }
        if parameters.count % 8 != 0 { writer.writeUInt8(bits) }
        writer.writeUInt8(1)  // new-params-bound: types follow
        for value in parameters {
            let (type, unsigned) = value.binaryType
            writer.writeUInt8(type.rawValue)
            writer.writeUInt8(unsigned ? 0x80 : 0x00)
        }
        for value in parameters where !value.isNull {
            value.encodeBinary(into: &writer, as: value.binaryType.type)
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + parameters.count * 12)
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes with the statement's parameter count (known to the server from the prepare).
    /// Only the new-params-bound form is accepted: this client always sends types.
    public static func decode(_ payload: [UInt8], parameterCount: Int) throws(MySQLProtocolError) -> COMStmtExecute {
        try decodingMessage("COM_STMT_EXECUTE") { () throws(WireDecodingError) -> COMStmtExecute in
            var reader = ByteReader(payload)
            try readCommandCode(&reader, expected: MySQLCommandCode.stmtExecute, name: "COM_STMT_EXECUTE")
            let id = try reader.readLittleEndian(UInt32.self, "statement id")
            let flags = try reader.readUInt8("flags")
            _ = try reader.readLittleEndian(UInt32.self, "iteration count")
            guard parameterCount > 0 else {
                guard reader.isAtEnd else {
                    throw .malformed(field: "COM_STMT_EXECUTE", reason: "\(reader.remaining) bytes after a parameterless execute", offset: reader.readerIndex)
                }
                return COMStmtExecute(statementID: id, flags: flags, parameters: [])
            }
            let bitmap = try reader.readBytes((parameterCount + 7) / 8, "NULL bitmap")
            let bound = try reader.readUInt8("new-params-bound flag")
            guard bound == 1 else {
                throw .malformed(field: "new-params-bound flag", reason: "\(bound): parameter types were not sent", offset: reader.readerIndex - 1)
            }
            var types: [(MySQLColumnType, Bool)] = []
            types.reserveCapacity(parameterCount)
            for _ in 0..<parameterCount {
                let type = MySQLColumnType(rawValue: try reader.readUInt8("parameter type"))
                let flag = try reader.readUInt8("parameter flags")
                types.append((type, flag & 0x80 != 0))
            }
            var parameters: [MySQLValue] = []
            parameters.reserveCapacity(parameterCount)
            for index in 0..<parameterCount {
                if bitmap[index / 8] & (1 << UInt8(index % 8)) != 0 || types[index].0 == .null {
                    parameters.append(.null)
                    continue
                }
                let (type, unsigned) = types[index]
                parameters.append(try MySQLValue.decodeBinary(
                    &reader, type: type, unsigned: unsigned, binaryCharset: type == .blob || type == .tinyBlob || type == .mediumBlob || type == .longBlob,
                    field: "parameter \(index)"
                ))
            }
            guard reader.isAtEnd else {
                throw .malformed(field: "COM_STMT_EXECUTE", reason: "\(reader.remaining) bytes after the parameters", offset: reader.readerIndex)
            }
            return COMStmtExecute(statementID: id, flags: flags, parameters: parameters)
        }
    }
}

import WireCore

/// COM_QUERY: run SQL text (several statements when CLIENT_MULTI_STATEMENTS is on).
public struct COMQuery: Sendable, Hashable {
    public var sql: String

    public init(sql: String) { self.sql = sql }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.query)
        writer.writeString(sql)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 1 + sql.utf8.count)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMQuery {
        try decodingMessage("COM_QUERY") { () throws(WireDecodingError) -> COMQuery in
            var reader = ByteReader(payload)
            try readCommandCode(&reader, expected: MySQLCommandCode.query, name: "COM_QUERY")
            return COMQuery(sql: reader.readRemainingString())
        }
    }
}

import WireCore

/// Protocol::ColumnDefinition41: describes one result-set column or statement parameter.
public struct ColumnDefinition41: Sendable, Hashable {
    public var catalog: String
    public var schema: String
    public var table: String
    public var originalTable: String
    public var name: String
    public var originalName: String
    public var characterSet: UInt16
    public var columnLength: UInt32
    public var type: MySQLColumnType
    public var flags: MySQLColumnFlags
    public var decimals: UInt8

    public init(
        catalog: String = "def", schema: String = "", table: String = "", originalTable: String = "",
        name: String, originalName: String = "", characterSet: UInt16 = 45, columnLength: UInt32 = 0,
        type: MySQLColumnType, flags: MySQLColumnFlags = [], decimals: UInt8 = 0
    ) {
        self.catalog = catalog
        self.schema = schema
        self.table = table
        self.originalTable = originalTable
        self.name = name
        self.originalName = originalName
        self.characterSet = characterSet
        self.columnLength = columnLength
        self.type = type
        self.flags = flags
        self.decimals = decimals
    }

    public var isUnsigned: Bool { flags.contains(.unsigned) }
    /// Binary strings (BINARY, VARBINARY, BLOB) carry the `binary` character set (63).
    public var isBinary: Bool { characterSet == MySQLCharacterSet.binary }

    public func encode(into writer: inout ByteWriter) {
        writer.writeLengthEncodedString(catalog)
        writer.writeLengthEncodedString(schema)
        writer.writeLengthEncodedString(table)
        writer.writeLengthEncodedString(originalTable)
        writer.writeLengthEncodedString(name)
        writer.writeLengthEncodedString(originalName)
        writer.writeLengthEncodedInteger(0x0c)
        writer.writeLittleEndian(characterSet)
        writer.writeLittleEndian(columnLength)
        writer.writeUInt8(type.rawValue)
        writer.writeLittleEndian(flags.rawValue)
        writer.writeUInt8(decimals)
        writer.writeZeros(2)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> ColumnDefinition41 {
        try decodingMessage("ColumnDefinition41") { () throws(WireDecodingError) -> ColumnDefinition41 in
            var reader = ByteReader(payload)
            let catalog = try reader.readLengthEncodedString("catalog")
            let schema = try reader.readLengthEncodedString("schema")
            let table = try reader.readLengthEncodedString("table")
            let originalTable = try reader.readLengthEncodedString("org_table")
            let name = try reader.readLengthEncodedString("name")
            let originalName = try reader.readLengthEncodedString("org_name")
            let fixedStart = reader.readerIndex
            let fixedLength = try reader.readLengthEncodedInteger("length of fixed fields")
            guard fixedLength >= 0x0a else {
                throw .malformed(field: "length of fixed fields", reason: "\(fixedLength), expected 0x0c", offset: fixedStart)
            }
            let characterSet = try reader.readLittleEndian(UInt16.self, "character set")
            let columnLength = try reader.readLittleEndian(UInt32.self, "column length")
            let type = MySQLColumnType(rawValue: try reader.readUInt8("type"))
            let flags = MySQLColumnFlags(rawValue: try reader.readLittleEndian(UInt16.self, "flags"))
            let decimals = try reader.readUInt8("decimals")
            return ColumnDefinition41(
                catalog: catalog, schema: schema, table: table, originalTable: originalTable, name: name,
                originalName: originalName, characterSet: characterSet, columnLength: columnLength,
                type: type, flags: flags, decimals: decimals
            )
        }
    }
}

import MySQLWire
import Testing
import WireCore

/// Byte-exact encodings: captured from MariaDB 10.11 or taken from the MySQL protocol
/// documentation's examples.
@Suite struct GoldenPacketTests {
    /// The greeting of the lab's MariaDB 10.11.19 (payload of the first packet).
    static let mariaDBHandshake = hex("""
        0a352e352e352d31302e31312e31392d4d6172696144422d302b64656231327531005b00000071245873583f713d00
        feff2d0200ff81150000000000001d0000007a6f4134234d3f3174792444006d7973716c5f6e61746976655f7061
        7373776f726400
        """)

    @Test func mariaDBHandshakeDecodesAndReencodesByteForByte() throws {
        let handshake = try HandshakeV10.decode(Self.mariaDBHandshake)
        #expect(handshake.protocolVersion == 10)
        #expect(handshake.serverVersion == "5.5.5-10.11.19-MariaDB-0+deb12u1")
        #expect(handshake.isMariaDB)
        #expect(handshake.connectionID == 0x5b)
        #expect(handshake.authPluginData == hex("71245873583f713d7a6f4134234d3f3174792444"))
        #expect(handshake.authPluginName == "mysql_native_password")
        #expect(handshake.characterSet == 45)
        #expect(handshake.statusFlags == .autocommit)
        #expect(handshake.capabilities.contains([.protocol41, .ssl, .secureConnection, .pluginAuth, .deprecateEOF, .multiResults]))
        #expect(handshake.mariaDBExtendedCapabilities == 0x1d)
        #expect(handshake.encoded() == Self.mariaDBHandshake)
    }

    @Test func handshakeResponseGoldenBytes() throws {
        let caps: MySQLCapabilities = [.protocol41, .secureConnection, .pluginAuth, .pluginAuthLengthEncodedClientData, .connectWithDB]
        let scramble = hex("2de970ef0852c54fc77d2143f8c5c76047694423")
        let response = HandshakeResponse41(
            capabilities: caps, username: "lab", authResponse: scramble, database: "lab", authPluginName: "mysql_native_password"
        )
        let expected = hex("08822800 00000001 2d") + [UInt8](repeating: 0, count: 23)
            + hex("6c616200 14") + scramble + hex("6c616200") + Array("mysql_native_password".utf8) + [0]
        #expect(response.encoded() == expected)
        #expect(try HandshakeResponse41.decode(expected) == response)
    }

    @Test func sslRequestIsTheFirst32BytesOfAResponse() throws {
        let caps: MySQLCapabilities = [.protocol41, .secureConnection, .pluginAuth]
        let request = SSLRequest(capabilities: caps)
        let bytes = request.encoded()
        #expect(bytes.count == 32)
        #expect(Array(bytes[0..<4]) == hex("008a0800"))  // CLIENT_SSL (0x800) added
        let response = HandshakeResponse41(capabilities: caps.union(.ssl), username: "u", authResponse: [])
        #expect(Array(response.encoded().prefix(32)) == bytes)
        #expect(try SSLRequest.decode(bytes) == request)
    }

    @Test func okPacketFromTheDocs() throws {
        let payload = hex("00 00 00 02 00 00 00")
        let ok = try OKPacket.decode(payload)
        #expect(ok == OKPacket(affectedRows: 0, lastInsertID: 0, statusFlags: .autocommit, warnings: 0))
        #expect(ok.encoded() == payload)
        let withInfo = hex("00 01 fc e8 03 0a 00 01 00") + Array("Rows matched: 1".utf8)
        let decoded = try OKPacket.decode(withInfo)
        #expect(decoded.affectedRows == 1)
        #expect(decoded.lastInsertID == 1000)
        #expect(decoded.statusFlags == [.autocommit, .moreResultsExist])
        #expect(decoded.warnings == 1)
        #expect(decoded.info == "Rows matched: 1")
        #expect(decoded.encoded() == withInfo)
    }

    @Test func errPacketFromTheDocs() throws {
        let payload = hex("ff 48 04 23 48 59 30 30 30") + Array("No tables used".utf8)
        let err = try ERRPacket.decode(payload)
        #expect(err.error.code.rawValue == 1096)
        #expect(err.error.sqlState == "HY000")
        #expect(err.error.message == "No tables used")
        #expect(err.encoded() == payload)
        // Before the handshake completes servers may omit the SQLSTATE.
        let early = hex("ff 10 04") + Array("Too many connections".utf8)
        let tooMany = try ERRPacket.decode(early).error
        #expect(tooMany.code == .tooManyConnections)
        #expect(tooMany.sqlState == nil)
        #expect(ERRPacket(tooMany).encoded() == early)
    }

    @Test func eofPacketFromTheDocs() throws {
        let payload = hex("fe 00 00 02 00")
        #expect(EOFPacket.isEOF(payload))
        #expect(try EOFPacket.decode(payload) == EOFPacket(warnings: 0, statusFlags: .autocommit))
        #expect(EOFPacket(warnings: 0, statusFlags: .autocommit).encoded() == payload)
        // Under CLIENT_DEPRECATE_EOF the terminator is an OK packet with header 0xFE.
        let okEOF = hex("fe 00 00 02 00 00 00")
        #expect(OKPacket.isOK(okEOF, deprecateEOF: true))
        #expect(!OKPacket.isOK(okEOF, deprecateEOF: false))
        #expect(try OKPacket.decode(okEOF).header == 0xfe)
    }

    @Test func columnDefinitionFromTheDocs() throws {
        let payload = hex("03646566 00 00 00 11404076657273696f6e5f636f6d6d656e74 00 0c 0800 1c000000 fd 0000 1f 0000")
        let column = try ColumnDefinition41.decode(payload)
        #expect(column == ColumnDefinition41(
            catalog: "def", name: "@@version_comment", characterSet: 8, columnLength: 28, type: .varString, flags: [], decimals: 31
        ))
        #expect(column.encoded() == payload)
    }

    @Test func authSwitchAndMoreData() throws {
        let nonce = Array(1...20) as [UInt8]
        let payload = [0xfe] + Array("mysql_native_password".utf8) + [0] + nonce + [0]
        let request = try AuthSwitchRequest.decode(payload)
        #expect(request.pluginName == "mysql_native_password")
        #expect(request.nonce == nonce)
        #expect(request.encoded() == payload)
        #expect(try AuthMoreData.decode([0x01, 0x03]) == AuthMoreData(data: [AuthMoreData.fastAuthSuccess]))
        #expect(AuthMoreData(data: [0x04]).encoded() == [0x01, 0x04])
        #expect(throws: MySQLProtocolError.self) { try AuthSwitchRequest.decode([0xfe]) }
    }

    @Test func commandsGoldenBytes() throws {
        #expect(COMPing().encoded() == [0x0e])
        #expect(COMQuit().encoded() == [0x01])
        #expect(COMResetConnection().encoded() == [0x1f])
        #expect(COMStmtClose(statementID: 0x0102_0304).encoded() == [0x19, 4, 3, 2, 1])
        #expect(COMStmtReset(statementID: 1).encoded() == [0x1a, 1, 0, 0, 0])
        #expect(COMStmtPrepare(sql: "SELECT ?").encoded() == [0x16] + Array("SELECT ?".utf8))
        #expect(try COMPing.decode([0x0e]) == COMPing())
        #expect(throws: MySQLProtocolError.self) { try COMPing.decode([0x0e, 0]) }
        #expect(throws: MySQLProtocolError.self) { try COMQuit.decode([0x0e]) }
    }

    @Test func stmtPrepareOKFromTheDocs() throws {
        let payload = hex("00 01000000 0100 0200 00 0000")
        let ok = try StmtPrepareOK.decode(payload)
        #expect(ok == StmtPrepareOK(statementID: 1, columnCount: 1, parameterCount: 2, warnings: 0))
        #expect(ok.encoded() == payload)
    }

    @Test func stmtExecuteFromTheDocs() throws {
        // One VARCHAR parameter "foo".
        let docs = hex("17 01000000 00 01000000 00 01 0f00 03666f6f")
        let execute = try COMStmtExecute.decode(docs, parameterCount: 1)
        #expect(execute.statementID == 1)
        #expect(execute.parameters == [.string("foo")])
        // This client sends strings as VAR_STRING (0xfd).
        #expect(execute.encoded() == hex("17 01000000 00 01000000 00 01 fd00 03666f6f"))
    }

    @Test func stmtExecuteNullBitmapAndTypes() throws {
        let execute = COMStmtExecute(statementID: 9, parameters: [.null, .int(-1), .uint(1), .null, .double(1.5), .null, .null, .null, .string("x")])
        let bytes = execute.encoded()
        let expected = hex("17 09000000 00 01000000")
            + [0b1110_1001, 0b0000_0000, 0x01]
            + hex("0600 0800 0880 0600 0500 0600 0600 0600 fd00")
            + hex("ffffffffffffffff 0100000000000000 000000000000f83f 0178")
        #expect(bytes == expected)
        #expect(try COMStmtExecute.decode(bytes, parameterCount: 9) == execute)
    }

    @Test func binaryRowFromTheDocs() throws {
        let payload = hex("00 00 06 666f6f626172")
        let column = ColumnDefinition41(name: "c", type: .varString)
        #expect(try BinaryResultRow.decodeValues(payload, columns: [column]) == [.string("foobar")])
        #expect(BinaryResultRow.encoded(values: [.string("foobar")], columns: [column]) == payload)
    }

    @Test func textRowWithNull() throws {
        let payload = hex("01 31 fb 03 616263")
        let columns = [
            ColumnDefinition41(name: "a", type: .long),
            ColumnDefinition41(name: "b", type: .varString),
            ColumnDefinition41(name: "c", type: .varString),
        ]
        #expect(try TextResultRow.decode(payload, columnCount: 3) == TextResultRow(values: [[0x31], nil, Array("abc".utf8)]))
        #expect(try TextResultRow.decodeValues(payload, columns: columns) == [.int(1), .null, .string("abc")])
        #expect(TextResultRow(values: [[0x31], nil, Array("abc".utf8)]).encoded() == payload)
    }
}

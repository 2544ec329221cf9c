import MySQLWire
import PropertyBased
import Testing
import WireCore

/// decode(encode(x)) == x for every message, over random instances.
@Suite struct RoundTripPropertyTests {
    static func gen<T>(_ make: @escaping @Sendable (inout any SeededRandomNumberGenerator) -> T) -> Generator<T, Shrink.None<T>> {
        Generator { rng in make(&rng) }
    }

    @Test func handshakeV10() async {
        await propertyCheck(count: 300, input: Self.gen { MySQLGen.handshake(using: &$0) }) { message in
            #expect((try? HandshakeV10.decode(message.encoded())) == message)
        }
    }

    @Test func handshakeResponse41() async {
        await propertyCheck(count: 300, input: Self.gen { MySQLGen.handshakeResponse(using: &$0) }) { message in
            #expect((try? HandshakeResponse41.decode(message.encoded())) == message)
        }
    }

    @Test func okErrEOF() async {
        await propertyCheck(count: 300, input: Self.gen { MySQLGen.ok(using: &$0) }) { ok in
            #expect((try? OKPacket.decode(ok.encoded())) == ok)
        }
        await propertyCheck(count: 300, input: Self.gen { MySQLGen.serverError(using: &$0) }) { error in
            #expect((try? ERRPacket.decode(ERRPacket(error).encoded()).error) == error)
        }
        await propertyCheck(count: 100, input: Self.gen { rng in
            EOFPacket(warnings: UInt16.random(in: 0...UInt16.max, using: &rng), statusFlags: MySQLServerStatus(rawValue: UInt16.random(in: 0...UInt16.max, using: &rng)))
        }) { eof in
            #expect((try? EOFPacket.decode(eof.encoded())) == eof)
        }
    }

    @Test func authAndCommandMessages() async {
        await propertyCheck(count: 200, input: Self.gen { rng in
            (MySQLGen.name(using: &rng), MySQLGen.bytes(0...40, using: &rng), MySQLGen.text(0...100, using: &rng), UInt32.random(in: 0...UInt32.max, using: &rng))
        }) { input in
            let (name, data, sql, id) = input
            #expect((try? AuthSwitchRequest.decode(AuthSwitchRequest(pluginName: name, pluginData: data).encoded())) == AuthSwitchRequest(pluginName: name, pluginData: data))
            #expect((try? AuthMoreData.decode(AuthMoreData(data: data).encoded())) == AuthMoreData(data: data))
            #expect((try? COMQuery.decode(COMQuery(sql: sql).encoded())) == COMQuery(sql: sql))
            #expect((try? COMStmtPrepare.decode(COMStmtPrepare(sql: sql).encoded())) == COMStmtPrepare(sql: sql))
            #expect((try? COMStmtClose.decode(COMStmtClose(statementID: id).encoded())) == COMStmtClose(statementID: id))
            #expect((try? COMStmtReset.decode(COMStmtReset(statementID: id).encoded())) == COMStmtReset(statementID: id))
            let ok = StmtPrepareOK(statementID: id, columnCount: UInt16(truncatingIfNeeded: id), parameterCount: UInt16(truncatingIfNeeded: id >> 16), warnings: 3)
            #expect((try? StmtPrepareOK.decode(ok.encoded())) == ok)
            let ssl = SSLRequest(capabilities: MySQLCapabilities(rawValue: id), maxPacketSize: id, characterSet: UInt8(truncatingIfNeeded: id))
            #expect((try? SSLRequest.decode(ssl.encoded())) == ssl)
        }
    }

    @Test func columnDefinition41() async {
        await propertyCheck(count: 300, input: Self.gen { MySQLGen.column(using: &$0) }) { column in
            #expect((try? ColumnDefinition41.decode(column.encoded())) == column)
        }
    }

    @Test func rowsInBothProtocols() async {
        await propertyCheck(count: 300, input: Self.gen { rng in
            (0..<Int.random(in: 0...20, using: &rng)).map { _ in MySQLGen.typedValue(using: &rng) }
        }) { pairs in
            let values = pairs.map(\.0)
            let columns = pairs.map(\.1)
            var text = ByteWriter()
            TextResultRow.encode(values: values, into: &text)
            #expect((try? TextResultRow.decodeValues(text.bytes, columns: columns)) == values)
            #expect((try? TextResultRow.decode(text.bytes, columnCount: values.count).values.count) == values.count)
            let binary = BinaryResultRow.encoded(values: values, columns: columns)
            #expect((try? BinaryResultRow.decodeValues(binary, columns: columns)) == values)
        }
    }

    /// Found by the mysql-resultset-decoder fuzzer: a negative zero TIME went out in the
    /// 0-length (positive zero) form and came back without its sign.
    @Test func negativeZeroTimeInBinaryRows() throws {
        let column = ColumnDefinition41(name: "t", type: .time)
        for value in [MySQLTime(isNegative: true), MySQLTime(), MySQLTime(isNegative: true, microsecond: 1)] {
            let encoded = BinaryResultRow.encoded(values: [.time(value)], columns: [column])
            #expect(try BinaryResultRow.decodeValues(encoded, columns: [column]) == [.time(value)])
        }
    }

    @Test func stmtExecuteParameters() async {
        await propertyCheck(count: 300, input: Self.gen { rng in
            (UInt32.random(in: 0...UInt32.max, using: &rng), (0..<Int.random(in: 0...20, using: &rng)).map { _ in MySQLGen.typedValue(using: &rng).0 })
        }) { input in
            let (id, parameters) = input
            let execute = COMStmtExecute(statementID: id, parameters: parameters)
            // BIT is sent as an unsigned BIGINT and JSON as a string: those come back as such.
            let expected = parameters.map { value -> MySQLValue in
                switch value {
                case let .bit(v): return .uint(v)
                case let .json(s): return .string(s)
                default: return value
                }
            }
            #expect((try? COMStmtExecute.decode(execute.encoded(), parameterCount: parameters.count).parameters) == expected)
        }
    }
}

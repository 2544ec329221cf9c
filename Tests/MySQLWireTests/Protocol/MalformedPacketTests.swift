import MySQLWire
import PropertyBased
import Testing
import WireCore

/// Decoders never trap: truncated, mutated and random payloads give a typed error (or, when
/// the bytes happen to be valid, a value).
@Suite struct MalformedPacketTests {
    /// Every decoder, by name, over a payload.
    static let decoders: [(String, @Sendable ([UInt8]) throws -> Void)] = [
        ("HandshakeV10", { _ = try HandshakeV10.decode($0) }),
        ("HandshakeResponse41", { _ = try HandshakeResponse41.decode($0) }),
        ("SSLRequest", { _ = try SSLRequest.decode($0) }),
        ("AuthSwitchRequest", { _ = try AuthSwitchRequest.decode($0) }),
        ("AuthMoreData", { _ = try AuthMoreData.decode($0) }),
        ("OK", { _ = try OKPacket.decode($0) }),
        ("ERR", { _ = try ERRPacket.decode($0) }),
        ("EOF", { _ = try EOFPacket.decode($0) }),
        ("ColumnDefinition41", { _ = try ColumnDefinition41.decode($0) }),
        ("StmtPrepareOK", { _ = try StmtPrepareOK.decode($0) }),
        ("COM_STMT_EXECUTE", { _ = try COMStmtExecute.decode($0, parameterCount: 3) }),
        ("text row", { _ = try TextResultRow.decodeValues($0, columns: MalformedPacketTests.columns) }),
        ("binary row", { _ = try BinaryResultRow.decodeValues($0, columns: MalformedPacketTests.columns) }),
    ]

    static let columns: [ColumnDefinition41] = [
        ColumnDefinition41(name: "i", type: .longlong), ColumnDefinition41(name: "d", type: .datetime),
        ColumnDefinition41(name: "t", type: .time), ColumnDefinition41(name: "s", type: .varString),
        ColumnDefinition41(name: "n", type: .newdecimal), ColumnDefinition41(name: "f", type: .double),
    ]

    static let validPayloads: [[UInt8]] = [
        GoldenPacketTests.mariaDBHandshake,
        HandshakeResponse41(capabilities: [.protocol41, .secureConnection, .pluginAuth, .connectWithDB, .connectAttrs],
                            username: "lab", authResponse: Array(1...20), database: "lab", authPluginName: "mysql_native_password",
                            attributes: [("_client", "x")]).encoded(),
        OKPacket(affectedRows: 70000, lastInsertID: 1 << 40, info: "info").encoded(),
        ERRPacket(MySQLServerError(code: .deadlock, sqlState: "40001", message: "Deadlock found")).encoded(),
        ColumnDefinition41(schema: "lab", table: "t", name: "c", type: .long).encoded(),
        COMStmtExecute(statementID: 1, parameters: [.int(1), .string("abc"), .datetime(MySQLDateTime(year: 2020, month: 1, day: 1, hour: 1, minute: 1, second: 1, microsecond: 5))]).encoded(),
        BinaryResultRow.encoded(values: [.int(1), .datetime(MySQLDateTime(year: 2020, month: 1, day: 2, hour: 3)), .time(MySQLTime(hour: 1, microsecond: 1)), .string("x"), .decimal(MySQLDecimal("1.5")!), .double(2)], columns: columns),
    ]

    @Test func everyTruncationIsATypedErrorOrAValue() {
        for payload in Self.validPayloads {
            for cut in 0..<payload.count {
                let prefix = Array(payload.prefix(cut))
                for (_, decode) in Self.decoders {
                    do { try decode(prefix) } catch {
                        // Typed: MySQLProtocolError, and it says what was wrong.
                        #expect((error as? MySQLProtocolError)?.description.isEmpty == false)
                    }
                }
            }
        }
    }

    @Test func truncatedMessagesNameTheMessageAndField() {
        let handshake = Array(GoldenPacketTests.mariaDBHandshake.prefix(40))
        #expect(throws: MySQLProtocolError.self) { try HandshakeV10.decode(handshake) }
        do {
            _ = try HandshakeV10.decode(handshake)
        } catch {
            guard case let .decoding(message, inner) = error else {
                Issue.record("expected .decoding, got \(error)")
                return
            }
            #expect(message == "HandshakeV10")
            #expect(inner.isTruncation)
        }
        #expect(throws: MySQLProtocolError.self) { try HandshakeV10.decode([9]) }  // protocol version 9
        #expect(throws: MySQLProtocolError.self) { try OKPacket.decode([0x00, 0x01]) }
        #expect(throws: MySQLProtocolError.self) { try OKPacket.decode([0x01, 0, 0, 2, 0, 0, 0]) }
        #expect(throws: MySQLProtocolError.self) { try ERRPacket.decode([0xff, 0x48]) }
        #expect(throws: MySQLProtocolError.self) { try EOFPacket.decode([0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: MySQLProtocolError.self) { try ColumnDefinition41.decode([3, 0x64, 0x65, 0x66]) }
        #expect(throws: MySQLProtocolError.self) { try SSLRequest.decode([UInt8](repeating: 0, count: 32)) }  // no CLIENT_SSL
    }

    @Test func invalidTemporalLengthsAndValues() {
        let datetime = [ColumnDefinition41(name: "d", type: .datetime)]
        #expect(throws: MySQLProtocolError.self) { try BinaryResultRow.decodeValues([0, 0, 5, 1, 2, 3, 4, 5], columns: datetime) }
        let time = [ColumnDefinition41(name: "t", type: .time)]
        #expect(throws: MySQLProtocolError.self) { try BinaryResultRow.decodeValues([0, 0, 9] + [UInt8](repeating: 0, count: 9), columns: time) }
        // Text values that are not what the column type says.
        for (type, text) in [(MySQLColumnType.long, "12x"), (.longlong, "99999999999999999999"), (.date, "2020-1-1"),
                             (.datetime, "2020-01-01 25"), (.time, "12:3"), (.newdecimal, "1.2.3"), (.double, "abc"), (.bit, "123456789")] {
            var writer = ByteWriter()
            writer.writeLengthEncodedString(text)
            #expect(throws: MySQLProtocolError.self, "\(type) \(text)") {
                try TextResultRow.decodeValues(writer.bytes, columns: [ColumnDefinition41(name: "c", type: type)])
            }
        }
        // Trailing bytes after the last column.
        #expect(throws: MySQLProtocolError.self) { try TextResultRow.decodeValues([1, 0x31, 0x32], columns: [ColumnDefinition41(name: "c", type: .long)]) }
    }

    @Test func randomAndMutatedBytesNeverTrap() async {
        let generator = Generator<[UInt8], Shrink.None<[UInt8]>> { rng in
            if Bool.random(using: &rng) {
                return MySQLGen.bytes(0...200, using: &rng)
            }
            var bytes = MalformedPacketTests.validPayloads.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
                }
            }
            return bytes
        }
        await propertyCheck(count: 2000, input: generator) { bytes in
            for (name, decode) in Self.decoders {
                do { try decode(bytes) } catch {
                    #expect(error is MySQLProtocolError, "\(name) threw \(error)")
                }
            }
            var decoder = MySQLPacketDecoder(maxPayloadSize: 1 << 20)
            decoder.append(bytes)
            do { while try decoder.next() != nil {} } catch { #expect(error is MySQLProtocolError) }
        }
    }
}

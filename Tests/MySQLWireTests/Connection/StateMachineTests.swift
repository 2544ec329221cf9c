import MySQLWire
import Testing
import WireCore

/// The connection state machine driven with packets, no sockets.
@Suite struct StateMachineTests {
    typealias Machine = MySQLConnectionStateMachine
    static let nonce: [UInt8] = Array(1...20)

    static func greeting(
        plugin: String = "mysql_native_password", caps: MySQLCapabilities = serverCaps
    ) -> [UInt8] {
        HandshakeV10(serverVersion: "10.11.19-MariaDB", connectionID: 77, authPluginData: nonce, capabilities: caps, authPluginName: plugin).encoded()
    }

    static let serverCaps: MySQLCapabilities = MySQLCapabilities.clientDefault.union([.ssl, .connectAttrs, .sessionTrack])

    /// Decodes the framed bytes an action asks to send.
    static func sent(_ action: Machine.Action) -> [MySQLPacket] {
        let bytes: [UInt8]
        switch action {
        case let .send(b), let .sendSSLRequestAndStartTLS(b): bytes = b
        case let .complete(_, b): bytes = b
        default: return []
        }
        var decoder = MySQLPacketDecoder()
        decoder.append(bytes)
        var packets: [MySQLPacket] = []
        while let packet = try? decoder.next() { packets.append(packet) }
        return packets
    }

    static func authenticated(_ settings: Machine.Settings = Machine.Settings(username: "lab", password: "lab", database: "lab"),
                              caps: MySQLCapabilities = serverCaps) -> Machine {
        var machine = Machine(settings: settings)
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: greeting(caps: caps)))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: OKPacket().encoded()))
        guard case .authenticated = action else { fatalError("not authenticated: \(action)") }
        return machine
    }

    @Test func nativePasswordHandshake() throws {
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "lab", database: "lab"))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting()))
        let packets = Self.sent(action)
        #expect(packets.count == 1)
        #expect(packets[0].sequenceID == 1)
        let response = try HandshakeResponse41.decode(packets[0].payload)
        #expect(response.username == "lab")
        #expect(response.database == "lab")
        #expect(response.authPluginName == "mysql_native_password")
        #expect(response.authResponse == MySQLNativePassword.scramble(password: "lab", nonce: Self.nonce))
        #expect(response.capabilities.contains([.protocol41, .deprecateEOF, .connectWithDB, .multiStatements]))
        #expect(!response.capabilities.contains(.ssl))
        #expect(!response.capabilities.contains(.sessionTrack))

        let done = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: OKPacket().encoded()))
        guard case let .authenticated(session) = done else {
            Issue.record("expected authenticated, got \(done)")
            return
        }
        #expect(session.connectionID == 77)
        #expect(session.authPlugin == "mysql_native_password")
        #expect(machine.isReady)
    }

    @Test func accessDeniedClosesWithTheServerError() {
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "bad"))
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting()))
        let error = MySQLServerError(code: .accessDenied, sqlState: "28000", message: "Access denied")
        let action = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: ERRPacket(error).encoded()))
        #expect(action == .closeConnection(.server(error)))
        #expect(machine.isClosed)
    }

    @Test func errorInsteadOfGreeting() {
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "lab"))
        let error = MySQLServerError(code: .tooManyConnections, sqlState: nil, message: "Too many connections")
        #expect(machine.packetReceived(MySQLPacket(sequenceID: 0, payload: ERRPacket(error).encoded())) == .closeConnection(.server(error)))
    }

    @Test func authSwitchToNativePassword() throws {
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "lab"))
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(plugin: "caching_sha2_password")))
        let newNonce: [UInt8] = Array(21...40)
        let action = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: AuthSwitchRequest(pluginName: "mysql_native_password", pluginData: newNonce + [0]).encoded()))
        let packets = Self.sent(action)
        #expect(packets.map(\.sequenceID) == [3])
        #expect(packets.first?.payload == MySQLNativePassword.scramble(password: "lab", nonce: newNonce))
        guard case .authenticated = machine.packetReceived(MySQLPacket(sequenceID: 4, payload: OKPacket().encoded())) else {
            Issue.record("not authenticated")
            return
        }
    }

    @Test func authSwitchToAnUnknownPluginFailsTyped() {
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "lab"))
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting()))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: AuthSwitchRequest(pluginName: "dialog", pluginData: Array(1...32)).encoded()))
        #expect(action == .closeConnection(.authentication(.unsupportedPlugin("dialog"))))
    }

    @Test func authSwitchToEd25519SignsTheRawNonce() {
        var machine = Machine(settings: Machine.Settings(username: "lab_ed25519", password: "lab"))
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting()))
        // A nonce ending in 0x00 must not lose its last byte.
        let nonce: [UInt8] = Array(1...31) + [0]
        let packets = Self.sent(machine.packetReceived(MySQLPacket(sequenceID: 2, payload: AuthSwitchRequest(pluginName: "client_ed25519", pluginData: nonce).encoded())))
        #expect(packets == [MySQLPacket(sequenceID: 3, payload: MySQLClientEd25519.signature(password: "lab", nonce: nonce))])
    }

    @Test func cachingSHA2FastPath() {
        var machine = Machine(settings: Machine.Settings(username: "u", password: "p"))
        let first = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(plugin: "caching_sha2_password")))
        let response = try? HandshakeResponse41.decode(Self.sent(first)[0].payload)
        #expect(response?.authResponse == MySQLCachingSHA2Password.scramble(password: "p", nonce: Self.nonce))
        #expect(machine.packetReceived(MySQLPacket(sequenceID: 2, payload: [0x01, 0x03])) == .none)
        guard case .authenticated = machine.packetReceived(MySQLPacket(sequenceID: 3, payload: OKPacket().encoded())) else {
            Issue.record("not authenticated")
            return
        }
    }

    @Test func cachingSHA2FullPathRequestsThePublicKeyOverPlainTCP() throws {
        var machine = Machine(settings: Machine.Settings(username: "u", password: "p"))
        _ = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(plugin: "caching_sha2_password")))
        let request = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
        #expect(Self.sent(request) == [MySQLPacket(sequenceID: 3, payload: [0x02])])
        let key = machine.packetReceived(MySQLPacket(sequenceID: 4, payload: [0x01] + Array(AuthScrambleTests.publicKey.utf8)))
        let encrypted = Self.sent(key)
        #expect(encrypted.map(\.sequenceID) == [5])
        #expect(encrypted.first?.payload.count == 256)
        guard case .authenticated = machine.packetReceived(MySQLPacket(sequenceID: 6, payload: OKPacket().encoded())) else {
            Issue.record("not authenticated")
            return
        }
    }

    @Test func cachingSHA2FullPathWithAConfiguredKeyAndWithTLS() throws {
        var settings = Machine.Settings(username: "u", password: "p")
        settings.serverPublicKeyPEM = Array(AuthScrambleTests.publicKey.utf8)
        var plain = Machine(settings: settings)
        _ = plain.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(plugin: "caching_sha2_password")))
        let sent = Self.sent(plain.packetReceived(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04])))
        #expect(sent.first?.payload.count == 256)

        settings.tls = .required
        var tls = Machine(settings: settings)
        let upgrade = tls.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(plugin: "caching_sha2_password")))
        guard case .sendSSLRequestAndStartTLS = upgrade else {
            Issue.record("expected the TLS upgrade, got \(upgrade)")
            return
        }
        let ssl = Self.sent(upgrade)
        #expect(ssl.map(\.sequenceID) == [1])
        #expect(try SSLRequest.decode(ssl[0].payload).capabilities.contains(.ssl))
        let response = Self.sent(tls.tlsEstablished())
        #expect(response.map(\.sequenceID) == [2])
        #expect(try HandshakeResponse41.decode(response[0].payload).capabilities.contains(.ssl))
        let cleartext = Self.sent(tls.packetReceived(MySQLPacket(sequenceID: 3, payload: [0x01, 0x04])))
        #expect(cleartext == [MySQLPacket(sequenceID: 4, payload: Array("p".utf8) + [0])])
    }

    @Test func tlsRequiredButNotOffered() {
        var machine = Machine(settings: Machine.Settings(username: "u", password: "p", tls: .required))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(caps: Self.serverCaps.subtracting(.ssl))))
        #expect(action == .closeConnection(.tlsUnavailable))
        var preferred = Machine(settings: Machine.Settings(username: "u", password: "p", tls: .preferred))
        let plain = preferred.packetReceived(MySQLPacket(sequenceID: 0, payload: Self.greeting(caps: Self.serverCaps.subtracting(.ssl))))
        guard case .send = plain else {
            Issue.record("preferred TLS should fall back to plain, got \(plain)")
            return
        }
    }

    @Test func wrongSequenceIDIsFatal() {
        var machine = Machine(settings: Machine.Settings(username: "u", password: "p"))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 3, payload: Self.greeting()))
        #expect(action == .closeConnection(.protocolViolation(.sequenceMismatch(expected: 0, received: 3))))
    }

    // MARK: Result sets

    static let columnA = ColumnDefinition41(name: "a", type: .longlong)
    static let columnB = ColumnDefinition41(name: "b", type: .varString)

    /// The server's packets for a result set with columns a, b and the given rows.
    static func resultSet(rows: [[MySQLValue]], deprecateEOF: Bool, status: MySQLServerStatus = .autocommit, binary: Bool = false) -> [[UInt8]] {
        var payloads: [[UInt8]] = [[2], columnA.encoded(), columnB.encoded()]
        if !deprecateEOF { payloads.append(EOFPacket().encoded()) }
        for row in rows {
            if binary {
                payloads.append(BinaryResultRow.encoded(values: row, columns: [columnA, columnB]))
            } else {
                var writer = ByteWriter()
                TextResultRow.encode(values: row, into: &writer)
                payloads.append(writer.bytes)
            }
        }
        payloads.append(deprecateEOF ? OKPacket(header: 0xfe, statusFlags: status).encoded() : EOFPacket(statusFlags: status).encoded())
        return payloads
    }

    static func feed(_ machine: inout Machine, _ payloads: [[UInt8]], firstSequence: UInt8 = 1) -> [Machine.Action] {
        var sequence = firstSequence
        return payloads.map { payload in
            defer { sequence &+= 1 }
            return machine.packetReceived(MySQLPacket(sequenceID: sequence, payload: payload))
        }
    }

    @Test(arguments: [true, false])
    func textResultSet(deprecateEOF: Bool) throws {
        let caps = deprecateEOF ? Self.serverCaps : Self.serverCaps.subtracting(.deprecateEOF)
        var machine = Self.authenticated(caps: caps)
        let query = machine.startCommand(.query("SELECT a, b"))
        #expect(Self.sent(query) == [MySQLPacket(sequenceID: 0, payload: COMQuery(sql: "SELECT a, b").encoded())])
        let rows: [[MySQLValue]] = [[.int(1), .string("x")], [.null, .string("")], [.int(-5), .null]]
        let actions = Self.feed(&machine, Self.resultSet(rows: rows, deprecateEOF: deprecateEOF))
        #expect(actions.dropLast().allSatisfy { $0 == .none })
        guard case let .complete(.result(result), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(result.columns == [Self.columnA, Self.columnB])
        #expect(result.rows == rows)
        #expect(machine.isReady)
    }

    /// Feeds payloads as the connection does: framed back to back in one receive buffer,
    /// behind unrelated bytes, each decoded where it lies.
    static func feedInPlace(_ machine: inout Machine, _ payloads: [[UInt8]], firstSequence: UInt8 = 1) -> [Machine.Action] {
        var buffer: [UInt8] = [0xfe, 0xff, 0x00, 0xfb, 0x07]
        var ranges: [(UInt8, Int, Int)] = []
        var sequence = firstSequence
        for payload in payloads {
            MySQLPacket.encode(payload: payload, sequenceID: sequence, into: &buffer)
            ranges.append((sequence, buffer.count - payload.count, buffer.count))
            sequence &+= 1
        }
        buffer += [0xff, 0xff, 0xff]
        return ranges.map { machine.packetReceived(sequenceID: $0.0, in: buffer, from: $0.1, to: $0.2) }
    }

    /// Result packets decoded in the receive buffer give what copied packets give: the same
    /// results, text and binary, with and without the EOF packets, and the same error (its
    /// offset counted from the packet) for a malformed row.
    @Test(arguments: [true, false])
    func resultPacketsDecodeInPlaceAsCopied(deprecateEOF: Bool) throws {
        let caps = deprecateEOF ? Self.serverCaps : Self.serverCaps.subtracting(.deprecateEOF)
        let rows: [[MySQLValue]] = [[.int(1), .string("x")], [.null, .string("")], [.int(-5), .null]]
        for binary in [false, true] {
            var copied = Self.authenticated(caps: caps)
            var inPlace = Self.authenticated(caps: caps)
            for round in 0..<2 {  // the second round matches the remembered column definitions
                let statement = MySQLPreparedStatement(id: 1, sql: "SELECT a, b", parameters: [], columns: [Self.columnA, Self.columnB], connectionID: 0)
                let command: Machine.Command = binary ? .execute(statement, []) : .query("SELECT a, b")
                _ = copied.startCommand(command)
                _ = inPlace.startCommand(command)
                let payloads = Self.resultSet(rows: rows, deprecateEOF: deprecateEOF, binary: binary)
                let expected = Self.feed(&copied, payloads)
                let actual = Self.feedInPlace(&inPlace, payloads)
                #expect(actual == expected, "binary: \(binary), round \(round)")
                guard case let .complete(.result(result), _)? = actual.last else {
                    Issue.record("binary: \(binary), round \(round): expected a result, got \(actual)")
                    return
                }
                #expect(result.rows == rows)
            }
        }

        // A row one byte short: both fail the connection with the same error.
        var copied = Self.authenticated(caps: caps)
        var inPlace = Self.authenticated(caps: caps)
        _ = copied.startCommand(.query("SELECT a, b"))
        _ = inPlace.startCommand(.query("SELECT a, b"))
        var payloads = Self.resultSet(rows: [[.int(12345), .string("truncated")]], deprecateEOF: deprecateEOF)
        let rowIndex = payloads.count - 2
        payloads[rowIndex].removeLast()
        let expected = Self.feed(&copied, Array(payloads[...rowIndex]))
        let actual = Self.feedInPlace(&inPlace, Array(payloads[...rowIndex]))
        guard case let .closeConnection(.protocolViolation(.decoding(_, error)))? = actual.last else {
            Issue.record("expected a decoding failure, got \(String(describing: actual.last))")
            return
        }
        #expect(actual == expected)
        #expect(error.description.contains("at offset"), "\(error)")
    }

    /// Column definitions are reused only when their bytes repeat at the same position.
    @Test func repeatedQueriesDecodeChangedColumnDefinitions() throws {
        var machine = Self.authenticated()
        func run(_ columns: [ColumnDefinition41], _ row: [MySQLValue]) -> MySQLResult? {
            _ = machine.startCommand(.query("SELECT"))
            var writer = ByteWriter()
            TextResultRow.encode(values: row, into: &writer)
            let payloads: [[UInt8]] = [[UInt8(columns.count)]] + columns.map { $0.encoded() }
                + [writer.bytes, OKPacket(header: 0xfe, statusFlags: .autocommit).encoded()]
            guard case let .complete(.result(result), _)? = Self.feed(&machine, payloads).last else { return nil }
            return result
        }
        let renamed = ColumnDefinition41(name: "c", type: .longlong)
        #expect(run([Self.columnA, Self.columnB], [.int(1), .string("x")])?.columns == [Self.columnA, Self.columnB])
        #expect(run([Self.columnA, Self.columnB], [.int(2), .string("y")])?.columns == [Self.columnA, Self.columnB])
        #expect(run([renamed, Self.columnB], [.int(3), .string("z")])?.columns == [renamed, Self.columnB])
        #expect(run([Self.columnA], [.int(4)])?.columns == [Self.columnA])
        #expect(run([Self.columnB, Self.columnA], [.string("w"), .int(5)])?.rows == [[.string("w"), .int(5)]])
        // A change after a matching prefix, a longer and a shorter result than remembered, and a
        // definition too large to remember (then decoded every time).
        let wide = ColumnDefinition41(table: String(repeating: "t", count: 1100), name: "w", type: .varString)
        #expect(run([Self.columnB, renamed], [.string("v"), .int(6)])?.columns == [Self.columnB, renamed])
        #expect(run([Self.columnB, renamed, Self.columnA], [.string("v"), .int(7), .int(8)])?.columns == [Self.columnB, renamed, Self.columnA])
        #expect(run([Self.columnB, renamed], [.string("v"), .int(9)])?.columns == [Self.columnB, renamed])
        #expect(run([Self.columnB, renamed, Self.columnA], [.string("v"), .int(7), .int(8)])?.columns == [Self.columnB, renamed, Self.columnA])
        #expect(run([Self.columnB, wide], [.string("v"), .string("u")])?.columns == [Self.columnB, wide])
        #expect(run([Self.columnB, wide], [.string("v"), .string("t")])?.rows == [[.string("v"), .string("t")]])
        #expect(run([Self.columnB, renamed], [.string("v"), .int(10)])?.columns == [Self.columnB, renamed])
        #expect(run([Self.columnB, renamed], [.string("v"), .int(11)])?.columns == [Self.columnB, renamed])
        #expect(machine.isReady)
    }

    @Test func binaryResultSetAfterPrepare() throws {
        var machine = Self.authenticated(caps: Self.serverCaps.subtracting(.deprecateEOF))
        _ = machine.startCommand(.prepare("SELECT a, b FROM t WHERE a = ?"))
        let param = ColumnDefinition41(name: "?", type: .longlong)
        let prepareActions = Self.feed(&machine, [
            StmtPrepareOK(statementID: 5, columnCount: 2, parameterCount: 1).encoded(),
            param.encoded(), EOFPacket().encoded(),
            Self.columnA.encoded(), Self.columnB.encoded(), EOFPacket().encoded(),
        ])
        guard case let .complete(.prepared(statement), _)? = prepareActions.last else {
            Issue.record("expected a statement, got \(String(describing: prepareActions.last))")
            return
        }
        #expect(statement.id == 5)
        #expect(statement.parameters == [param])
        #expect(statement.columns == [Self.columnA, Self.columnB])

        #expect(machine.startCommand(.execute(statement, [])) == .commandFailed(.invalidArgument("statement has 1 parameters, 0 given")))
        let execute = machine.startCommand(.execute(statement, [.int(7)]))
        #expect(Self.sent(execute) == [MySQLPacket(sequenceID: 0, payload: COMStmtExecute(statementID: 5, parameters: [.int(7)]).encoded())])
        let rows: [[MySQLValue]] = [[.int(7), .string("seven")], [.null, .null]]
        let actions = Self.feed(&machine, Self.resultSet(rows: rows, deprecateEOF: false, binary: true))
        guard case let .complete(.result(result), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(result.rows == rows)

        let close = machine.startCommand(.closeStatement(5))
        #expect(close == .complete(.noReply, send: MySQLPacket(sequenceID: 0, payload: [0x19, 5, 0, 0, 0]).encoded()))
        #expect(machine.isReady)
    }

    /// MariaDB's cache-metadata capability: asked for only when the server is MariaDB
    /// (CLIENT_MYSQL clear) and offers it; then a column count carries a "metadata follows"
    /// byte, and an execute that skips its column definitions decodes with the cached ones.
    @Test func mariaDBMetadataCaching() throws {
        let mysqlGreeting = HandshakeV10(
            serverVersion: "8.4.3", connectionID: 77, authPluginData: Self.nonce, capabilities: Self.serverCaps,
            mariaDBExtendedCapabilities: MariaDBCapability.cacheMetadata
        ).encoded()
        var mysql = Machine(settings: Machine.Settings(username: "lab", password: "lab"))
        let mysqlResponse = try HandshakeResponse41.decode(Self.sent(mysql.packetReceived(MySQLPacket(sequenceID: 0, payload: mysqlGreeting)))[0].payload)
        #expect(mysqlResponse.mariaDBCapabilities == 0)

        let caps = Self.serverCaps.subtracting(.longPassword)
        let greeting = HandshakeV10(
            serverVersion: "5.5.5-10.11.19-MariaDB", connectionID: 77, authPluginData: Self.nonce, capabilities: caps,
            mariaDBExtendedCapabilities: 0x1d
        ).encoded()
        var machine = Machine(settings: Machine.Settings(username: "lab", password: "lab"))
        let response = try HandshakeResponse41.decode(Self.sent(machine.packetReceived(MySQLPacket(sequenceID: 0, payload: greeting)))[0].payload)
        #expect(response.mariaDBCapabilities == MariaDBCapability.cacheMetadata)
        #expect(!response.capabilities.contains(.longPassword))
        guard case .authenticated = machine.packetReceived(MySQLPacket(sequenceID: 2, payload: OKPacket().encoded())) else {
            Issue.record("not authenticated")
            return
        }

        _ = machine.startCommand(.prepare("SELECT a, b FROM t WHERE a = ?"))
        let param = ColumnDefinition41(name: "?", type: .longlong)
        let prepared = Self.feed(&machine, [
            StmtPrepareOK(statementID: 5, columnCount: 2, parameterCount: 1).encoded(),
            param.encoded(), Self.columnA.encoded(), Self.columnB.encoded(),
        ])
        guard case let .complete(.prepared(statement), _)? = prepared.last else {
            Issue.record("expected a statement, got \(String(describing: prepared.last))")
            return
        }
        let row: [MySQLValue] = [.int(7), .string("seven")]
        let rowPayload = BinaryResultRow.encoded(values: row, columns: [Self.columnA, Self.columnB])
        let end = OKPacket(header: 0xfe).encoded()

        // Metadata skipped: the prepare's columns are used.
        _ = machine.startCommand(.execute(statement, [.int(7)]))
        var actions = Self.feed(&machine, [[2, 0], rowPayload, end])
        guard case let .complete(.result(skipped), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(skipped.columns == [Self.columnA, Self.columnB])
        #expect(skipped.rows == [row])

        // Metadata sent again (the table changed): decoded, and cached for the next execute.
        let columnC = ColumnDefinition41(name: "c", type: .long)
        let wider: [MySQLValue] = [.int(7), .string("seven"), .int(3)]
        let widerPayload = BinaryResultRow.encoded(values: wider, columns: [Self.columnA, Self.columnB, columnC])
        _ = machine.startCommand(.execute(statement, [.int(7)]))
        actions = Self.feed(&machine, [[3, 1], Self.columnA.encoded(), Self.columnB.encoded(), columnC.encoded(), widerPayload, end])
        guard case let .complete(.result(sent), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(sent.rows == [wider])
        _ = machine.startCommand(.execute(statement, [.int(7)]))
        actions = Self.feed(&machine, [[3, 0], widerPayload, end])
        guard case let .complete(.result(cached), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(cached.columns == [Self.columnA, Self.columnB, columnC])
        #expect(cached.rows == [wider])

        // Text results carry the byte too (always 1); a skip with nothing cached is a violation.
        _ = machine.startCommand(.query("SELECT a, b"))
        actions = Self.feed(&machine, [[2, 1], Self.columnA.encoded(), Self.columnB.encoded(), end])
        guard case .complete(.result, _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        _ = machine.startCommand(.query("SELECT a, b"))
        guard case .closeConnection(.protocolViolation)? = Self.feed(&machine, [[2, 0]]).last else {
            Issue.record("a text result without metadata must be refused")
            return
        }
    }

    @Test func multipleResultSetsFollowTheMoreResultsFlag() {
        var machine = Self.authenticated()
        _ = machine.startCommand(.query("CALL p()"))
        let more: MySQLServerStatus = [.autocommit, .moreResultsExist]
        let payloads = Self.resultSet(rows: [[.int(1), .string("a")]], deprecateEOF: true, status: more)
            + Self.resultSet(rows: [[.int(2), .string("b")]], deprecateEOF: true, status: more)
            + [OKPacket(affectedRows: 3, lastInsertID: 9, statusFlags: .autocommit).encoded()]
        let actions = Self.feed(&machine, payloads)
        guard case let .complete(.result(result), _)? = actions.last else {
            Issue.record("expected a result, got \(String(describing: actions.last))")
            return
        }
        #expect(result.resultSets.count == 3)
        #expect(result.resultSets[0].rows == [[.int(1), .string("a")]])
        #expect(result.resultSets[1].rows == [[.int(2), .string("b")]])
        #expect(result.resultSets[2].affectedRows == 3)
        #expect(result.resultSets[2].lastInsertID == 9)
        #expect(machine.isReady)
    }

    @Test func errorMidResultSetFailsTheCommandOnly() {
        var machine = Self.authenticated()
        _ = machine.startCommand(.query("SELECT 1; SELECT * FROM missing"))
        let error = MySQLServerError(code: .noSuchTable, sqlState: "42S02", message: "Table 'lab.missing' doesn't exist")
        let payloads = Self.resultSet(rows: [[.int(1), .null]], deprecateEOF: true, status: [.autocommit, .moreResultsExist]) + [ERRPacket(error).encoded()]
        let actions = Self.feed(&machine, payloads)
        #expect(actions.last == .commandFailed(.server(error)))
        #expect(machine.isReady)
        // And the next command works.
        guard case .send = machine.startCommand(.ping) else {
            Issue.record("not ready after the error")
            return
        }
        guard case .complete(.ok, _) = machine.packetReceived(MySQLPacket(sequenceID: 1, payload: OKPacket().encoded())) else {
            Issue.record("ping not completed")
            return
        }
    }

    @Test func unexpectedAndMalformedPacketsAreFatal() {
        var idle = Self.authenticated()
        #expect(idle.packetReceived(MySQLPacket(sequenceID: 3, payload: OKPacket().encoded()))
                == .closeConnection(.protocolViolation(.unexpectedPacket(state: "idle", firstByte: 0, length: 7))))

        var machine = Self.authenticated()
        _ = machine.startCommand(.query("SELECT 1"))
        let action = machine.packetReceived(MySQLPacket(sequenceID: 1, payload: [0xfc, 0x01]))  // truncated column count
        guard case .closeConnection(.protocolViolation(.decoding(message: "column count", _))) = action else {
            Issue.record("expected a decoding error, got \(action)")
            return
        }
        #expect(machine.isClosed)
        #expect(machine.startCommand(.ping) == .commandFailed(.connectionClosed))
    }

    @Test func commandsWhileBusyAreRefused() {
        var machine = Self.authenticated()
        _ = machine.startCommand(.query("SELECT SLEEP(1)"))
        guard case .commandFailed(.invalidArgument) = machine.startCommand(.ping) else {
            Issue.record("second command accepted while one is in flight")
            return
        }
    }

    @Test func quitClosesWithoutAReply() {
        var machine = Self.authenticated()
        #expect(machine.startCommand(.quit) == .complete(.noReply, send: MySQLPacket(sequenceID: 0, payload: [0x01]).encoded()))
        #expect(machine.isClosed)
    }
}

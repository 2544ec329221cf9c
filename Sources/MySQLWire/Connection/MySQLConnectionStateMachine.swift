import WireCore

/// The protocol state of one MySQL connection, as a value: it consumes packets (and the
/// outcome of a TLS upgrade) and returns what to do. No I/O, no clock, no locks; the
/// connection drives it and tests drive it with bytes.
///
/// handshake → [SSLRequest → TLS] → HandshakeResponse41 → auth (switch, more data)* → ready
/// → command in flight (result sets: column count, columns, [EOF], rows, EOF/OK, and again
/// while SERVER_MORE_RESULTS_EXISTS) → ready …
public struct MySQLConnectionStateMachine: Sendable {
    public enum TLSMode: Sendable, Hashable {
        case disabled
        /// TLS when the server offers it, plain otherwise.
        case preferred
        case required
    }

    public struct Settings: Sendable {
        public var username: String
        public var password: String
        public var database: String?
        public var tls: TLSMode
        /// The server's RSA public key (PEM) for caching_sha2_password over plain TCP; when nil
        /// it is requested from the server.
        public var serverPublicKeyPEM: [UInt8]?
        public var attributes: [(key: String, value: String)]
        public var maxPacketSize: UInt32

        public init(
            username: String, password: String, database: String? = nil, tls: TLSMode = .disabled,
            serverPublicKeyPEM: [UInt8]? = nil, attributes: [(key: String, value: String)] = [("_client_name", "MySQLWire")],
            maxPacketSize: UInt32 = 0x0100_0000
        ) {
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.serverPublicKeyPEM = serverPublicKeyPEM
            self.attributes = attributes
            self.maxPacketSize = maxPacketSize
        }
    }

    /// What the server told us in the handshake, once authenticated.
    public struct SessionInfo: Sendable, Hashable {
        public var connectionID: UInt32
        public var serverVersion: String
        public var capabilities: MySQLCapabilities
        public var isTLS: Bool
        public var authPlugin: String
    }

    public enum Command: Sendable, Hashable {
        case query(String)
        case prepare(String)
        case execute(MySQLPreparedStatement, [MySQLValue])
        case closeStatement(UInt32)
        case resetStatement(UInt32)
        case ping
        case resetConnection
        case quit
    }

    public enum CommandResult: Sendable, Hashable {
        case result(MySQLResult)
        case prepared(MySQLPreparedStatement)
        case ok(OKPacket)
        /// Commands the server does not answer (COM_STMT_CLOSE, COM_QUIT).
        case noReply
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Write these (framed) bytes.
        case send([UInt8])
        /// Write the framed SSLRequest, upgrade the channel to TLS, then call `tlsEstablished()`.
        case sendSSLRequestAndStartTLS([UInt8])
        case authenticated(SessionInfo)
        /// Write these bytes (when not empty); the command is complete.
        case complete(CommandResult, send: [UInt8])
        /// The command failed; the connection is ready for the next one.
        case commandFailed(MySQLError)
        /// Fatal: report the error and close the connection.
        case closeConnection(MySQLError)
    }

    enum AuthPhase: Sendable {
        case initial
        case cachingSHA2AwaitingResult
        case cachingSHA2AwaitingPublicKey
        case awaitingOK
    }

    struct AuthState: Sendable {
        var plugin: String
        var nonce: [UInt8]
        var phase: AuthPhase
    }

    enum ResultPhase: Sendable {
        case first
        /// Column definitions until `ResultReading.columnsSeen` reaches `columnCount`.
        case columns
        case columnsEOF
        case rows
    }

    enum PreparePhase: Sendable {
        case first
        case parameters(remaining: Int)
        case parametersEOF
        case columns(remaining: Int)
        case columnsEOF
    }

    struct ResultReading: Sendable {
        var binary = false
        /// The prepared statement being executed (binary results).
        var statementID: UInt32? = nil
        var phase: ResultPhase = .first
        var current = MySQLResultSet()
        /// Finished result sets: the first apart, as most commands have only one.
        var first: MySQLResultSet?
        var more: [MySQLResultSet] = []
        /// Column definitions announced and received so far in the current result set.
        var columnCount = 0
        var columnsSeen = 0
        /// Set at the first column that differs from `recentColumns` at its position: from
        /// there on the columns are collected into `current.columns`.
        var collectingColumns = false
        /// A column was not remembered in `recentColumns` (too many, or too large).
        var uncachedColumn = false
    }

    struct PrepareReading: Sendable {
        var sql: String
        var phase: PreparePhase = .first
        var ok = StmtPrepareOK(statementID: 0, columnCount: 0, parameterCount: 0)
        var parameters: [ColumnDefinition41] = []
        var columns: [ColumnDefinition41] = []
    }

    /// What the command in flight waits for. Its progress lives in `resultReading` or
    /// `prepareReading`, outside the enum, so each packet updates it in place instead of
    /// copying an enum payload out and back.
    enum CommandKind: Sendable {
        case result
        case prepare
        case okOnly(StaticString)
    }

    enum State: Sendable {
        case awaitingHandshake
        case awaitingTLS(HandshakeV10)
        case authenticating(AuthState)
        case ready
        case command(CommandKind)
        case closed
    }

    public let settings: Settings
    private(set) var state: State = .awaitingHandshake
    private(set) var handshake: HandshakeV10?
    public private(set) var capabilities: MySQLCapabilities = []
    /// MariaDB's extended capabilities in effect (`MariaDBCapability`); 0 with MySQL.
    public private(set) var mariaDBCapabilities: UInt32 = 0
    /// Under MariaDB's cache-metadata capability: the result columns the server believes this
    /// connection holds for each prepared statement (from the prepare, replaced whenever an
    /// execute sends them again), used when an execute skips them.
    private var cachedStatementColumns = StatementColumnCache()
    public private(set) var isTLS = false
    /// The result reply being read (see `CommandKind`).
    private var resultReading = ResultReading()
    private var prepareReading = PrepareReading(sql: "")
    /// A decoded result column definition with its wire bytes.
    private struct RememberedColumn {
        var payload: [UInt8]
        var column: ColumnDefinition41
    }
    /// Recently decoded result column definitions with their wire bytes, by position. A struct,
    /// not a tuple: reading one field of a tuple element copied and destroyed the whole tuple
    /// (six strings) through run-time type metadata on every reply.
    private var recentColumns: [RememberedColumn] = []
    /// The columns of `recentColumns[0..<count]` as the array a result set carries, handed out
    /// again (no allocation, no copies) while a repeated query sends the same definitions.
    /// Emptied whenever one of those positions changes.
    private var recentColumnArray: [ColumnDefinition41] = []
    /// The last command's framed bytes (see `startCommand`).
    private var sendScratch: [UInt8] = []
    /// Sequence id the next packet from the server must carry.
    private(set) var expectedSequence: UInt8 = 0

    public init(settings: Settings) {
        self.settings = settings
    }

    public var isReady: Bool { if case .ready = state { return true } else { return false } }
    public var isClosed: Bool { if case .closed = state { return true } else { return false } }
    public var commandInFlight: Bool { if case .command = state { return true } else { return false } }
    var deprecateEOF: Bool { capabilities.contains(.deprecateEOF) }
    var cacheMetadata: Bool { mariaDBCapabilities & MariaDBCapability.cacheMetadata != 0 }

    // MARK: Handshake and authentication

    public mutating func packetReceived(_ packet: MySQLPacket) -> Action {
        if case .closed = state { return .none }
        if packet.sequenceID != expectedSequence {
            return fail(.protocolViolation(.sequenceMismatch(expected: expectedSequence, received: packet.sequenceID)))
        }
        expectedSequence = packet.nextSequenceID
        do throws(MySQLError) {
            switch state {
            case .awaitingHandshake:
                return try handshakeReceived(packet.payload)
            case .awaitingTLS:
                throw .protocolViolation(.unexpectedPacket(state: "waiting for the TLS upgrade", firstByte: packet.header, length: packet.payload.count))
            case let .authenticating(auth):
                return try authPacketReceived(packet.payload, auth: auth)
            case .ready:
                throw .protocolViolation(.unexpectedPacket(state: "idle", firstByte: packet.header, length: packet.payload.count))
            case let .command(kind):
                return try commandPacketReceived(packet.payload, kind: kind)
            case .closed:
                return .none
            }
        } catch {
            return fail(error)
        }
    }

    /// `packetReceived` for a one-frame packet still in the receive buffer, `bytes[start..<end]`.
    /// The packets of a result reply (column count, column definitions, rows, the closing
    /// EOF or OK: nearly every packet a client receives) are decoded where they lie, copying
    /// out only what is kept; any other packet is copied and goes through `packetReceived`.
    public mutating func packetReceived(sequenceID: UInt8, in bytes: [UInt8], from start: Int, to end: Int) -> Action {
        guard case .command(.result) = state else {
            return packetReceived(MySQLPacket(sequenceID: sequenceID, payload: Array(bytes[start..<end])))
        }
        if sequenceID != expectedSequence {
            return fail(.protocolViolation(.sequenceMismatch(expected: expectedSequence, received: sequenceID)))
        }
        expectedSequence = sequenceID &+ 1
        do throws(MySQLError) {
            return try resultPacketReceived(bytes, from: start, to: end)
        } catch {
            return fail(error)
        }
    }

    private mutating func fail(_ error: MySQLError) -> Action {
        state = .closed
        return .closeConnection(error)
    }

    private mutating func handshakeReceived(_ payload: [UInt8]) throws(MySQLError) -> Action {
        if ERRPacket.isERR(payload) {
            // e.g. 1040 too many connections, 1129 host blocked: sent instead of a greeting.
            throw .server(try protocolCall { () throws(MySQLProtocolError) in try ERRPacket.decode(payload) }.error)
        }
        let greeting = try protocolCall { () throws(MySQLProtocolError) in try HandshakeV10.decode(payload) }
        guard greeting.capabilities.contains(.protocol41) else {
            throw .protocolViolation(.unsupported("server without CLIENT_PROTOCOL_41 (\(greeting.serverVersion))"))
        }
        handshake = greeting
        var caps = MySQLCapabilities.clientDefault.intersection(greeting.capabilities)
        caps.insert(.protocol41)
        if settings.database != nil && greeting.capabilities.contains(.connectWithDB) {
            caps.insert(.connectWithDB)
        } else {
            caps.remove(.connectWithDB)
        }
        if greeting.capabilities.contains(.connectAttrs) && !settings.attributes.isEmpty { caps.insert(.connectAttrs) }
        // MariaDB (CLIENT_MYSQL clear): let executes skip result metadata the connection already
        // has, as libmariadb does (half the bytes of a point SELECT's reply, and no column
        // definitions to decode). Only with CLIENT_DEPRECATE_EOF, the combination read below.
        if !greeting.capabilities.contains(.longPassword) && caps.contains(.deprecateEOF) {
            mariaDBCapabilities = greeting.mariaDBExtendedCapabilities & MariaDBCapability.cacheMetadata
        }
        let serverTLS = greeting.capabilities.contains(.ssl)
        let useTLS: Bool
        switch settings.tls {
        case .disabled: useTLS = false
        case .preferred: useTLS = serverTLS
        case .required:
            guard serverTLS else { throw .tlsUnavailable }
            useTLS = true
        }
        guard useTLS else {
            capabilities = caps
            return try sendHandshakeResponse(greeting)
        }
        caps.insert(.ssl)
        capabilities = caps
        state = .awaitingTLS(greeting)
        var bytes: [UInt8] = []
        let request = SSLRequest(capabilities: caps, maxPacketSize: settings.maxPacketSize, mariaDBCapabilities: mariaDBCapabilities)
        expectedSequence = MySQLPacket.encode(payload: request.encoded(), sequenceID: expectedSequence, into: &bytes)
        return .sendSSLRequestAndStartTLS(bytes)
    }

    /// The channel now speaks TLS: send the real handshake response.
    public mutating func tlsEstablished() -> Action {
        guard case let .awaitingTLS(greeting) = state else {
            return fail(.protocolViolation(.unexpectedPacket(state: "TLS established outside the upgrade", firstByte: nil, length: 0)))
        }
        isTLS = true
        do throws(MySQLError) {
            return try sendHandshakeResponse(greeting)
        } catch {
            return fail(error)
        }
    }

    private mutating func sendHandshakeResponse(_ greeting: HandshakeV10) throws(MySQLError) -> Action {
        let requested = greeting.authPluginName ?? MySQLNativePassword.name
        // An unknown default plugin: answer as mysql_native_password; the server switches us
        // to what the account really uses.
        let plugin = MySQLAuthPlugin(name: requested) ?? .nativePassword
        let response = try authCall { () throws(MySQLAuthenticationError) in
            try plugin.initialResponse(password: settings.password, nonce: greeting.authPluginData, secure: isTLS)
        }
        let message = HandshakeResponse41(
            capabilities: capabilities, maxPacketSize: settings.maxPacketSize, username: settings.username,
            authResponse: response, database: capabilities.contains(.connectWithDB) ? settings.database : nil,
            authPluginName: plugin.name, attributes: capabilities.contains(.connectAttrs) ? settings.attributes : [],
            mariaDBCapabilities: mariaDBCapabilities
        )
        state = .authenticating(AuthState(plugin: plugin.name, nonce: greeting.authPluginData, phase: .initial))
        // Encoded after the 4-byte header placeholder and framed in place: one array.
        var writer = ByteWriter(capacity: 160)
        writer.writeZeros(4)
        message.encode(into: &writer)
        return .send(frameInPlace(&writer))
    }

    private mutating func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        expectedSequence = MySQLPacket.encode(payload: payload, sequenceID: expectedSequence, into: &bytes)
        return bytes
    }

    /// Frames a payload written after a 4-byte placeholder at the start of `writer`.
    private mutating func frameInPlace(_ writer: inout ByteWriter) -> [UInt8] {
        let length = writer.bytes.count - 4
        guard length < MySQLPacket.maxFrameLength else {
            return frame(Array(writer.bytes[4...]))
        }
        writer.bytes[0] = UInt8(truncatingIfNeeded: length)
        writer.bytes[1] = UInt8(truncatingIfNeeded: length >> 8)
        writer.bytes[2] = UInt8(truncatingIfNeeded: length >> 16)
        writer.bytes[3] = expectedSequence
        expectedSequence &+= 1
        if writer.bytes.capacity <= 4096 { sendScratch = writer.bytes }
        return writer.bytes
    }

    private mutating func authPacketReceived(_ payload: [UInt8], auth: AuthState) throws(MySQLError) -> Action {
        guard let header = payload.first else {
            throw .protocolViolation(.unexpectedPacket(state: "authenticating", firstByte: nil, length: 0))
        }
        switch header {
        case 0x00:
            let ok = try protocolCall { () throws(MySQLProtocolError) in try OKPacket.decode(payload, capabilities: capabilities) }
            _ = ok
            state = .ready
            return .authenticated(SessionInfo(
                connectionID: handshake?.connectionID ?? 0, serverVersion: handshake?.serverVersion ?? "",
                capabilities: capabilities, isTLS: isTLS, authPlugin: auth.plugin
            ))
        case 0xff:
            throw .server(try protocolCall { () throws(MySQLProtocolError) in try ERRPacket.decode(payload) }.error)
        case 0xfe:
            let request = try protocolCall { () throws(MySQLProtocolError) in try AuthSwitchRequest.decode(payload) }
            guard let plugin = MySQLAuthPlugin(name: request.pluginName) else {
                throw .authentication(.unsupportedPlugin(request.pluginName))
            }
            // Raw plugin data: an ed25519 nonce may legitimately end in 0x00.
            let nonce = plugin == .clientEd25519 ? request.pluginData : request.nonce
            let response = try authCall { () throws(MySQLAuthenticationError) in
                try plugin.initialResponse(password: settings.password, nonce: nonce, secure: isTLS)
            }
            state = .authenticating(AuthState(plugin: plugin.name, nonce: nonce, phase: .initial))
            return .send(frame(response))
        case 0x01:
            let more = try protocolCall { () throws(MySQLProtocolError) in try AuthMoreData.decode(payload) }
            guard auth.plugin == MySQLCachingSHA2Password.name else {
                throw .protocolViolation(.unexpectedPacket(state: "authenticating with \(auth.plugin)", firstByte: header, length: payload.count))
            }
            if auth.phase == .cachingSHA2AwaitingPublicKey {
                let encrypted = try authCall { () throws(MySQLAuthenticationError) in
                    try MySQLCachingSHA2Password.encryptPassword(settings.password, nonce: auth.nonce, publicKeyPEM: more.data)
                }
                state = .authenticating(AuthState(plugin: auth.plugin, nonce: auth.nonce, phase: .awaitingOK))
                return .send(frame(encrypted))
            }
            switch more.data.first {
            case AuthMoreData.fastAuthSuccess:
                state = .authenticating(AuthState(plugin: auth.plugin, nonce: auth.nonce, phase: .awaitingOK))
                return .none
            case AuthMoreData.performFullAuthentication:
                if isTLS {
                    state = .authenticating(AuthState(plugin: auth.plugin, nonce: auth.nonce, phase: .awaitingOK))
                    return .send(frame(MySQLCachingSHA2Password.cleartext(password: settings.password)))
                }
                if let pem = settings.serverPublicKeyPEM {
                    let encrypted = try authCall { () throws(MySQLAuthenticationError) in
                        try MySQLCachingSHA2Password.encryptPassword(settings.password, nonce: auth.nonce, publicKeyPEM: pem)
                    }
                    state = .authenticating(AuthState(plugin: auth.plugin, nonce: auth.nonce, phase: .awaitingOK))
                    return .send(frame(encrypted))
                }
                state = .authenticating(AuthState(plugin: auth.plugin, nonce: auth.nonce, phase: .cachingSHA2AwaitingPublicKey))
                return .send(frame(MySQLCachingSHA2Password.requestPublicKey))
            default:
                throw .protocolViolation(.unexpectedPacket(state: "caching_sha2_password status", firstByte: more.data.first, length: payload.count))
            }
        default:
            throw .protocolViolation(.unexpectedPacket(state: "authenticating", firstByte: header, length: payload.count))
        }
    }

    // MARK: Commands

    /// Starts a command; returns `.send` with its bytes, or a failure if the connection is not
    /// ready (the caller serialises commands).
    public mutating func startCommand(_ command: Command) -> Action {
        switch state {
        case .ready: break
        case .closed: return .commandFailed(.connectionClosed)
        default: return .commandFailed(.invalidArgument("a command is already in flight or the connection is not authenticated"))
        }
        expectedSequence = 0
        // The payload is encoded after a 4-byte header placeholder, filled in by
        // `frameInPlace` (no second array and copy), into the previous command's array,
        // reused once the connection has written and dropped it (no allocation per command).
        var writer = ByteWriter(capacity: 0)
        writer.bytes = sendScratch
        sendScratch = []
        writer.bytes.removeAll(keepingCapacity: true)
        writer.bytes.reserveCapacity(64)
        writer.writeZeros(4)
        switch command {
        case let .query(sql):
            COMQuery(sql: sql).encode(into: &writer)
            resultReading = ResultReading()
            state = .command(.result)
        case let .prepare(sql):
            COMStmtPrepare(sql: sql).encode(into: &writer)
            prepareReading = PrepareReading(sql: sql)
            state = .command(.prepare)
        case let .execute(statement, parameters):
            guard parameters.count == statement.parameters.count else {
                return .commandFailed(.invalidArgument("statement has \(statement.parameters.count) parameters, \(parameters.count) given"))
            }
            COMStmtExecute(statementID: statement.id, parameters: parameters).encode(into: &writer)
            resultReading = ResultReading(binary: true, statementID: statement.id)
            state = .command(.result)
        case let .closeStatement(id):
            cachedStatementColumns[id] = nil
            COMStmtClose(statementID: id).encode(into: &writer)
            return .complete(.noReply, send: frameInPlace(&writer))
        case let .resetStatement(id):
            COMStmtReset(statementID: id).encode(into: &writer)
            state = .command(.okOnly("COM_STMT_RESET"))
        case .ping:
            COMPing().encode(into: &writer)
            state = .command(.okOnly("COM_PING"))
        case .resetConnection:
            cachedStatementColumns.removeAll()  // the server drops prepared statements
            COMResetConnection().encode(into: &writer)
            state = .command(.okOnly("COM_RESET_CONNECTION"))
        case .quit:
            COMQuit().encode(into: &writer)
            state = .closed
            return .complete(.noReply, send: frameInPlace(&writer))
        }
        return .send(frameInPlace(&writer))
    }

    private mutating func commandFailed(_ payload: [UInt8]) throws(MySQLError) -> Action {
        let error = try protocolCall { () throws(MySQLProtocolError) in try ERRPacket.decode(payload) }.error
        resultReading = ResultReading()  // drop rows of result sets before the error
        state = .ready
        return .commandFailed(.server(error))
    }

    private mutating func commandPacketReceived(_ payload: [UInt8], kind: CommandKind) throws(MySQLError) -> Action {
        switch kind {
        case let .okOnly(name):
            if ERRPacket.isERR(payload) { return try commandFailed(payload) }
            guard payload.first == 0x00 else {
                throw .protocolViolation(.unexpectedPacket(state: "waiting for the OK to \(name)", firstByte: payload.first, length: payload.count))
            }
            let ok = try protocolCall { () throws(MySQLProtocolError) in try OKPacket.decode(payload, capabilities: capabilities) }
            state = .ready
            return .complete(.ok(ok), send: [])
        case .result:
            return try resultPacketReceived(payload, from: 0, to: payload.count)
        case .prepare:
            // Not a hot path: taken out and put back around the call (no overlapping access).
            var reading = prepareReading
            prepareReading = PrepareReading(sql: "")
            defer { if case .command(.prepare) = state { prepareReading = reading } }
            return try preparePacketReceived(payload, reading: &reading)
        }
    }

    /// A packet of a result reply, `bytes[start..<end]`: where it was received, or a whole
    /// array. Error offsets count from the start of `bytes`.
    private mutating func resultPacketReceived(_ bytes: [UInt8], from start: Int, to end: Int) throws(MySQLError) -> Action {
        let length = end - start
        let header: UInt8? = length > 0 ? bytes[start] : nil
        switch resultReading.phase {
        case .first:
            if ERRPacket.isERR(bytes, from: start, to: end) { return try commandFailed(Array(bytes[start..<end])) }
            if header == 0x00 {
                let ok = try protocolCall(payloadAt: start) { () throws(MySQLProtocolError) in try OKPacket.decode(bytes, from: start, to: end, capabilities: capabilities) }
                return finishResultSet(ok: ok)
            }
            if header == 0xfb {
                throw .protocolViolation(.unsupported("LOCAL INFILE request (CLIENT_LOCAL_FILES was not offered)"))
            }
            let withFlag = cacheMetadata
            let (count, metadataFollows) = try protocolCall(payloadAt: start) { () throws(MySQLProtocolError) -> (Int, Bool) in
                try decodingMessage("column count") { () throws(WireDecodingError) -> (Int, Bool) in
                    var reader = ByteReader(bytes, from: start, to: end)
                    let value = try reader.readLengthEncodedInteger("column count")
                    // MariaDB cache-metadata: a "metadata follows" byte.
                    let follows = withFlag ? try reader.readUInt8("metadata follows") != 0 : true
                    guard reader.isAtEnd, value > 0, value <= 4096 else {
                        throw .malformed(field: "column count", reason: "\(value) (\(length) bytes)", offset: start)
                    }
                    return (Int(value), follows)
                }
            }
            if !metadataFollows {
                guard resultReading.binary, resultReading.first == nil, let id = resultReading.statementID,
                      let columns = cachedStatementColumns[id], columns.count == count
                else {
                    throw .protocolViolation(.unexpectedPacket(
                        state: "a result set without column definitions and none cached for it", firstByte: header, length: length
                    ))
                }
                // No EOF follows: metadata caching is only used with CLIENT_DEPRECATE_EOF.
                resultReading.current.columns = columns
                resultReading.phase = .rows
                return .none
            }
            resultReading.columnCount = count
            resultReading.columnsSeen = 0
            resultReading.collectingColumns = false
            resultReading.uncachedColumn = false
            resultReading.phase = .columns
            return .none
        case .columns:
            try resultColumnReceived(bytes, from: start, to: end)
            if resultReading.columnsSeen == resultReading.columnCount {
                finishColumns()
                if cacheMetadata, resultReading.binary, resultReading.first == nil, let id = resultReading.statementID {
                    cachedStatementColumns[id] = resultReading.current.columns
                }
                resultReading.phase = deprecateEOF ? .rows : .columnsEOF
            }
            return .none
        case .columnsEOF:
            guard EOFPacket.isEOF(bytes, from: start, to: end) else {
                throw .protocolViolation(.unexpectedPacket(state: "waiting for the EOF after column definitions", firstByte: header, length: length))
            }
            resultReading.phase = .rows
            return .none
        case .rows:
            if header == 0xfe && length < 0xff_ffff {
                // End of rows: EOF, or an OK with header 0xFE under CLIENT_DEPRECATE_EOF.
                if deprecateEOF {
                    let ok = try protocolCall(payloadAt: start) { () throws(MySQLProtocolError) in try OKPacket.decode(bytes, from: start, to: end, capabilities: capabilities) }
                    return finishResultSet(ok: ok)
                }
                let eof = try protocolCall { () throws(MySQLProtocolError) in try EOFPacket.decode(Array(bytes[start..<end])) }
                return finishResultSet(ok: OKPacket(header: 0xfe, statusFlags: eof.statusFlags, warnings: eof.warnings))
            }
            if ERRPacket.isERR(bytes, from: start, to: end) { return try commandFailed(Array(bytes[start..<end])) }
            let row: [MySQLValue]
            if resultReading.binary {
                row = try protocolCall(payloadAt: start) { () throws(MySQLProtocolError) in
                    try BinaryResultRow.decodeValues(bytes, from: start, to: end, columns: resultReading.current.columns)
                }
            } else {
                row = try protocolCall(payloadAt: start) { () throws(MySQLProtocolError) in
                    try TextResultRow.decodeValues(bytes, from: start, to: end, columns: resultReading.current.columns)
                }
            }
            if resultReading.current.rows.isEmpty {
                // A one-element literal allocates the array directly; the first append to an
                // empty array goes through the generic growth path (about 400 instructions
                // of a point SELECT's 10,000).
                resultReading.current.rows = [row]
            } else {
                resultReading.current.rows.append(row)
            }
            return .none
        }
    }

    /// A column definition of the current result set. While every definition so far equals
    /// the one remembered at its position (a repeated query), nothing is decoded or copied;
    /// at the first difference the columns start being collected.
    private mutating func resultColumnReceived(_ bytes: [UInt8], from start: Int, to end: Int) throws(MySQLError) {
        let index = resultReading.columnsSeen
        resultReading.columnsSeen += 1
        if !resultReading.collectingColumns {
            if index < recentColumns.count, recentColumns[index].payload.hasSameBytes(as: bytes, from: start, to: end) { return }
            // Every earlier position matched, so `index <= recentColumns.count`.
            resultReading.collectingColumns = true
            var columns: [ColumnDefinition41] = []
            columns.reserveCapacity(resultReading.columnCount)
            for position in 0..<index { columns.append(recentColumns[position].column) }
            resultReading.current.columns = columns
        }
        let column = try resultColumn(Array(bytes[start..<end]), at: index)
        resultReading.current.columns.append(column)
    }

    /// Sets the current result set's columns once the last definition has arrived.
    private mutating func finishColumns() {
        let count = resultReading.columnCount
        if resultReading.collectingColumns {
            let allRemembered = !resultReading.uncachedColumn && count <= recentColumns.count
            recentColumnArray = allRemembered ? resultReading.current.columns : []
            return
        }
        if recentColumnArray.count != count {
            recentColumnArray = recentColumns[0..<count].map(\.column)
        }
        resultReading.current.columns = recentColumnArray
    }

    /// Decodes a result column definition and remembers it with its bytes at its position, so
    /// that the next result with the same definitions skips decoding (six strings each).
    private mutating func resultColumn(_ payload: [UInt8], at index: Int) throws(MySQLError) -> ColumnDefinition41 {
        let column = try protocolCall { () throws(MySQLProtocolError) in try ColumnDefinition41.decode(payload) }
        guard payload.count <= 1024 else {
            resultReading.uncachedColumn = true
            return column
        }
        if index < recentColumns.count {
            recentColumns[index] = RememberedColumn(payload: payload, column: column)
            if index < recentColumnArray.count { recentColumnArray = [] }
        } else if index == recentColumns.count && index < 64 {
            recentColumns.append(RememberedColumn(payload: payload, column: column))
        } else {
            resultReading.uncachedColumn = true
        }
        return column
    }

    private mutating func finishResultSet(ok: OKPacket) -> Action {
        var finished = MySQLResultSet()
        swap(&finished, &resultReading.current)
        finished.affectedRows = ok.affectedRows
        finished.lastInsertID = ok.lastInsertID
        finished.warnings = ok.warnings
        finished.statusFlags = ok.statusFlags
        finished.info = ok.info
        if ok.statusFlags.contains(.moreResultsExist) {
            if resultReading.first == nil {
                resultReading.first = finished
            } else {
                resultReading.more.append(finished)
            }
            resultReading.phase = .first
            return .none
        }
        state = .ready
        // The usual reply has one result set: handed over as it is, no array, no copies.
        guard let first = resultReading.first.take() else {
            return .complete(.result(MySQLResult(first: finished)), send: [])
        }
        var more = resultReading.more
        resultReading.more = []
        more.append(finished)
        return .complete(.result(MySQLResult(first: first, more: more)), send: [])
    }

    private mutating func preparePacketReceived(_ payload: [UInt8], reading: inout PrepareReading) throws(MySQLError) -> Action {
        switch reading.phase {
        case .first:
            if ERRPacket.isERR(payload) { return try commandFailed(payload) }
            reading.ok = try protocolCall { () throws(MySQLProtocolError) in try StmtPrepareOK.decode(payload) }
            if reading.ok.parameterCount > 0 {
                reading.phase = .parameters(remaining: Int(reading.ok.parameterCount))
            } else if reading.ok.columnCount > 0 {
                reading.phase = .columns(remaining: Int(reading.ok.columnCount))
            } else {
                return finishPrepare(reading)
            }
        case let .parameters(remaining):
            reading.parameters.append(try protocolCall { () throws(MySQLProtocolError) in try ColumnDefinition41.decode(payload) })
            if remaining > 1 {
                reading.phase = .parameters(remaining: remaining - 1)
            } else if !deprecateEOF {
                reading.phase = .parametersEOF
            } else if reading.ok.columnCount > 0 {
                reading.phase = .columns(remaining: Int(reading.ok.columnCount))
            } else {
                return finishPrepare(reading)
            }
        case .parametersEOF:
            guard EOFPacket.isEOF(payload) else {
                throw .protocolViolation(.unexpectedPacket(state: "waiting for the EOF after parameter definitions", firstByte: payload.first, length: payload.count))
            }
            if reading.ok.columnCount > 0 {
                reading.phase = .columns(remaining: Int(reading.ok.columnCount))
            } else {
                return finishPrepare(reading)
            }
        case let .columns(remaining):
            reading.columns.append(try protocolCall { () throws(MySQLProtocolError) in try ColumnDefinition41.decode(payload) })
            if remaining > 1 {
                reading.phase = .columns(remaining: remaining - 1)
            } else if !deprecateEOF {
                reading.phase = .columnsEOF
            } else {
                return finishPrepare(reading)
            }
        case .columnsEOF:
            guard EOFPacket.isEOF(payload) else {
                throw .protocolViolation(.unexpectedPacket(state: "waiting for the EOF after column definitions", firstByte: payload.first, length: payload.count))
            }
            return finishPrepare(reading)
        }
        return .none
    }

    private mutating func finishPrepare(_ reading: PrepareReading) -> Action {
        if cacheMetadata { cachedStatementColumns[reading.ok.statementID] = reading.columns }
        state = .ready
        return .complete(.prepared(MySQLPreparedStatement(
            id: reading.ok.statementID, sql: reading.sql, parameters: reading.parameters, columns: reading.columns,
            connectionID: handshake?.connectionID ?? 0
        )), send: [])
    }

    /// The transport closed (or the caller closed the connection).
    public mutating func closed() {
        state = .closed
    }
}

extension MySQLConnectionStateMachine.Action {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    /// The command in flight ended (a result, or a server error) and nothing is to be sent:
    /// a waiting caller can be handed this action as it is.
    var endsCommandQuietly: Bool {
        switch self {
        case let .complete(_, bytes): return bytes.isEmpty
        case .commandFailed: return true
        default: return false
        }
    }
}

@inline(__always)
private func protocolCall<T>(_ body: () throws(MySQLProtocolError) -> T) throws(MySQLError) -> T {
    do { return try body() } catch { throw .protocolViolation(error) }
}

/// `protocolCall` for a decoder reading a packet at `start` in a larger buffer: the offsets
/// in its errors are moved to count from the packet's first byte, as for a copied packet.
private func protocolCall<T>(payloadAt start: Int, _ body: () throws(MySQLProtocolError) -> T) throws(MySQLError) -> T {
    do {
        return try body()
    } catch {
        if case let .decoding(message, decodingError) = error {
            throw .protocolViolation(.decoding(message: message, decodingError.shifted(by: -start)))
        }
        throw .protocolViolation(error)
    }
}

@inline(__always)
private func authCall<T>(_ body: () throws(MySQLAuthenticationError) -> T) throws(MySQLError) -> T {
    do { return try body() } catch { throw .authentication(error) }
}

/// MySQL both ways: 3-byte length + sequence-id packets. Tracks the handshake (capabilities,
/// TLS), then pairs each command (a sequence-0 client packet) with its response: OK/ERR
/// with codes, or a result set whose rows it counts.
public final class MySQLFramer: ProtocolFramer {
    enum Phase { case greeting, auth, command }

    enum ResponseState {
        case first
        case columns(remaining: Int)
        case columnsEOF
        case rows
        case prepareParams(remaining: Int, columns: Int)
        case prepareParamsEOF(columns: Int)
        case prepareColumns(remaining: Int)
        case prepareColumnsEOF
        /// Unknown shape: the exchange ends at the next command.
        case opaque
    }

    struct Pending {
        var name: String
        var code: UInt8
        var fields: [(String, JSONValue)]
        var start: ProxyClock.Instant
        var state: ResponseState = .first
        var rows = 0
        var resultSets = 0
    }

    static let deprecateEOF: UInt32 = 1 << 24
    static let ssl: UInt32 = 1 << 11
    static let queryAttributes: UInt32 = 1 << 27
    static let moreResultsExist: UInt16 = 0x0008

    private let context: FramerContext
    private var upstream = DirectionBuffer()
    private var downstream = DirectionBuffer()
    private var phase = Phase.greeting
    private var serverCapabilities: UInt32 = 0
    private var clientCapabilities: UInt32 = 0
    private var current: Pending?

    public init(context: FramerContext) {
        self.context = context
    }

    private var capabilities: UInt32 { serverCapabilities & clientCapabilities }

    public func feed(_ bytes: [UInt8], direction: ProxyDirection, now: ProxyClock.Instant) -> [ProxyFrame] {
        var buffer = direction == .upstream ? upstream : downstream
        defer { if direction == .upstream { upstream = buffer } else { downstream = buffer } }
        if buffer.blind { return [ProxyFrame(bytes: bytes, unparsed: true)] }
        buffer.append(bytes)
        var frames: [ProxyFrame] = []
        while buffer.readable >= 4 {
            let s = buffer.start
            let length = Int(buffer.bytes[s]) | Int(buffer.bytes[s + 1]) << 8 | Int(buffer.bytes[s + 2]) << 16
            guard buffer.readable >= 4 + length else { break }
            let sequence = buffer.bytes[s + 3]
            let packet = buffer.take(4 + length)
            let payload = packet[4...]
            if direction == .upstream {
                frames.append(clientPacket(packet, payload: payload, sequence: sequence, now: now, buffer: &buffer))
            } else {
                serverPacket(payload, now: now, buffer: &buffer)
                frames.append(ProxyFrame(bytes: packet))
            }
            if buffer.blind {
                if let rest = buffer.goBlind() { frames.append(rest) }
                break
            }
        }
        return frames
    }

    private func event(_ name: String, start: ProxyClock.Instant, end: ProxyClock.Instant?, fields: [(String, JSONValue)]) {
        context.emit(TraceEvent(
            timeMicros: start.wallMicros, connection: context.connection, route: context.route, proto: .mysql, name: name,
            latencyMicros: end.map { ProxyClock.micros(from: start, to: $0) }, fields: fields
        ))
    }

    // MARK: Client → server

    private func clientPacket(_ packet: [UInt8], payload: ArraySlice<UInt8>, sequence: UInt8, now: ProxyClock.Instant,
                              buffer: inout DirectionBuffer) -> ProxyFrame {
        switch phase {
        case .greeting, .auth:
            if phase == .auth, current == nil, payload.count >= 4 {
                // The handshake response (or SSLRequest): its first four bytes are the capabilities.
                let p = payload.startIndex
                clientCapabilities = UInt32(payload[p]) | UInt32(payload[p + 1]) << 8 | UInt32(payload[p + 2]) << 16 | UInt32(payload[p + 3]) << 24
                if payload.count == 32 && clientCapabilities & Self.ssl != 0 {
                    // SSLRequest: TLS follows, opaque to the proxy in both directions.
                    event("SSLRequest", start: now, end: nil, fields: [("tls", .bool(true))])
                    buffer.blind = true
                    downstream.blind = true
                    return ProxyFrame(bytes: packet, names: ["SSL"])
                }
                var fields: [(String, JSONValue)] = [("command", .string("Handshake"))]
                if let user = Self.cString(payload, from: payload.startIndex + 32) { fields.append(("user", .string(user))) }
                current = Pending(name: "Handshake", code: 0, fields: fields, start: now, state: .opaque)
            }
            return ProxyFrame(bytes: packet, names: ["Handshake"])
        case .command:
            guard sequence == 0, let code = payload.first else {
                // LOCAL INFILE data, or a large command's continuation.
                return ProxyFrame(bytes: packet)
            }
            if let pending = current { finishCurrent(pending, end: nil, extra: [("incomplete", .bool(true))]) }
            let name = Self.commandName(code)
            var names = [name, String(name.dropFirst(4))]
            var fields: [(String, JSONValue)] = [("command", .string(name))]
            if code == 0x03 || code == 0x16 {
                var textStart = payload.startIndex + 1
                if code == 0x03 && capabilities & Self.queryAttributes != 0 {
                    // parameter_count, parameter_set_count (lenenc); only the no-attribute case is skipped.
                    if textStart + 1 < payload.endIndex, payload[textStart] == 0 { textStart += 2 }
                }
                let statement = String(decoding: payload[min(textStart, payload.endIndex)...], as: UTF8.self)
                fields.append(("statement", .string(statement.count > 1000 ? String(statement.prefix(1000)) : statement)))
                if let keyword = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }).first {
                    names.append(keyword.uppercased())
                }
            } else if code == 0x17 || code == 0x19 || code == 0x1a, payload.count >= 5 {
                let p = payload.startIndex + 1
                let id = UInt32(payload[p]) | UInt32(payload[p + 1]) << 8 | UInt32(payload[p + 2]) << 16 | UInt32(payload[p + 3]) << 24
                fields.append(("statement_id", .int(Int64(id))))
            } else if code == 0x02 {
                fields.append(("schema", .string(String(decoding: payload.dropFirst(), as: UTF8.self))))
            }
            if let message = context.failMessage(names), code != 0x01 {
                let reply = Self.errPacket(code: 1105, message: message, sequence: 1)
                event(name, start: now, end: now, fields: fields + [("result", .string("ERR")), ("error_code", .int(1105)),
                                                                  ("error", .string(message)), ("injected", .bool(true))])
                return ProxyFrame(bytes: packet, names: names, localReply: reply)
            }
            // Commands the server does not answer.
            if code == 0x01 || code == 0x19 || code == 0x18 {
                event(name, start: now, end: nil, fields: fields)
                return ProxyFrame(bytes: packet, names: names)
            }
            var pending = Pending(name: name, code: code, fields: fields, start: now)
            if code == 0x09 || code == 0x04 || code == 0x11 || code == 0x12 { pending.state = .opaque }
            current = pending
            return ProxyFrame(bytes: packet, names: names)
        }
    }

    // MARK: Server → client

    private func serverPacket(_ payload: ArraySlice<UInt8>, now: ProxyClock.Instant, buffer: inout DirectionBuffer) {
        let first = payload.first ?? 0
        switch phase {
        case .greeting:
            phase = .auth
            if first == 0xFF {
                event("Greeting", start: now, end: now, fields: errFields(payload))
                return
            }
            serverCapabilities = Self.greetingCapabilities(payload) ?? 0
            var fields: [(String, JSONValue)] = []
            if let version = Self.cString(payload, from: payload.startIndex + 1) { fields.append(("server_version", .string(version))) }
            event("Greeting", start: now, end: nil, fields: fields)
        case .auth:
            guard let pending = current else { return }
            if first == 0x00 {
                phase = .command
                finishCurrent(pending, end: now, extra: [("result", .string("OK"))])
            } else if first == 0xFF {
                finishCurrent(pending, end: now, extra: errFields(payload))
            }
            // 0x01 (more data) and 0xFE (auth switch): the exchange goes on.
        case .command:
            guard var pending = current else { return }
            responsePacket(&pending, payload: payload, now: now)
            if current != nil { current = pending }
        }
    }

    private func responsePacket(_ pending: inout Pending, payload: ArraySlice<UInt8>, now: ProxyClock.Instant) {
        let first = payload.first ?? 0
        let deprecateEOF = capabilities & Self.deprecateEOF != 0
        let isTerminator = first == 0xFE && payload.count < 0xFFFFFF && (deprecateEOF || payload.count < 9)
        switch pending.state {
        case .first:
            if first == 0xFF {
                finishCurrent(pending, end: now, extra: errFields(payload))
            } else if first == 0x00 && pending.code == 0x16 && payload.count >= 12 {
                let p = payload.startIndex
                let columns = Int(payload[p + 5]) | Int(payload[p + 6]) << 8
                let params = Int(payload[p + 7]) | Int(payload[p + 8]) << 8
                let id = UInt32(payload[p + 1]) | UInt32(payload[p + 2]) << 8 | UInt32(payload[p + 3]) << 16 | UInt32(payload[p + 4]) << 24
                pending.fields += [("result", .string("OK")), ("statement_id", .int(Int64(id))),
                                   ("columns", .int(Int64(columns))), ("params", .int(Int64(params)))]
                if params > 0 {
                    pending.state = .prepareParams(remaining: params, columns: columns)
                } else if columns > 0 {
                    pending.state = .prepareColumns(remaining: columns)
                } else {
                    finishCurrent(pending, end: now, extra: [])
                }
            } else if first == 0x00 || (first == 0xFE && payload.count < 9 && pending.resultSets == 0) {
                var reader = LengthEncodedReader(payload.dropFirst())
                let affected = reader.next() ?? 0
                let insertID = reader.next() ?? 0
                let status = reader.uint16() ?? 0
                pending.fields += [("result", .string("OK")), ("affected_rows", .int(Int64(affected))),
                                   ("last_insert_id", .int(Int64(insertID)))]
                if status & Self.moreResultsExist != 0 {
                    pending.resultSets += 1
                } else {
                    finishCurrent(pending, end: now, extra: [])
                }
            } else if first == 0xFB {
                pending.fields.append(("local_infile", .bool(true)))
            } else {
                var reader = LengthEncodedReader(payload)
                let columns = Int(reader.next() ?? 0)
                pending.resultSets += 1
                pending.fields.append(("columns", .int(Int64(columns))))
                pending.state = columns > 0 ? .columns(remaining: columns) : .rows
            }
        case let .columns(remaining):
            if remaining > 1 {
                pending.state = .columns(remaining: remaining - 1)
            } else {
                pending.state = deprecateEOF ? .rows : .columnsEOF
            }
        case .columnsEOF:
            pending.state = .rows
        case .rows:
            if first == 0xFF {
                finishCurrent(pending, end: now, extra: [("rows", .int(Int64(pending.rows)))] + errFields(payload))
            } else if isTerminator {
                let status: UInt16
                if deprecateEOF {
                    var reader = LengthEncodedReader(payload.dropFirst())
                    _ = reader.next(); _ = reader.next()
                    status = reader.uint16() ?? 0
                } else {
                    let p = payload.startIndex
                    status = payload.count >= 5 ? UInt16(payload[p + 3]) | UInt16(payload[p + 4]) << 8 : 0
                }
                if status & Self.moreResultsExist != 0 {
                    pending.state = .first
                } else {
                    finishCurrent(pending, end: now, extra: [("result", .string("rows")), ("rows", .int(Int64(pending.rows)))])
                }
            } else {
                pending.rows += 1
            }
        case let .prepareParams(remaining, columns):
            if remaining > 1 {
                pending.state = .prepareParams(remaining: remaining - 1, columns: columns)
            } else if !deprecateEOF {
                pending.state = .prepareParamsEOF(columns: columns)
            } else if columns > 0 {
                pending.state = .prepareColumns(remaining: columns)
            } else {
                finishCurrent(pending, end: now, extra: [])
            }
        case let .prepareParamsEOF(columns):
            if columns > 0 { pending.state = .prepareColumns(remaining: columns) } else { finishCurrent(pending, end: now, extra: []) }
        case let .prepareColumns(remaining):
            if remaining > 1 {
                pending.state = .prepareColumns(remaining: remaining - 1)
            } else if !deprecateEOF {
                pending.state = .prepareColumnsEOF
            } else {
                finishCurrent(pending, end: now, extra: [])
            }
        case .prepareColumnsEOF:
            finishCurrent(pending, end: now, extra: [])
        case .opaque:
            if pending.code == 0x09 {
                finishCurrent(pending, end: now, extra: [("result", .string("text"))])
            } else if first == 0xFF {
                finishCurrent(pending, end: now, extra: errFields(payload))
            } else if first == 0x00 && pending.code != 0x04 {
                finishCurrent(pending, end: now, extra: [("result", .string("OK"))])
            } else if first == 0xFE && payload.count < 9 && pending.code == 0x04 {
                finishCurrent(pending, end: now, extra: [("result", .string("EOF"))])
            }
        }
    }

    private func finishCurrent(_ pending: Pending, end: ProxyClock.Instant?, extra: [(String, JSONValue)]) {
        current = nil
        event(pending.name, start: pending.start, end: end, fields: pending.fields + extra)
    }

    public func finish(now: ProxyClock.Instant) {
        if let pending = current { finishCurrent(pending, end: nil, extra: [("incomplete", .bool(true))]) }
    }

    // MARK: Packet helpers

    private func errFields(_ payload: ArraySlice<UInt8>) -> [(String, JSONValue)] {
        let p = payload.startIndex
        guard payload.count >= 3 else { return [("result", .string("ERR"))] }
        let code = Int64(payload[p + 1]) | Int64(payload[p + 2]) << 8
        var messageStart = p + 3
        var fields: [(String, JSONValue)] = [("result", .string("ERR")), ("error_code", .int(code))]
        if payload.count >= 9, payload[p + 3] == UInt8(ascii: "#") {
            fields.append(("sql_state", .string(String(decoding: payload[(p + 4)..<(p + 9)], as: UTF8.self))))
            messageStart = p + 9
        }
        fields.append(("error", .string(String(decoding: payload[messageStart...], as: UTF8.self))))
        return fields
    }

    static func errPacket(code: UInt16, message: String, sequence: UInt8) -> [UInt8] {
        var payload: [UInt8] = [0xFF, UInt8(code & 0xFF), UInt8(code >> 8)]
        payload += Array("#HY000".utf8) + Array(message.utf8)
        let length = payload.count
        return [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), sequence] + payload
    }

    static func cString(_ payload: ArraySlice<UInt8>, from start: Int) -> String? {
        guard start < payload.endIndex, let end = payload[start...].firstIndex(of: 0) else { return nil }
        return String(decoding: payload[start..<end], as: UTF8.self)
    }

    /// The capability flags of a HandshakeV10 greeting.
    static func greetingCapabilities(_ payload: ArraySlice<UInt8>) -> UInt32? {
        guard payload.first == 10, let versionEnd = payload[(payload.startIndex + 1)...].firstIndex(of: 0) else { return nil }
        let lower = versionEnd + 1 + 4 + 8 + 1
        guard lower + 7 <= payload.endIndex else { return nil }
        let low = UInt32(payload[lower]) | UInt32(payload[lower + 1]) << 8
        let high = UInt32(payload[lower + 5]) | UInt32(payload[lower + 6]) << 8
        return low | high << 16
    }

    static func commandName(_ code: UInt8) -> String {
        switch code {
        case 0x00: return "COM_SLEEP"
        case 0x01: return "COM_QUIT"
        case 0x02: return "COM_INIT_DB"
        case 0x03: return "COM_QUERY"
        case 0x04: return "COM_FIELD_LIST"
        case 0x09: return "COM_STATISTICS"
        case 0x0e: return "COM_PING"
        case 0x11: return "COM_CHANGE_USER"
        case 0x12: return "COM_BINLOG_DUMP"
        case 0x16: return "COM_STMT_PREPARE"
        case 0x17: return "COM_STMT_EXECUTE"
        case 0x18: return "COM_STMT_SEND_LONG_DATA"
        case 0x19: return "COM_STMT_CLOSE"
        case 0x1a: return "COM_STMT_RESET"
        case 0x1b: return "COM_SET_OPTION"
        case 0x1c: return "COM_STMT_FETCH"
        case 0x1f: return "COM_RESET_CONNECTION"
        default: return "COM_0x" + String(code, radix: 16)
        }
    }
}

/// Reads length-encoded integers without trapping on short input.
struct LengthEncodedReader {
    var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    mutating func next() -> UInt64? {
        guard let first = bytes.first else { return nil }
        bytes = bytes.dropFirst()
        let width: Int
        switch first {
        case 0..<0xFB: return UInt64(first)
        case 0xFC: width = 2
        case 0xFD: width = 3
        case 0xFE: width = 8
        default: return nil
        }
        guard bytes.count >= width else { return nil }
        var value: UInt64 = 0
        for (index, byte) in bytes.prefix(width).enumerated() { value |= UInt64(byte) << (8 * index) }
        bytes = bytes.dropFirst(width)
        return value
    }

    mutating func uint16() -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        let value = UInt16(bytes[bytes.startIndex]) | UInt16(bytes[bytes.startIndex + 1]) << 8
        bytes = bytes.dropFirst(2)
        return value
    }
}

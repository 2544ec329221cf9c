import RESP
import WireCore

/// RESP both ways: each direction decoded with `RESPDecoder`; replies paired with commands in
/// order (pushes are traced on their own).
public final class RESPFramer: ProtocolFramer {
    struct Pending {
        var name: String
        var fields: [(String, JSONValue)]
        var start: ProxyClock.Instant
        /// A fail fault's answer, owed after the replies to earlier commands.
        var localReply: [UInt8]? = nil
    }

    private let context: FramerContext
    private let decoder = RESPDecoder()
    private var upstream = DirectionBuffer()
    private var downstream = DirectionBuffer()
    private var pending: [Pending] = []
    private var pendingHead = 0

    public init(context: FramerContext) {
        self.context = context
    }

    public func feed(_ bytes: [UInt8], direction: ProxyDirection, now: ProxyClock.Instant) -> [ProxyFrame] {
        switch direction {
        case .upstream: return feedUpstream(bytes, now: now)
        case .downstream: return feedDownstream(bytes, now: now)
        }
    }

    private func unparsedEvent(_ direction: ProxyDirection, count: Int, reason: String, now: ProxyClock.Instant) {
        context.emit(TraceEvent(
            timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .resp,
            name: "unparsed", fields: [("direction", .string(direction.rawValue)), ("bytes", .int(Int64(count))), ("reason", .string(reason))]
        ))
    }

    private func feedUpstream(_ bytes: [UInt8], now: ProxyClock.Instant) -> [ProxyFrame] {
        if upstream.blind {
            unparsedEvent(.upstream, count: bytes.count, reason: "stream not decodable", now: now)
            return [ProxyFrame(bytes: bytes, unparsed: true)]
        }
        upstream.append(bytes)
        var frames: [ProxyFrame] = []
        while upstream.readable > 0 {
            let result: (value: RESPValue, endIndex: Int)?
            do {
                result = try decoder.decode(upstream.bytes, from: upstream.start, to: upstream.bytes.count)
            } catch {
                let count = upstream.readable
                if let frame = upstream.goBlind() { frames.append(frame) }
                unparsedEvent(.upstream, count: count, reason: "\(error)", now: now)
                break
            }
            guard let (value, end) = result else { break }
            let frameBytes = upstream.take(end - upstream.start)
            let words = Self.words(value)
            let name = words.first?.uppercased() ?? "?"
            var fields: [(String, JSONValue)] = [("command", .string(name))]
            let keyPositions = KeySpecification.keyPositions(for: words)
            if let first = keyPositions.min(), first < words.count {
                let key = words[first]
                fields.append(("key", .string(key.count > 200 ? String(key.prefix(200)) : key)))
                fields.append(("slot", .int(Int64(HashSlot.slot(forKey: key)))))
                if keyPositions.count > 1 {
                    let slots = Set(keyPositions.filter { $0 < words.count }.map { HashSlot.slot(forKey: words[$0]) })
                    if slots.count > 1 { fields.append(("cross_slot", .bool(true))) }
                }
            }
            if let message = context.failMessage([name]) {
                let reply = Array("-ERR \(message.replacingNewlines())\r\n".utf8)
                context.emit(TraceEvent(
                    timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .resp,
                    name: name, latencyMicros: 0,
                    fields: fields + [("reply", .string("error")), ("error", .string("ERR \(message)")), ("injected", .bool(true))]
                ))
                if pendingHead == pending.count {
                    frames.append(ProxyFrame(bytes: frameBytes, names: [name], localReply: reply))
                } else {
                    // Pipelined: the answer must follow the replies to the commands before it.
                    pending.append(Pending(name: name, fields: [], start: now, localReply: reply))
                    frames.append(ProxyFrame(bytes: frameBytes, names: [name], localReply: []))
                }
                continue
            }
            pending.append(Pending(name: name, fields: fields, start: now))
            frames.append(ProxyFrame(bytes: frameBytes, names: [name]))
        }
        return frames
    }

    private func feedDownstream(_ bytes: [UInt8], now: ProxyClock.Instant) -> [ProxyFrame] {
        if downstream.blind {
            unparsedEvent(.downstream, count: bytes.count, reason: "stream not decodable", now: now)
            return [ProxyFrame(bytes: bytes, unparsed: true)]
        }
        downstream.append(bytes)
        var frames: [ProxyFrame] = []
        while downstream.readable > 0 {
            let result: (value: RESPValue, endIndex: Int)?
            do {
                result = try decoder.decode(downstream.bytes, from: downstream.start, to: downstream.bytes.count)
            } catch {
                let count = downstream.readable
                if let frame = downstream.goBlind() { frames.append(frame) }
                unparsedEvent(.downstream, count: count, reason: "\(error)", now: now)
                break
            }
            guard let (value, end) = result else { break }
            let frameBytes = downstream.take(end - downstream.start)
            frames.append(ProxyFrame(bytes: frameBytes))
            var reply = Self.replyFields(value)
            if case .push = value.withoutAttributes {
                context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route,
                                        proto: .resp, name: "push", fields: reply))
                continue
            }
            if pendingHead < pending.count {
                let request = pending[pendingHead]
                pendingHead += 1
                if pendingHead > 1024 && pendingHead * 2 > pending.count {
                    pending.removeFirst(pendingHead)
                    pendingHead = 0
                }
                reply = request.fields + reply
                context.emit(TraceEvent(timeMicros: request.start.wallMicros, connection: context.connection, route: context.route,
                                        proto: .resp, name: request.name,
                                        latencyMicros: ProxyClock.micros(from: request.start, to: now), fields: reply))
            } else {
                context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route,
                                        proto: .resp, name: "unsolicited", fields: reply))
            }
            while pendingHead < pending.count, let local = pending[pendingHead].localReply {
                pendingHead += 1
                frames.append(ProxyFrame(bytes: local))
            }
        }
        return frames
    }

    public func finish(now: ProxyClock.Instant) {
        while pendingHead < pending.count {
            let request = pending[pendingHead]
            pendingHead += 1
            context.emit(TraceEvent(timeMicros: request.start.wallMicros, connection: context.connection, route: context.route,
                                    proto: .resp, name: request.name, fields: request.fields + [("reply", .string("none"))]))
        }
        pending = []
        pendingHead = 0
    }

    static func words(_ value: RESPValue) -> [String] {
        guard case let .array(items) = value else { return [] }
        return items.map { item in
            switch item {
            case let .bulkString(bytes): return String(decoding: bytes, as: UTF8.self)
            case let .simpleString(text): return text
            case let .integer(i): return String(i)
            default: return ""
            }
        }
    }

    static func replyFields(_ value: RESPValue) -> [(String, JSONValue)] {
        let type: String
        var fields: [(String, JSONValue)] = []
        switch value.withoutAttributes {
        case .simpleString: type = "simple"
        case let .simpleError(message):
            type = "error"
            fields.append(("error", .string(message)))
            fields += redirection(message)
        case let .bulkError(bytes):
            type = "error"
            let message = String(decoding: bytes, as: UTF8.self)
            fields.append(("error", .string(message)))
            fields += redirection(message)
        case let .integer(i): type = "integer"; fields.append(("value", .int(i)))
        case let .bulkString(bytes): type = "bulk"; fields.append(("length", .int(Int64(bytes.count))))
        case .null: type = "null"
        case let .array(items): type = "array"; fields.append(("count", .int(Int64(items.count))))
        case .boolean: type = "boolean"
        case .double: type = "double"
        case .bigNumber: type = "bignumber"
        case .verbatimString: type = "verbatim"
        case let .map(pairs): type = "map"; fields.append(("count", .int(Int64(pairs.count))))
        case let .set(items): type = "set"; fields.append(("count", .int(Int64(items.count))))
        case .attribute: type = "attribute"
        case let .push(items): type = "push"; fields.append(("count", .int(Int64(items.count))))
        }
        return [("reply", .string(type))] + fields
    }

    /// `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`
    static func redirection(_ message: String) -> [(String, JSONValue)] {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int64(parts[1]) else { return [] }
        return [("redirect", .string(String(parts[0]))), ("redirect_slot", .int(slot)), ("redirect_to", .string(String(parts[2])))]
    }
}

extension String {
    func replacingNewlines() -> String {
        String(map { $0 == "\r" || $0 == "\n" ? " " : $0 })
    }
}

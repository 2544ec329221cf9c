import Synchronization
import WireCore

/// A small HTTP/1.1 admin API on 127.0.0.1 for switching faults at runtime. One request per
/// connection (`Connection: close`), JSON replies:
///
/// - `GET /faults` (or `/routes`): routes, their connections and faults
/// - `POST /faults/ROUTE?kind=latency&ms=100&jitter=10[&direction=upstream|downstream]` — see
///   `Fault.parse`; `kind=up` brings a down route back
/// - `DELETE /faults/ROUTE[?kind=KIND]`: removes faults (and brings a down route up)
///
/// ROUTE is a route name (its listen port unless named) or `*` for every route.
public final class AdminServer: Sendable {
    public let proxy: ProxyServer
    private let listener: Mutex<Listener?> = Mutex(nil)
    private let handlers = Mutex<[ObjectIdentifier: RequestHandler]>([:])

    public var port: Int? { listener.withLock { $0?.port } }

    public init(proxy: ProxyServer, host: String = "127.0.0.1", port: Int) throws(ProxyError) {
        self.proxy = proxy
        do {
            let opened = try Listener.open(host: host, port: port) { [weak self] channel in
                guard let self else { channel.close(); return }
                let handler = RequestHandler(channel: channel, admin: self)
                handlers.withLock { $0[ObjectIdentifier(handler)] = handler }
                channel.setHandler(handler)
            }
            listener.withLock { $0 = opened }
        } catch {
            throw .io("cannot listen for the admin API on \(host):\(port): \(error)")
        }
    }

    public func stop() {
        listener.withLock { $0?.close(); $0 = nil }
    }

    fileprivate func finished(_ handler: RequestHandler) {
        handlers.withLock { $0[ObjectIdentifier(handler)] = nil }
    }

    /// Answers one parsed request: (status, JSON body).
    func respond(method: String, target: String) -> (Int, JSONValue) {
        let (path, query) = HTTPRequestParser.splitTarget(target)
        let parts = path.split(separator: "/").map(String.init)
        func fail(_ status: Int, _ message: String) -> (Int, JSONValue) {
            (status, .object([("ok", .bool(false)), ("error", .string(message))]))
        }
        guard let first = parts.first, first == "faults" || first == "routes" else { return fail(404, "unknown path \(path)") }
        switch (method, parts.count) {
        case ("GET", 1):
            return (200, proxy.statusJSON)
        case ("POST", 2):
            do throws(ProxyError) {
                if query["kind"] == "up" {
                    try proxy.up(parts[1])
                    return (200, .object([("ok", .bool(true)), ("route", .string(parts[1])), ("up", .bool(true))]))
                }
                let fault = try Fault.parse(query)
                try proxy.setFault(route: parts[1], fault)
                return (200, .object([("ok", .bool(true)), ("route", .string(parts[1])), ("fault", fault.json)]))
            } catch {
                return fail(400, error.description)
            }
        case ("DELETE", 2):
            do throws(ProxyError) {
                try proxy.clearFaults(route: parts[1], kind: query["kind"])
                return (200, .object([("ok", .bool(true)), ("route", .string(parts[1]))]))
            } catch {
                return fail(400, error.description)
            }
        default:
            return fail(405, "\(method) \(path) not supported")
        }
    }

    final class RequestHandler: ChannelHandler, @unchecked Sendable {
        let channel: Channel
        weak var admin: AdminServer?
        private var parser = HTTPRequestParser()
        private var done = false

        init(channel: Channel, admin: AdminServer) {
            self.channel = channel
            self.admin = admin
        }

        func channelRead(_ buffer: inout InboundBuffer) {
            let bytes = buffer.readableBytesArray()
            buffer.readerIndex = buffer.writerIndex
            guard !done else { return }
            switch parser.feed(bytes) {
            case .incomplete:
                return
            case let .failed(message):
                reply(400, .object([("ok", .bool(false)), ("error", .string(message))]))
            case let .complete(request):
                guard let admin else { channel.close(); return }
                let (status, body) = admin.respond(method: request.method, target: request.target)
                reply(status, body)
            }
        }

        private func reply(_ status: Int, _ body: JSONValue) {
            done = true
            let text = body.serialized + "\n"
            let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"][status] ?? "Error"
            let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n"
            channel.write(bytes: Array((head + text).utf8))
            channel.closeAfterFlush()
        }

        func channelClosed(_ error: WireError) {
            admin?.finished(self)
        }
    }
}

/// Parses one HTTP/1.1 request: request line, headers, and a `Content-Length` body. Limits
/// keep a hostile client from growing it without bound.
struct HTTPRequestParser {
    struct Request {
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
    }

    enum Outcome {
        case incomplete
        case complete(Request)
        case failed(String)
    }

    static let maxHead = 16 * 1024
    static let maxBody = 1 << 20

    private var bytes: [UInt8] = []

    mutating func feed(_ new: [UInt8]) -> Outcome {
        bytes += new
        guard let headEnd = Self.find([13, 10, 13, 10], in: bytes) else {
            return bytes.count > Self.maxHead ? .failed("request head too large") : .incomplete
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return .failed("empty request") }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return .failed("malformed request line") }
        var headers: [(String, String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return .failed("malformed header line") }
            headers.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        var length = 0
        if let value = headers.first(where: { $0.0 == "content-length" })?.1 {
            guard let parsed = Int(value), parsed >= 0, parsed <= Self.maxBody else { return .failed("bad content-length") }
            length = parsed
        }
        let bodyStart = headEnd + 4
        guard bytes.count >= bodyStart + length else { return .incomplete }
        return .complete(Request(method: requestLine[0].uppercased(), target: requestLine[1], headers: headers,
                                 body: Array(bytes[bodyStart..<bodyStart + length])))
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<index + needle.count]) == needle { return index }
        }
        return nil
    }

    /// Splits `/path?a=1&b=x%20y` into the path and decoded query parameters.
    static func splitTarget(_ target: String) -> (path: String, query: [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (percentDecode(target), [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let key = percentDecode(String(parts[0]))
            query[key] = parts.count > 1 ? percentDecode(String(parts[1])) : ""
        }
        return (percentDecode(String(target[..<mark])), query)
    }

    static func percentDecode(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                out.append(value)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? 0x20 : byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-_.~*".utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

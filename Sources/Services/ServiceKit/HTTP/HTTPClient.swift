import Synchronization
import WireCore

/// A response read by `HTTPClient`.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

public enum HTTPClientError: Error, CustomStringConvertible {
    case connect(String, WireError)
    case timedOut(String, Duration)
    case closed(String)
    case malformed(String)

    public var description: String {
        switch self {
        case let .connect(target, error): "cannot connect to \(target): \(error)"
        case let .timedOut(request, limit): "\(request): no complete response within \(limit)"
        case let .closed(request): "\(request): the server closed the connection before a complete response"
        case let .malformed(why): "malformed HTTP response: \(why)"
        }
    }
}

/// A small HTTP/1.1 client over WireCore channels for the harness, the load drivers and the
/// tests: keep-alive connections reused one request at a time, Content-Length and chunked
/// bodies, a deadline per request. (The services' HTTP server is Hummingbird; this client
/// exists so that driving load needs no second networking stack.)
public final class HTTPClient: Sendable {
    public let host: String
    public let port: Int
    private let idle = Mutex<[HTTPConnection]>([])

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// Sends one request on an idle keep-alive connection (or a new one) and reads the response.
    public func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        timeout: Duration = .seconds(10)
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let reused = idle.withLock { $0.popLast() }
        let connection: HTTPConnection
        if let reused, reused.isOpen {
            connection = reused
        } else {
            connection = try await HTTPConnection.connect(host: host, port: port, timeout: timeout)
        }
        let response = try await connection.send(method, path, host: host, body: body, contentType: contentType, timeout: timeout)
        if connection.isOpen && response.header("connection")?.lowercased() != "close" {
            idle.withLock { $0.append(connection) }
        } else {
            connection.close()
        }
        return response
    }

    public func get(_ path: String, timeout: Duration = .seconds(10)) async throws(HTTPClientError) -> HTTPClientResponse {
        try await request("GET", path, timeout: timeout)
    }

    public func post(_ path: String, json: String, timeout: Duration = .seconds(10)) async throws(HTTPClientError) -> HTTPClientResponse {
        try await request("POST", path, body: Array(json.utf8), timeout: timeout)
    }

    public func close() {
        for connection in idle.withLock({ list in defer { list.removeAll() }; return list }) { connection.close() }
    }

    deinit { close() }
}

/// One HTTP/1.1 connection; one request at a time.
final class HTTPConnection: ChannelHandler, Sendable {
    typealias Waiter = CheckedContinuation<Result<HTTPClientResponse, HTTPClientError>, Never>

    struct State {
        var buffer: [UInt8] = []
        var waiter: Waiter?
        var request = ""
        var closed = false
    }

    let channel: Channel
    private let state = Mutex(State())

    private init(channel: Channel) { self.channel = channel }

    static func connect(host: String, port: Int, timeout: Duration) async throws(HTTPClientError) -> HTTPConnection {
        do {
            let channel = try await Channel.connect(host: host, port: port, options: ChannelOptions(connectTimeout: timeout))
            let connection = HTTPConnection(channel: channel)
            channel.setHandler(connection)
            return connection
        } catch {
            throw .connect("\(host):\(port)", error)
        }
    }

    var isOpen: Bool { !state.withLock { $0.closed } && channel.isActive }

    func close() { channel.close() }

    func send(
        _ method: String, _ path: String, host: String, body: [UInt8]?, contentType: String, timeout: Duration
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let label = "\(method) \(path)"
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: reliability-lab\r\n"
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        } else if method == "POST" || method == "PUT" {
            head += "Content-Length: 0\r\n"
        }
        let request = Array((head + "\r\n").utf8) + (body ?? [])
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.finish(.failure(.timedOut(label, timeout)))
            self?.channel.close()
        }
        defer { timer.cancel() }
        let result = await withCheckedContinuation { (continuation: Waiter) in
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                state.waiter = continuation
                state.request = label
                return false
            }
            if closed {
                continuation.resume(returning: .failure(.closed(label)))
            } else if !channel.write(bytes: request) {
                finish(.failure(.closed(label)))
            }
        }
        return try result.get()
    }

    private func finish(_ result: Result<HTTPClientResponse, HTTPClientError>) {
        let waiter = state.withLock { state -> Waiter? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    func channelRead(_ buffer: inout InboundBuffer) {
        let chunk = buffer.readableBytesArray()
        buffer.readerIndex = buffer.writerIndex
        let parsed = state.withLock { state -> Result<HTTPClientResponse, HTTPClientError>? in
            state.buffer += chunk
            switch HTTPResponseParser.parse(state.buffer) {
            case .incomplete: return nil
            case let .complete(response, consumed):
                state.buffer.removeFirst(consumed)
                return .success(response)
            case let .invalid(why): return .failure(.malformed(why))
            }
        }
        if let parsed { finish(parsed) }
    }

    func channelClosed(_ error: WireError) {
        let label = state.withLock { state -> String in
            state.closed = true
            return state.request
        }
        finish(.failure(.closed(label)))
    }
}

/// Parses one HTTP/1.1 response from the front of a buffer.
public enum HTTPResponseParser {
    public enum Outcome {
        case incomplete
        case complete(HTTPClientResponse, consumed: Int)
        case invalid(String)
    }

    public static func parse(_ bytes: [UInt8]) -> Outcome {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else {
            return bytes.count > 64 * 1024 ? .invalid("response head longer than 64 KiB") : .incomplete
        }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            return .invalid("status line '\(lines.first ?? "")'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return .invalid("header line '\(line)'") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingSpaces))
        }
        var response = HTTPClientResponse(status: status, headers: headers, body: [])
        let bodyStart = headEnd + 4
        if let length = response.header("content-length") {
            guard let count = Int(length), count >= 0 else { return .invalid("Content-Length '\(length)'") }
            guard bytes.count - bodyStart >= count else { return .incomplete }
            response.body = Array(bytes[bodyStart..<(bodyStart + count)])
            return .complete(response, consumed: bodyStart + count)
        }
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            var index = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: index) else { return .incomplete }
                let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingSpaces, radix: 16), size >= 0 else { return .invalid("chunk size '\(sizeText)'") }
                let dataStart = lineEnd + 2
                guard bytes.count >= dataStart + size + 2 else { return .incomplete }
                if size == 0 {
                    // Trailers (rare) end with an empty line.
                    guard let end = find([13, 10], in: bytes, from: dataStart) else { return .incomplete }
                    if end == dataStart { response.body = body; return .complete(response, consumed: dataStart + 2) }
                    guard let trailersEnd = find([13, 10, 13, 10], in: bytes, from: dataStart) else { return .incomplete }
                    response.body = body
                    return .complete(response, consumed: trailersEnd + 4)
                }
                body += bytes[dataStart..<(dataStart + size)]
                index = dataStart + size + 2
            }
        }
        // No length: a response without a body (HEAD, 204, 304) or one delimited by close; the
        // services always send a length, so treat it as bodiless.
        return .complete(response, consumed: bodyStart)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

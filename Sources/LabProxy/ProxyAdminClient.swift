import Synchronization
import WireCore

/// Calls the admin API (what `lab proxy fault …` uses): one HTTP/1.1 request, the status and
/// the body back.
public enum ProxyAdminClient {
    public static func request(
        _ method: String, host: String = "127.0.0.1", port: Int, path: String, timeout: Duration = .seconds(5)
    ) async throws -> (status: Int, body: String) {
        let channel = try await Channel.connect(host: host, port: port, options: ChannelOptions(connectTimeout: timeout))
        let collector = Collector()
        channel.setHandler(collector)
        channel.write(bytes: Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        let deadline = ContinuousClock.now + timeout
        while !collector.closed && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        channel.close()
        guard collector.closed else { throw ProxyError.io("admin API at \(host):\(port) did not answer within \(timeout)") }
        let text = String(decoding: collector.bytes, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw ProxyError.io("admin API at \(host):\(port) sent no HTTP response")
        }
        guard let split = HTTPRequestParser.find([13, 10, 13, 10], in: collector.bytes) else { return (status, "") }
        return (status, String(decoding: collector.bytes[(split + 4)...], as: UTF8.self))
    }

    /// The admin path for a fault: `/faults/ROUTE?kind=…&…` with the parameters encoded.
    public static func faultPath(route: String, parameters: [(String, String)]) -> String {
        let query = parameters.map { "\(HTTPRequestParser.percentEncode($0.0))=\(HTTPRequestParser.percentEncode($0.1))" }
            .joined(separator: "&")
        return "/faults/\(HTTPRequestParser.percentEncode(route))" + (query.isEmpty ? "" : "?" + query)
    }

    final class Collector: ChannelHandler, Sendable {
        private let state = Mutex<([UInt8], Bool)>(([], false))
        var bytes: [UInt8] { state.withLock { $0.0 } }
        var closed: Bool { state.withLock { $0.1 } }
        func channelRead(_ buffer: inout InboundBuffer) {
            let chunk = buffer.readableBytesArray()
            buffer.readerIndex = buffer.writerIndex
            state.withLock { $0.0 += chunk }
        }
        func channelClosed(_ error: WireError) { state.withLock { $0.1 = true } }
    }
}

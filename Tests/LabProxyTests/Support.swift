import Foundation
import LabProxy
import LabTestSupport
import Synchronization
import Testing
import WireCore

/// Collects trace events in memory.
final class TraceRecorder: Sendable {
    private let events = Mutex<[TraceEvent]>([])

    var all: [TraceEvent] { events.withLock { $0 } }

    func record(_ event: TraceEvent) { events.withLock { $0.append(event) } }

    func named(_ name: String) -> [TraceEvent] { all.filter { $0.name == name } }

    /// Waits until some event satisfies `condition`.
    func wait(timeout: Duration = .seconds(10), _ condition: @escaping (TraceEvent) -> Bool) async -> TraceEvent? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = all.first(where: condition) { return event }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

extension TraceEvent {
    subscript(field: String) -> JSONValue? { fields.first { $0.0 == field }?.1 }
}

/// A proxy with one route and an in-memory trace, for one test.
struct ProxyFixture {
    let proxy: ProxyServer
    let trace: TraceRecorder
    let route: Route

    init(port: Int, upstream: String, proto: ProxyProtocol) throws {
        let trace = TraceRecorder()
        let sink = try TraceSink(path: nil, observer: { trace.record($0) })
        let (host, upstreamPort) = Route.parseAddress(upstream)!
        proxy = ProxyServer(trace: sink)
        route = Route(listenPort: port, upstreamHost: host, upstreamPort: upstreamPort, proto: proto)
        try proxy.addRoute(route)
        self.trace = trace
    }

    func stop() { proxy.stop() }
}

enum Servers {
    static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func reachable(_ address: String) -> Bool {
        guard let (host, port) = Route.parseAddress(address) else { return false }
        return TCPProbe.isReachable(host: host, port: port)
    }

    static let redis: String = {
        let url = variable("LAB_REDIS_URL") ?? "redis://127.0.0.1:16379"
        let trimmed = url.replacingOccurrences(of: "redis://", with: "").split(separator: "/").first.map(String.init) ?? "127.0.0.1:16379"
        return trimmed.split(separator: "@").last.map(String.init) ?? trimmed
    }()
    static let redisReachable = reachable(redis)

    static let mysqlURL = variable("LAB_MYSQL_URL") ?? "mysql://lab:lab@127.0.0.1:13306/lab"
    static let mysql: String = {
        let rest = mysqlURL.replacingOccurrences(of: "mysql://", with: "")
        let hostPart = rest.split(separator: "@").last.map(String.init) ?? rest
        return hostPart.split(separator: "/").first.map(String.init) ?? "127.0.0.1:13306"
    }()
    static let mysqlReachable = reachable(mysql)

    static let tansu = variable("LAB_KAFKA_TANSU_BOOTSTRAP") ?? "127.0.0.1:19092"
    static let tansuReachable = reachable(tansu)

    static let kafkaCluster: [String] = (variable("LAB_KAFKA_BOOTSTRAP") ?? "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094")
        .split(separator: ",").map(String.init)
    static let kafkaClusterReachable = kafkaCluster.allSatisfy(reachable)

    static func which(_ tool: String) -> String? {
        for directory in (variable("PATH") ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// Runs a tool to completion (bounded by `timeout`), returning its status and output.
    static func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(20)) async -> (status: Int32, output: String) {
        await ChildProcess.runCapturingOutput(tool, arguments, timeout: timeout)
    }
}

/// The admin API through the client `lab proxy fault` uses, with the body parsed as JSON.
enum AdminClient {
    static func request(_ method: String, port: Int, path: String) async throws -> (status: Int, body: JSONValue?) {
        let (status, body) = try await ProxyAdminClient.request(method, port: port, path: path)
        return (status, JSONValue.parse(body.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}

/// Collects what a channel receives, and whether it closed.
final class ByteCollector: ChannelHandler, Sendable {
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

import Foundation
import KafkaWire
import Testing

/// The KafkaClient and KafkaAdmin suites, run one test at a time: one of them takes a mock
/// broker down, which would fail the others' requests to that broker if they ran alongside.
@Suite("KafkaClient and KafkaAdmin integration", .serialized)
struct KafkaClientIntegrationSuites {}

/// librdkafka's mock control API (LAB_KAFKA_MOCK_CONTROL), spoken over a plain socket: the mock
/// has no CreateTopics on the wire, and brokers are taken down and up through it.
enum KafkaMockControl {
    static var baseURL: String? {
        let value = ProcessInfo.processInfo.environment["LAB_KAFKA_MOCK_CONTROL"]
        return value?.isEmpty == false ? value : nil
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// POSTs `path` (with its query) and returns the body; throws on a non-2xx status.
    @discardableResult
    static func post(_ path: String) throws -> String {
        guard let base = baseURL, let url = URL(string: base), let host = url.host, let port = url.port else {
            throw Failure(description: "LAB_KAFKA_MOCK_CONTROL is not set")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw Failure(description: "cannot connect to \(base)") }
        let request = Array("POST \(path) HTTP/1.0\r\nHost: \(host)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        guard (200..<300).contains(status) else { throw Failure(description: "POST \(path): \(text.prefix(200))") }
        return text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }
}

extension KafkaTestCluster {
    var isMock: Bool { name == "librdkafka-mock" }
    var isTansu: Bool { name == "tansu" }

    /// librdkafka's mock advertises flexible versions of the group APIs that its handlers
    /// cannot parse (it closes the connection); librdkafka itself never sends them.
    static let mockVersionCaps = KafkaClientConfiguration.librdkafkaMockVersionCaps

    func makeClient() -> KafkaClient {
        KafkaClient(configuration: .init(
            bootstrapServers: bootstrap.map { KafkaBootstrapServer(host: $0.host, port: $0.port) },
            clientID: "lab-client-tests", requestTimeout: .seconds(10),
            retry: .init(maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500)),
            maxApiVersions: isMock ? Self.mockVersionCaps : [:]))
    }

    /// Creates a topic: through the control API on the mock (it has no CreateTopics), through
    /// CreateTopics elsewhere. Waits until metadata shows every partition with a leader.
    func createTopic(_ client: KafkaClient, _ name: String, partitions: Int32) async throws {
        if isMock {
            try KafkaMockControl.post("/topics?name=\(name)&partitions=\(partitions)&replication=1")
        } else {
            try await KafkaAdmin(client: client).createTopic(name, partitions: partitions, replicationFactor: 1)
        }
        for _ in 0..<50 {
            let metadata = try await client.refreshMetadata(topics: [name])
            if let topic = metadata.topics[name], topic.partitions.count == Int(partitions),
               topic.partitions.values.allSatisfy({ $0.leaderID >= 0 }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("topic \(name) has no leaders after 5 s")
    }

    static func uniqueTopic(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }
}

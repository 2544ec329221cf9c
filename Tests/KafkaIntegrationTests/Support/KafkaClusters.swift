import Foundation
import KafkaWire
import Testing
import WireCore

/// The Kafka peers the tests can reach: Tansu and librdkafka's mock (started by
/// `scripts/infra up`), and any real cluster named by LAB_KAFKA_BOOTSTRAP.
struct KafkaTestCluster: Sendable, CustomTestStringConvertible {
    let name: String
    let bootstrap: [(host: String, port: Int)]

    var testDescription: String { name }

    static let all: [KafkaTestCluster] = {
        let environment = ProcessInfo.processInfo.environment
        var clusters: [KafkaTestCluster] = []
        for (name, variable) in [("tansu", "LAB_KAFKA_TANSU_BOOTSTRAP"), ("librdkafka-mock", "LAB_KAFKA_MOCK_BOOTSTRAP"), ("kafka", "LAB_KAFKA_BOOTSTRAP")] {
            guard let raw = environment[variable], !raw.isEmpty else { continue }
            let servers = raw.split(separator: ",").compactMap { entry -> (String, Int)? in
                guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]) else { return nil }
                return (String(entry[..<colon]), port)
            }
            if !servers.isEmpty, reachable(servers[0]) { clusters.append(KafkaTestCluster(name: name, bootstrap: servers)) }
        }
        return clusters
    }()

    static let skipReason: Comment = "no Kafka peer reachable: run `scripts/infra up kafka-tansu kafka-mock` (LAB_KAFKA_TANSU_BOOTSTRAP / LAB_KAFKA_MOCK_BOOTSTRAP) or set LAB_KAFKA_BOOTSTRAP"

    private static func reachable(_ server: (String, Int)) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.1).bigEndian)
        inet_pton(AF_INET, server.0, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

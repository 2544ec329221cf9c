import LabTestSupport
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
            if !servers.isEmpty, TCPProbe.isReachable(host: servers[0].0, port: servers[0].1) { clusters.append(KafkaTestCluster(name: name, bootstrap: servers)) }
        }
        return clusters
    }()

    static let skipReason: Comment = "no Kafka peer reachable: run `scripts/infra up kafka-tansu kafka-mock` (LAB_KAFKA_TANSU_BOOTSTRAP / LAB_KAFKA_MOCK_BOOTSTRAP) or set LAB_KAFKA_BOOTSTRAP"
}

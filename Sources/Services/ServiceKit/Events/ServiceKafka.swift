import Foundation
import KafkaWire
import Logging

/// Kafka set-up shared by the services and the harness.
public enum ServiceKafka {
    /// Creates the topics that do not exist yet (an existing topic is left as it is) and waits
    /// until every partition of each has a leader. The replication factor defaults to the
    /// broker's own (-1: on a real cluster its default.replication.factor, so acks=all meets
    /// min.insync.replicas), falling back to 1 for brokers that do not take -1.
    ///
    /// librdkafka's mock cluster has no CreateTopics on the wire; when `mockControl` (its HTTP
    /// control API, `LAB_KAFKA_MOCK_CONTROL`) is given, topics are created through it instead.
    public static func ensureTopics(
        bootstrap: String, _ topics: [String], partitions: Int32, replicationFactor: Int16 = -1,
        mockControl: String? = ProcessInfo.processInfo.environment["LAB_KAFKA_MOCK_CONTROL"],
        logger: Logger = Logger(label: "lab.kafka")
    ) async throws {
        let client = try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-topic-setup")
        do {
            try await create(topics, partitions: partitions, replicationFactor: replicationFactor, client: client,
                             mockControl: isMock(bootstrap: bootstrap) ? mockControl : nil, logger: logger)
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }

    private static func create(
        _ topics: [String], partitions: Int32, replicationFactor: Int16, client: KafkaClient, mockControl: String?, logger: Logger
    ) async throws {
        let admin = KafkaAdmin(client: client)
        let existing = Set(try await admin.listTopics())
        for topic in topics where !existing.contains(topic) {
            if let mockControl {
                try await createOnMock(topic, partitions: partitions, control: mockControl)
                logger.info("topic created (mock control API)", metadata: ["topic": "\(topic)", "partitions": "\(partitions)"])
                continue
            }
            do {
                try await admin.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
                logger.info("topic created", metadata: ["topic": "\(topic)", "partitions": "\(partitions)"])
            } catch where replicationFactor == -1 && !isAlreadyExists(error) {
                // A broker that cannot take its own default (-1) gets one replica.
                do {
                    try await admin.createTopic(topic, partitions: partitions, replicationFactor: 1)
                    logger.info("topic created", metadata: ["topic": "\(topic)", "partitions": "\(partitions)", "replicas": "1"])
                } catch {
                    guard isAlreadyExists(error) else { throw error }
                }
            } catch {
                guard isAlreadyExists(error) else { throw error }
            }
        }
        for topic in topics {
            var ready = false
            for _ in 0..<100 {
                let found = (try? await client.partitions(of: topic)) ?? []
                if !found.isEmpty && found.allSatisfy({ $0.leaderID >= 0 }) { ready = true; break }
                await client.forgetTopic(topic)
                try await Task.sleep(for: .milliseconds(100))
            }
            if !ready { throw ServiceError.dependency("topic \(topic) has no leader for every partition after 10 s") }
        }
    }

    /// A client for `bootstrap`, with the API version caps librdkafka's mock cluster needs
    /// when that is where it points (the services run unchanged against every Kafka).
    public static func client(bootstrap: String, clientID: String, requestTimeout: Duration = .seconds(30)) throws -> KafkaClient {
        guard let servers = KafkaBootstrapServer.parseList(bootstrap) else {
            throw ServiceError.invalidConfiguration("cannot parse Kafka bootstrap servers '\(bootstrap)' (want host:port[,host:port…])")
        }
        return KafkaClient(configuration: KafkaClientConfiguration(
            bootstrapServers: servers, clientID: clientID, requestTimeout: requestTimeout,
            maxApiVersions: isMock(bootstrap: bootstrap) ? KafkaClientConfiguration.librdkafkaMockVersionCaps : [:]))
    }

    /// The bootstrap is the mock cluster's (`LAB_KAFKA_MOCK_BOOTSTRAP`).
    static func isMock(bootstrap: String) -> Bool {
        guard let mock = ProcessInfo.processInfo.environment["LAB_KAFKA_MOCK_BOOTSTRAP"], !mock.isEmpty else { return false }
        return Set(mock.split(separator: ",")) == Set(bootstrap.split(separator: ","))
    }

    static func createOnMock(_ topic: String, partitions: Int32, control: String) async throws {
        let address = control.hasPrefix("http://") ? String(control.dropFirst(7)) : control
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1].prefix { $0.isNumber }) else {
            throw ServiceError.invalidConfiguration("LAB_KAFKA_MOCK_CONTROL is not http://HOST:PORT: \(control)")
        }
        let client = HTTPClient(host: String(parts[0]), port: port)
        defer { client.close() }
        let response = try await client.request("POST", "/topics?name=\(topic)&partitions=\(partitions)&replication=1")
        guard (200..<300).contains(response.status) else {
            throw ServiceError.dependency("mock cluster control API: creating \(topic) answered HTTP \(response.status) \(response.text)")
        }
    }

    static func isAlreadyExists(_ error: any Error) -> Bool {
        if case let .broker(code, _, _, _, _, _)? = error as? KafkaClientError { return code == .topicAlreadyExists }
        return false
    }
}

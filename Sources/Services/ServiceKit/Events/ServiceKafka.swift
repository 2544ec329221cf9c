import KafkaWire
import Logging

/// Kafka set-up shared by the services and the harness.
public enum ServiceKafka {
    /// Creates the topics that do not exist yet (an existing topic is left as it is) and waits
    /// until every partition of each has a leader.
    public static func ensureTopics(
        bootstrap: String, _ topics: [String], partitions: Int32, replicationFactor: Int16 = 1,
        logger: Logger = Logger(label: "lab.kafka")
    ) async throws {
        let client = try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-topic-setup")
        do {
            try await create(topics, partitions: partitions, replicationFactor: replicationFactor, client: client, logger: logger)
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }

    private static func create(
        _ topics: [String], partitions: Int32, replicationFactor: Int16, client: KafkaClient, logger: Logger
    ) async throws {
        let admin = KafkaAdmin(client: client)
        let existing = Set(try await admin.listTopics())
        for topic in topics where !existing.contains(topic) {
            do {
                try await admin.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
                logger.info("topic created", metadata: ["topic": "\(topic)", "partitions": "\(partitions)"])
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

    static func isAlreadyExists(_ error: any Error) -> Bool {
        if case let .broker(code, _, _, _, _, _)? = error as? KafkaClientError { return code == .topicAlreadyExists }
        return false
    }
}

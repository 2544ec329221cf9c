import ConsumerService
import Foundation
import KafkaWire
import MySQLWire
import ServiceKit

/// What the consumer-service and replay-worker suites add to ServicesTestKit: a consumer
/// engine run in-process (no ServiceRuntime: its logging and metrics bootstraps are once per
/// process), their topics, and producing account events.
enum ConsumerTestKit {
    static func eventID() -> String { UUID().uuidString.lowercased() }

    /// Options for a test engine: small pool and topics, short polls; tiers as given.
    static func options(handler: ConsumerHandler, topic: String, group: String, retryTiers: [Duration] = []) -> ConsumerService.Options {
        var options = ConsumerService.Options(handler: handler, topic: topic, environment: ServicesTestKit.environment)
        options.group = group
        options.pool = ConnectionPoolConfiguration(maximumPoolSize: 4, connectionTimeout: .seconds(5))
        options.poolName = "consumer-tests"
        options.workers = 4
        options.retryTiers = retryTiers
        options.topicPartitions = 2
        options.pollTimeout = .milliseconds(200)
        return options
    }

    static func ensureTopics(_ topics: [String]) async throws {
        try await ServiceKafka.ensureTopics(bootstrap: ServicesTestKit.environment.kafkaBootstrap, topics, partitions: 2)
    }

    /// Produces `records` in order and waits for every acknowledgement.
    static func produce(_ records: [ProducerRecord]) async throws {
        let producer = try KafkaProducer(bootstrapServers: ServicesTestKit.environment.kafkaBootstrap, clientID: "consumer-tests-producer")
        do {
            for record in records { try await producer.send(record) }
            await producer.close()
        } catch {
            await producer.close()
            throw error
        }
    }

    static func accountRecord(_ event: AccountDeposited, topic: String, headers: [RecordHeader] = []) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(event.accountId.utf8), value: EventCoding.encode(event),
                       headers: [RecordHeader(key: EventHeaders.id, value: EventHeaders.string(event.eventId))] + headers)
    }

    /// An engine consuming in a task of its own until `stop`.
    final class RunningConsumer: Sendable {
        let engine: ConsumerEngine
        let task: Task<Void, any Error>

        init(_ options: ConsumerService.Options) throws {
            let engine = try ConsumerEngine(options: options, failpoints: Failpoints(known: ConsumerFailpoints.all))
            self.engine = engine
            task = Task { try await engine.run() }
        }

        var statistics: ConsumerStatistics { engine.statistics }

        /// Cancels the engine and waits for it to close; an error it stopped with is thrown.
        func stop() async throws {
            task.cancel()
            do {
                try await task.value
            } catch is CancellationError {}
        }
    }

    static func int(_ database: ServiceDatabase, _ sql: String, _ parameters: [MySQLValue]) async throws -> Int64? {
        try await database.query(sql, parameters).rows.first?.first?.int64
    }
}

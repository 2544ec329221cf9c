import ConsumerService
import Foundation
import KafkaWire
import LabTestSupport
import MySQLWire
import RESP
import ServiceKit
import Testing

/// What the consumer-service and replay-worker suites share: the servers from the
/// environment, a consumer engine run in-process (no ServiceRuntime: its logging and
/// metrics bootstraps are once per process), producing and reading topics, bounded waits.
enum ConsumerTestKit {
    static let environment = ServiceEnvironment()

    /// MariaDB, Kafka and Redis are named by the environment and accept connections.
    static let serversReachable: Bool = {
        let variables = ProcessInfo.processInfo.environment
        guard variables["LAB_MYSQL_URL"] != nil, variables["LAB_REDIS_URL"] != nil,
              variables["LAB_KAFKA_BOOTSTRAP"].map({ !$0.isEmpty }) == true || variables["LAB_KAFKA_TANSU_BOOTSTRAP"] != nil,
              let mysql = MySQLConfiguration(url: environment.mysqlURL),
              let kafka = KafkaBootstrapServer.parseList(environment.kafkaBootstrap)?.first,
              let redis = try? RedisConnectionConfiguration(url: environment.redisURL)
        else { return false }
        return TCPProbe.isReachable(host: mysql.host, port: mysql.port) && TCPProbe.isReachable(host: kafka.host, port: kafka.port)
            && TCPProbe.isReachable(host: redis.host, port: redis.port)
    }()

    static let skipReason: Comment = """
        needs MariaDB (LAB_MYSQL_URL), Kafka (LAB_KAFKA_TANSU_BOOTSTRAP or LAB_KAFKA_BOOTSTRAP) and Redis \
        (LAB_REDIS_URL): scripts/infra up, then source .infra/env
        """

    /// `prefix-` and 12 random hex digits: topic, group and account names no other run uses.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
    }

    static func eventID() -> String { UUID().uuidString.lowercased() }

    /// Options for a test engine: small pool and topics, short polls; tiers as given.
    static func options(handler: ConsumerHandler, topic: String, group: String, retryTiers: [Duration] = []) -> ConsumerService.Options {
        var options = ConsumerService.Options(handler: handler, topic: topic, environment: environment)
        options.group = group
        options.pool = ConnectionPoolConfiguration(maximumPoolSize: 4, connectionTimeout: .seconds(5))
        options.poolName = "consumer-tests"
        options.workers = 4
        options.retryTiers = retryTiers
        options.topicPartitions = 2
        options.pollTimeout = .milliseconds(200)
        return options
    }

    /// A small pool on the lab database, migrations applied.
    static func database() async throws -> ServiceDatabase {
        let database = try ServiceDatabase(
            url: environment.mysqlURL, poolName: "consumer-tests-reader",
            pool: ConnectionPoolConfiguration(maximumPoolSize: 2, connectionTimeout: .seconds(10)))
        try await Migrations.applyBundled(database)
        return database
    }

    static func ensureTopics(_ topics: [String]) async throws {
        try await ServiceKafka.ensureTopics(bootstrap: environment.kafkaBootstrap, topics, partitions: 2)
    }

    /// Produces `records` in order and waits for every acknowledgement.
    static func produce(_ records: [ProducerRecord]) async throws {
        let producer = try KafkaProducer(bootstrapServers: environment.kafkaBootstrap, clientID: "consumer-tests-producer")
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

    /// Reads `topic` from the beginning of every partition until `done` holds for what was
    /// read or `timeout` passes.
    static func readTopic(_ topic: String, timeout: Duration = .seconds(30), until done: ([ConsumerRecord]) -> Bool) async throws -> [ConsumerRecord] {
        let consumer = try KafkaConsumer(
            bootstrapServers: environment.kafkaBootstrap, clientID: "consumer-tests-reader",
            configuration: KafkaConsumerConfiguration(autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100)))
        do {
            let partitions = try await consumer.client.partitions(of: topic)
            try await consumer.assign(partitions.map { TopicPartition(topic, $0.index) })
            var records: [ConsumerRecord] = []
            let deadline = ContinuousClock.now + timeout
            while !done(records), ContinuousClock.now < deadline {
                records += try await consumer.poll(timeout: .milliseconds(300))
            }
            await consumer.close()
            return records
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// Checks `condition` every 100 ms until it holds or `timeout` passes; whether it held.
    static func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
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

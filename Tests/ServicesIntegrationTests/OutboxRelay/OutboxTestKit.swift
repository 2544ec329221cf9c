import Foundation
import KafkaWire
import LabTestSupport
import MySQLWire
import ServiceKit
import Testing

/// What the command-service and outbox-relay suites share: the servers from the
/// environment, a database handle with the migrations applied, unique names, and reading a
/// topic back from the beginning.
enum OutboxTestKit {
    static let environment = ServiceEnvironment()

    /// MariaDB and a Kafka broker are named by the environment and accept connections.
    static let serversReachable: Bool = {
        let variables = ProcessInfo.processInfo.environment
        guard variables["LAB_MYSQL_URL"] != nil,
              variables["LAB_KAFKA_BOOTSTRAP"].map({ !$0.isEmpty }) == true || variables["LAB_KAFKA_TANSU_BOOTSTRAP"] != nil,
              let mysql = MySQLConfiguration(url: environment.mysqlURL),
              let kafka = KafkaBootstrapServer.parseList(environment.kafkaBootstrap)?.first
        else { return false }
        return TCPProbe.isReachable(host: mysql.host, port: mysql.port) && TCPProbe.isReachable(host: kafka.host, port: kafka.port)
    }()

    static let skipReason: Comment = """
        needs MariaDB (LAB_MYSQL_URL) and Kafka (LAB_KAFKA_TANSU_BOOTSTRAP or LAB_KAFKA_BOOTSTRAP): \
        scripts/infra up, then source .infra/env
        """

    /// A small pool on the lab database, migrations applied.
    static func database() async throws -> ServiceDatabase {
        let database = try ServiceDatabase(
            url: environment.mysqlURL, poolName: "services-integration-tests",
            pool: ConnectionPoolConfiguration(maximumPoolSize: 2, connectionTimeout: .seconds(10)))
        try await Migrations.applyBundled(database)
        return database
    }

    /// 8 hex digits, for names no other test run uses.
    static func uniqueSuffix() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(to: 8) }

    /// Reads `topic` from the beginning of every partition until `done` holds for what was
    /// read (or `timeout` passes), then `settle` longer, so that records beyond the expected
    /// ones (duplicates) are seen too. Records in fetch order; per partition in offset order.
    static func readTopic(
        _ topic: String, timeout: Duration = .seconds(30), settle: Duration = .seconds(1),
        until done: ([ConsumerRecord]) -> Bool
    ) async throws -> [ConsumerRecord] {
        let consumer = try KafkaConsumer(
            bootstrapServers: environment.kafkaBootstrap, clientID: "services-integration-reader",
            configuration: KafkaConsumerConfiguration(autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100)))
        do {
            let partitions = try await consumer.client.partitions(of: topic)
            try await consumer.assign(partitions.map { TopicPartition(topic, $0.index) })
            var records: [ConsumerRecord] = []
            let deadline = ContinuousClock.now + timeout
            while !done(records), ContinuousClock.now < deadline {
                records += try await consumer.poll(timeout: .milliseconds(300))
            }
            let settled = ContinuousClock.now + settle
            while ContinuousClock.now < settled {
                records += try await consumer.poll(timeout: .milliseconds(200))
            }
            await consumer.close()
            return records
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// The outbox rows of aggregates starting with `prefix`, in id order.
    static func outboxRows(_ database: ServiceDatabase, aggregatePrefix prefix: String) async throws -> [(id: Int64, eventID: String, aggregateID: String, sent: Bool)] {
        try await database.query(
            "SELECT id, event_id, aggregate_id, sent_at IS NOT NULL FROM outbox WHERE LEFT(aggregate_id, CHAR_LENGTH(?)) = ? ORDER BY id",
            [.string(prefix), .string(prefix)]
        ).rows.map { ($0[0].int64 ?? -1, $0[1].string ?? "", $0[2].string ?? "", $0[3].int64 == 1) }
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes; whether it held.
    static func eventually(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

import Foundation
import KafkaWire
import LabTestSupport
import MySQLWire
import RESP
import ServiceKit
import Testing

/// What every services suite needs: the servers from the environment, whether the ones a
/// suite needs are up (and the reason it is skipped when they are not), the lab database
/// with the migrations applied, names no other run uses, reading a topic back, and a
/// bounded poll.
enum ServicesTestKit {
    static let environment = ServiceEnvironment()

    /// The servers a suite needs, probed once: each named by the environment and accepting
    /// connections. `skipReason` names the variables and how to get the servers up.
    struct Servers: Sendable {
        let reachable: Bool
        let skipReason: Comment

        init(mysql: Bool, kafka: Bool, redis: Bool) {
            let variables = ProcessInfo.processInfo.environment
            let environment = ServicesTestKit.environment
            var reachable = true
            var needs: [String] = []
            if mysql {
                needs.append("MariaDB (LAB_MYSQL_URL)")
                reachable = reachable && variables["LAB_MYSQL_URL"] != nil
                    && MySQLConfiguration(url: environment.mysqlURL).map { TCPProbe.isReachable(host: $0.host, port: $0.port) } == true
            }
            if kafka {
                needs.append("Kafka (LAB_KAFKA_TANSU_BOOTSTRAP or LAB_KAFKA_BOOTSTRAP)")
                reachable = reachable
                    && (variables["LAB_KAFKA_BOOTSTRAP"].map { !$0.isEmpty } == true || variables["LAB_KAFKA_TANSU_BOOTSTRAP"] != nil)
                    && KafkaBootstrapServer.parseList(environment.kafkaBootstrap)?.first.map { TCPProbe.isReachable(host: $0.host, port: $0.port) } == true
            }
            if redis {
                needs.append("Redis (LAB_REDIS_URL)")
                reachable = reachable && variables["LAB_REDIS_URL"] != nil
                    && (try? RedisConnectionConfiguration(url: environment.redisURL)).map { TCPProbe.isReachable(host: $0.host, port: $0.port) } == true
            }
            self.reachable = reachable
            let listed = needs.count > 1 ? needs.dropLast().joined(separator: ", ") + " and " + needs[needs.count - 1] : needs.joined()
            skipReason = Comment(rawValue: "needs \(listed): scripts/infra up, then source .infra/env")
        }
    }

    /// The command-service and outbox-relay suites.
    static let mysqlAndKafka = Servers(mysql: true, kafka: true, redis: false)
    /// The consumer-service and replay-worker suites.
    static let mysqlKafkaAndRedis = Servers(mysql: true, kafka: true, redis: true)
    /// The query-service suites.
    static let mysqlAndRedis = Servers(mysql: true, kafka: false, redis: true)

    /// A small pool on the lab database, migrations applied.
    static func database(
        poolName: String = "services-integration-tests", maximumPoolSize: Int = 2
    ) async throws -> ServiceDatabase {
        let database = try ServiceDatabase(
            url: environment.mysqlURL, poolName: poolName,
            pool: ConnectionPoolConfiguration(maximumPoolSize: maximumPoolSize, connectionTimeout: .seconds(10)))
        try await Migrations.applyBundled(database)
        return database
    }

    /// `prefix-` and 12 random hex digits: topic, group, account and aggregate names no
    /// other test or run uses.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
    }

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

    /// Checks `condition` every 100 ms until it holds or `timeout` passes; whether it held.
    static func eventually(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

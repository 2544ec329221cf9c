import Foundation
import KafkaWire
import MySQLWire
import ServiceKit
import Testing

/// The outbox-relay as a process (`lab service outbox-relay`) against MariaDB and Kafka.
/// Each test writes its own outbox rows under an aggregate-id prefix of its own and runs the
/// relay with `--aggregate-prefix` on a topic of its own, so other tests' rows are never
/// touched.
@Suite(
    .serialized,
    .enabled(if: ServicesTestKit.mysqlAndKafka.reachable, ServicesTestKit.mysqlAndKafka.skipReason),
    .enabled(if: ServiceProcess.labPath != nil, ServiceProcess.missingLabReason)
)
struct OutboxRelayTests {
    struct OutboxEvent {
        var outboxID: Int64
        var eventID: String
        var aggregateID: String
    }

    static let crashAfterFirstBatch = "relay.after_publish_before_mark=crash,after=1"

    /// Writes `count` outbox rows in one transaction, round-robin over `aggregates`, with
    /// AccountDeposited payloads numbered per aggregate; returns them in id order.
    static func insertOutbox(_ database: ServiceDatabase, aggregates: [String], count: Int) async throws -> [OutboxEvent] {
        try await database.transaction { connection in
            var versions: [String: Int64] = [:]
            var events: [OutboxEvent] = []
            for index in 0..<count {
                let aggregate = aggregates[index % aggregates.count]
                let version = (versions[aggregate] ?? 0) + 1
                versions[aggregate] = version
                let eventID = UUID().uuidString.lowercased()
                let payload = EventCoding.encode(AccountDeposited(
                    eventId: eventID, accountId: aggregate, amountCents: 100, balanceCents: 100 * version, version: version,
                    occurredAt: Int64(Date().timeIntervalSince1970 * 1000)))
                let result = try await connection.query(
                    """
                    INSERT INTO outbox (event_id, aggregate_type, aggregate_id, type, payload, created_at)
                    VALUES (?, 'account', ?, 'AccountDeposited', ?, NOW(6))
                    """,
                    [.string(eventID), .string(aggregate), .string(String(decoding: payload, as: UTF8.self))])
                events.append(OutboxEvent(outboxID: Int64(result.lastInsertID), eventID: eventID, aggregateID: aggregate))
            }
            return events
        }
    }

    static func deleteOutbox(_ database: ServiceDatabase, _ events: [OutboxEvent]) async {
        for event in events { _ = try? await database.query("DELETE FROM outbox WHERE id = ?", [.int(event.outboxID)]) }
    }

    static func startRelay(topic: String, prefix: String, batchSize: Int, environment: [String: String] = [:]) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            arguments: [
                "service", "outbox-relay", "--topic", topic, "--topic-partitions", "3", "--aggregate-prefix", prefix,
                "--batch-size", "\(batchSize)", "--poll-interval-ms", "50",
                "--mysql-url", ServicesTestKit.environment.mysqlURL, "--kafka-bootstrap", ServicesTestKit.environment.kafkaBootstrap,
            ],
            environment: environment, port: ServiceProcess.freePort())
    }

    static func unsentCount(_ database: ServiceDatabase, prefix: String) async throws -> Int {
        try await OutboxTestKit.outboxRows(database, aggregatePrefix: prefix).filter { !$0.sent }.count
    }

    @Test("every row is published exactly once, per aggregate in outbox id order, and marked sent; other prefixes are left alone")
    func relaysEveryRowOnceInOrder() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let prefix = "\(ServicesTestKit.unique("rt_"))-"
        // `_` is LIKE's one-character wildcard: the decoy would match an unescaped prefix.
        let decoyPrefix = "rtx" + prefix.dropFirst(3)
        let topic = ServicesTestKit.unique("relaytest-order")
        let aggregates = (1...4).map { "\(prefix)acct\($0)" }
        let events = try await Self.insertOutbox(database, aggregates: aggregates, count: 40)
        let decoys = try await Self.insertOutbox(database, aggregates: ["\(decoyPrefix)acct1"], count: 3)

        let relay = try await Self.startRelay(topic: topic, prefix: prefix, batchSize: 7)
        let drained = try await ServicesTestKit.eventually(timeout: .seconds(30)) { try await Self.unsentCount(database, prefix: prefix) == 0 }
        #expect(drained, "backlog did not drain; relay output:\n\(relay.outputTail())")
        let rows = try await OutboxTestKit.outboxRows(database, aggregatePrefix: prefix)
        #expect(rows.count == 40 && rows.allSatisfy(\.sent))
        let decoyRows = try await OutboxTestKit.outboxRows(database, aggregatePrefix: decoyPrefix)
        #expect(decoyRows.count == 3 && decoyRows.allSatisfy { !$0.sent }, "the relay touched rows outside its prefix")
        let backlogZero = try await ServicesTestKit.eventually(timeout: .seconds(5)) { try await relay.metric("lab_outbox_backlog") == 0 }
        #expect(backlogZero, "lab_outbox_backlog did not reach 0")
        #expect(try await relay.metric("lab_outbox_published_total") == 40)
        #expect(try await relay.metric("lab_outbox_oldest_age_seconds") == 0)
        let stopped = await relay.stop()
        #expect(stopped == 0, "a clean stop exits 0; output:\n\(relay.outputTail())")

        let expected = Set(events.map(\.eventID))
        let records = try await ServicesTestKit.readTopic(topic) { records in
            expected.isSubset(of: records.compactMap { $0.headerString(EventHeaders.id) })
        }
        let ids = records.compactMap { $0.headerString(EventHeaders.id) }
        #expect(Set(ids) == expected, "missing \(expected.subtracting(ids).count) events, \(Set(ids).subtracting(expected).count) foreign")
        #expect(ids.count == events.count, "\(ids.count - Set(ids).count) duplicates")
        for aggregate in aggregates {
            let onTopic = records.filter { $0.keyString == aggregate }.sorted { $0.offset < $1.offset }
            #expect(Set(onTopic.map(\.partition)).count == 1, "\(aggregate) spread over partitions")
            #expect(onTopic.compactMap { $0.headerString(EventHeaders.id) } == events.filter { $0.aggregateID == aggregate }.map(\.eventID),
                    "\(aggregate): topic order differs from outbox id order")
            #expect(onTopic.allSatisfy { $0.headerString(EventHeaders.type) == AccountDeposited.type })
        }
        await Self.deleteOutbox(database, decoys)
    }

    @Test("killed between publish and mark, the relay re-publishes that batch on restart: at least once, duplicates only there")
    func crashBetweenPublishAndMarkRepublishes() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let prefix = "\(ServicesTestKit.unique("rc"))-"
        let topic = ServicesTestKit.unique("relaytest-crash")
        let batchSize = 5
        // Rows only after the relay is up: its first batch must be the first 5 rows, not race its start.
        let crashing = try await Self.startRelay(topic: topic, prefix: prefix, batchSize: batchSize,
                                                 environment: ["LAB_FAILPOINTS": Self.crashAfterFirstBatch])
        let events = try await Self.insertOutbox(database, aggregates: (1...3).map { "\(prefix)acct\($0)" }, count: 20)
        let status = await crashing.waitForExit(timeout: .seconds(30))
        #expect(status == 128 + SIGKILL, "exit \(String(describing: status)); output:\n\(crashing.outputTail())")

        let marked = Set(try await OutboxTestKit.outboxRows(database, aggregatePrefix: prefix).filter(\.sent).map(\.eventID))
        #expect(marked == Set(events.prefix(batchSize).map(\.eventID)), "only the first batch is marked sent")
        let crashedBatch = Set(events.dropFirst(batchSize).prefix(batchSize).map(\.eventID))
        let beforeRestart = try await ServicesTestKit.readTopic(topic) { records in
            marked.union(crashedBatch).isSubset(of: records.compactMap { $0.headerString(EventHeaders.id) })
        }
        let publishedUnmarked = Set(beforeRestart.compactMap { $0.headerString(EventHeaders.id) }).subtracting(marked)
        #expect(publishedUnmarked == crashedBatch, "the crashed batch was published but not marked")

        let restarted = try await Self.startRelay(topic: topic, prefix: prefix, batchSize: batchSize)
        let drained = try await ServicesTestKit.eventually(timeout: .seconds(30)) { try await Self.unsentCount(database, prefix: prefix) == 0 }
        #expect(drained, "backlog did not drain after the restart; output:\n\(restarted.outputTail())")
        let backlogZero = try await ServicesTestKit.eventually(timeout: .seconds(5)) { try await restarted.metric("lab_outbox_backlog") == 0 }
        #expect(backlogZero)
        await restarted.stop()

        let expected = Set(events.map(\.eventID))
        let records = try await ServicesTestKit.readTopic(topic) { records in
            records.count >= events.count + batchSize
        }
        var counts: [String: Int] = [:]
        for record in records { if let id = record.headerString(EventHeaders.id) { counts[id, default: 0] += 1 } }
        #expect(expected.isSubset(of: counts.keys), "lost \(expected.subtracting(counts.keys).count) events")
        let duplicated = Set(counts.filter { $0.value > 1 }.keys)
        #expect(!duplicated.isEmpty, "the crash should have produced duplicates")
        #expect(duplicated == crashedBatch, "duplicates outside the crashed batch: \(duplicated.subtracting(crashedBatch))")
        #expect(crashedBatch.allSatisfy { counts[$0] == 2 })
    }

    @Test("lab_outbox_backlog and /health follow the outbox: unsent rows counted while marking fails, 0 once drained")
    func backlogMetricAndHealth() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let prefix = "\(ServicesTestKit.unique("rb"))-"
        let topic = ServicesTestKit.unique("relaytest-backlog")
        let relay = try await Self.startRelay(topic: topic, prefix: prefix, batchSize: 100,
                                              environment: ["LAB_FAILPOINTS": "relay.after_publish_before_mark=error(mark refused)"])
        _ = try await Self.insertOutbox(database, aggregates: ["\(prefix)acct1", "\(prefix)acct2"], count: 6)

        let counted = try await ServicesTestKit.eventually(timeout: .seconds(10)) { try await relay.metric("lab_outbox_backlog") == 6 }
        #expect(counted, "lab_outbox_backlog never showed the 6 unsent rows")
        let aged = try await ServicesTestKit.eventually(timeout: .seconds(5)) { (try await relay.metric("lab_outbox_oldest_age_seconds") ?? 0) > 0 }
        #expect(aged, "lab_outbox_oldest_age_seconds stayed 0 with unsent rows")
        let unhealthy = try await relay.http.get("/health")
        #expect(unhealthy.status == 503)
        #expect(unhealthy.text.contains("mark refused"), "\(unhealthy.text)")

        let disarmed = try await relay.http.request("DELETE", "/failpoints/relay.after_publish_before_mark")
        #expect(disarmed.status == 200)
        let drained = try await ServicesTestKit.eventually(timeout: .seconds(15)) { try await relay.metric("lab_outbox_backlog") == 0 }
        #expect(drained, "lab_outbox_backlog did not reach 0; output:\n\(relay.outputTail())")
        #expect(try await relay.metric("lab_outbox_oldest_age_seconds") == 0)
        #expect(try await Self.unsentCount(database, prefix: prefix) == 0)
        let healthy = try await ServicesTestKit.eventually(timeout: .seconds(5)) { try await relay.http.get("/health").status == 200 }
        #expect(healthy)
        await relay.stop()
    }
}

import ConsumerService
import Foundation
import KafkaWire
import LabTestSupport
import MySQLWire
import ReplayWorker
import ServiceKit
import Testing

@Suite("ReplayWorkerTests")
struct ReplayWorkerTests {
    typealias Kit = ConsumerTestKit

    /// `n` deposits to one account, as the consumer would have dead-lettered them from `topic`.
    static func deadLetters(_ n: Int, account: String, topic: String) -> (events: [AccountDeposited], records: [ProducerRecord]) {
        let events = (1...n).map {
            AccountDeposited(eventId: Kit.eventID(), accountId: account, amountCents: Int64(100 * $0), balanceCents: 0, version: Int64($0),
                             occurredAt: Int64(Date().timeIntervalSince1970 * 1000))
        }
        let records = events.map { event in
            Kit.accountRecord(event, topic: "\(topic)-dlt", headers: [
                RecordHeader(key: EventHeaders.originalTopic, value: EventHeaders.string(topic)),
                RecordHeader(key: EventHeaders.originalPartition, value: EventHeaders.string("0")),
                RecordHeader(key: EventHeaders.originalOffset, value: EventHeaders.string("0")),
                RecordHeader(key: EventHeaders.exceptionMessage, value: EventHeaders.string("boom")),
                RecordHeader(key: EventHeaders.attempts, value: EventHeaders.string("4")),
            ])
        }
        return (events, records)
    }

    @Test("a DLT written in multi-record batches is replayed to its last record (its end comes from Fetch, not ListOffsets, which some brokers count in batches)",
          .enabled(if: ServicesTestKit.mysqlAndKafka.reachable, ServicesTestKit.mysqlAndKafka.skipReason))
    func replaysEveryRecordOfBatchedDLT() async throws {
        let topic = ServicesTestKit.unique("lab-test-replay-batched"), account = ServicesTestKit.unique("acc")
        let dlt = "\(topic)-dlt"
        try await Kit.ensureTopics([topic, dlt])
        let n = 12
        let (_, records) = Self.deadLetters(n, account: account, topic: topic)
        // Produced without waiting for each ack, then flushed: one key, one partition, so the
        // records share batches.
        let producer = try KafkaProducer(
            bootstrapServers: ServicesTestKit.environment.kafkaBootstrap, clientID: "replay-tests-batched",
            configuration: KafkaProducerConfiguration(linger: .milliseconds(50)))
        for record in records { try await producer.produce(record) }
        await producer.flush()
        #expect(producer.statistics.batchesSent < n, "the records should share batches (\(producer.statistics.batchesSent) batches)")
        await producer.close()

        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let replayer = try DeadLetterReplayer(database: database, kafkaBootstrap: ServicesTestKit.environment.kafkaBootstrap, defaultRatePerSecond: 1000)
        let summary = try await replayer.replay(ReplayRequest(dltTopic: dlt))
        await replayer.close()
        #expect(summary.scanned == n)
        #expect(summary.replayed == n)
    }

    @Test("replay applies each dead-lettered event once; a second replay replays nothing and changes nothing",
          .enabled(if: ServicesTestKit.mysqlKafkaAndRedis.reachable, ServicesTestKit.mysqlKafkaAndRedis.skipReason))
    func replayTwice() async throws {
        let topic = ServicesTestKit.unique("lab-test-replay"), account = ServicesTestKit.unique("acc")
        var options = Kit.options(handler: .account, topic: topic, group: ServicesTestKit.unique("consumer-test"))
        options.cacheInvalidation = .none
        let dlt = options.topology.deadLetterTopic
        try await Kit.ensureTopics(options.topology.allTopics)
        let n = 5
        let (events, records) = Self.deadLetters(n, account: account, topic: topic)
        try await Kit.produce(records)
        let total = events.reduce(0) { $0 + $1.amountCents }

        let consumer = try Kit.RunningConsumer(options)
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let replayer = try DeadLetterReplayer(database: database, kafkaBootstrap: ServicesTestKit.environment.kafkaBootstrap, defaultRatePerSecond: 100)

        var expected = ReplaySummary()
        expected.scanned = n
        expected.replayed = n
        let first = try await replayer.replay(ReplayRequest(dltTopic: dlt))
        #expect(first == expected)
        let applied = await ServicesTestKit.eventually(timeout: .seconds(60)) { consumer.statistics.applied >= n }
        #expect(applied, "the consumer applied \(consumer.statistics.applied) of \(n) replayed events in 60 s")

        func state() async throws -> [Int64?] {
            [
                try await Kit.int(database, "SELECT balance_cents FROM account_view WHERE account_id = ?", [.string(account)]),
                try await Kit.int(database, "SELECT applied_events FROM account_view WHERE account_id = ?", [.string(account)]),
                try await Kit.int(database, "SELECT COUNT(*) FROM ledger_entry WHERE account_id = ?", [.string(account)]),
                try await Kit.int(database, "SELECT COUNT(*) FROM replay_log WHERE dlt_topic = ?", [.string(dlt)]),
            ]
        }
        let afterFirst = try await state()
        #expect(afterFirst == [total, Int64(n), Int64(n), Int64(n)])

        // What was replayed: the original key, value and id, no retry/DLT headers, and where it came from.
        let replayed = try await ServicesTestKit.readTopic(topic, settle: .zero) { $0.count >= n }
        #expect(replayed.count == n)
        for record in replayed {
            #expect(record.keyString == account)
            #expect(record.headerString(EventHeaders.id) != nil)
            #expect(record.headerString(DeadLetterReplayer.replayedFromHeader)?.hasPrefix("\(dlt)@") == true)
            #expect(record.headers.allSatisfy { !$0.key.hasPrefix("kafka_dlt-") && !$0.key.hasPrefix("retry_topic-") }, "\(record.headers.map(\.key))")
        }

        expected.replayed = 0
        expected.skippedAlreadyReplayed = n
        let second = try await replayer.replay(ReplayRequest(dltTopic: dlt))
        #expect(second == expected)
        try await Task.sleep(for: .seconds(1))
        #expect(try await state() == afterFirst)
        #expect(consumer.statistics.applied == n)
        #expect(consumer.statistics.duplicates == 0)

        // Filters: a key that is not there, a time window before everything.
        let byKey = try await replayer.replay(ReplayRequest(dltTopic: dlt, key: "no-such-key"))
        #expect(byKey.filteredOut == n && byKey.scanned == n && byKey.replayed == 0)
        let byTime = try await replayer.replay(ReplayRequest(dltTopic: dlt, fromTimestampMs: 0, toTimestampMs: 1000))
        #expect(byTime.filteredOut == n && byTime.replayed == 0)

        await #expect(throws: DeadLetterTopicNotFound.self) {
            _ = try await replayer.replay(ReplayRequest(dltTopic: ServicesTestKit.unique("lab-test-missing")))
        }
        await replayer.close()
        try await consumer.stop()
    }

    @Test("over HTTP: 400 for bad input, 404 for a missing topic, 200 with the summary; --once prints it",
          .enabled(if: ServicesTestKit.mysqlKafkaAndRedis.reachable, ServicesTestKit.mysqlKafkaAndRedis.skipReason),
          .enabled(if: ServiceProcess.labPath != nil, ServiceProcess.missingLabReason))
    func http() async throws {
        let topic = ServicesTestKit.unique("lab-test-replay-http")
        let dlt = "\(topic)-dlt"
        try await Kit.ensureTopics([topic, dlt])
        let (_, records) = Self.deadLetters(2, account: ServicesTestKit.unique("acc"), topic: topic)
        try await Kit.produce(records)

        let worker = try await ServiceProcess.start(arguments: ["service", "replay-worker"], port: ServiceProcess.freePort())
        do {
            for body in [#"{"dltTopic": 5}"#, #"{"key": "k"}"#, #"{"dltTopic": "t", "ratePerSecond": 0}"#,
                         #"{"dltTopic": "t", "fromTimestampMs": 5, "toTimestampMs": 4}"#, #"{"dltTopic": "t", "bogus": 1}"#, "[]"] {
                let response = try await worker.http.post("/replays", json: body)
                #expect(response.status == 400, "\(body) → \(response.status) \(response.text)")
            }
            let missing = try await worker.http.post("/replays", json: #"{"dltTopic": "\#(ServicesTestKit.unique("lab-test-missing"))"}"#)
            #expect(missing.status == 404, "\(missing.status) \(missing.text)")
            let ok = try await worker.http.post("/replays", json: #"{"dltTopic": "\#(dlt)", "ratePerSecond": 50}"#, timeout: .seconds(60))
            #expect(ok.status == 200, "\(ok.status) \(ok.text)")
            let summary = try JSONDecoder().decode(ReplaySummary.self, from: Data(ok.body))
            #expect(summary.scanned == 2 && summary.replayed == 2)
        } catch {
            await worker.stop()
            throw error
        }
        await worker.stop()

        let lab = try #require(ServiceProcess.labPath)
        let once = await ChildProcess.runCapturingOutput(
            lab, ["service", "replay-worker", "--once", "--dlt-topic", dlt, "--rate", "100"], timeout: .seconds(60))
        #expect(once.status == 0, "\(once.output)")
        let line = once.output.split(separator: "\n").first { $0.hasPrefix("{\"filteredOut\"") }
        let summary = try JSONDecoder().decode(ReplaySummary.self, from: Data(try #require(line, "\(once.output)").utf8))
        #expect(summary.scanned == 2 && summary.replayed == 0 && summary.skippedAlreadyReplayed == 2)
    }

    @Test("a replay request is parsed strictly, with the reason for what is wrong",
          arguments: [
              (#"{"dltTopic": 5}"#, "dltTopic"), (#"{"key": "k"}"#, "missing field 'dltTopic'"), ("[]", "JSON object"),
              (#"{"dltTopic": "t", "ratePerSecond": -1}"#, "ratePerSecond"), (#"{"dltTopic": ""}"#, "empty"),
              (#"{"dltTopic": "t", "fromTimestampMs": 5, "toTimestampMs": 4}"#, "after"), (#"{"dltTopic": "t", "keys": "k"}"#, "unknown field"),
          ])
    func parseRejects(_ body: String, _ reason: String) {
        #expect {
            _ = try ReplayRequest.parse(Array(body.utf8))
        } throws: { error in
            guard case let .invalidInput(why) = error as? ServiceError else { return false }
            return why.contains(reason)
        }
    }

    @Test("a full replay request parses")
    func parseAccepts() throws {
        let request = try ReplayRequest.parse(Array(#"""
            {"dltTopic": "t-dlt", "key": "k", "fromTimestampMs": 1, "toTimestampMs": 2, "ratePerSecond": 2.5, "targetTopic": "t"}
            """#.utf8))
        #expect(request == ReplayRequest(dltTopic: "t-dlt", key: "k", fromTimestampMs: 1, toTimestampMs: 2, ratePerSecond: 2.5, targetTopic: "t"))
    }
}

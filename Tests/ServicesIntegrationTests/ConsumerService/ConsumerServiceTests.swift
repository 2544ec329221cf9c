import ConsumerService
import Foundation
import KafkaWire
import MySQLWire
import RESP
import ServiceKit
import Testing

@Suite("ConsumerServiceTests", .enabled(if: ServicesTestKit.mysqlKafkaAndRedis.reachable, ServicesTestKit.mysqlKafkaAndRedis.skipReason))
struct ConsumerServiceTests {
    typealias Kit = ConsumerTestKit

    /// The same deposit delivered twice to an engine in `mode`; returns what the engine counted
    /// and what the database holds for the account.
    func deliverTwice(mode: ConsumptionMode, invalidation: CacheInvalidationMode) async throws
        -> (statistics: ConsumerStatistics, balance: Int64?, appliedEvents: Int64?, version: Int64?, ledgerRows: Int64?, account: String)
    {
        let topic = ServicesTestKit.unique("lab-test-acct"), account = ServicesTestKit.unique("acc")
        var options = Kit.options(handler: .account, topic: topic, group: ServicesTestKit.unique("consumer-test"))
        options.mode = mode
        options.cacheInvalidation = invalidation
        try await Kit.ensureTopics(options.topology.allTopics)
        let event = AccountDeposited(eventId: Kit.eventID(), accountId: account, amountCents: 1234, balanceCents: 1234, version: 1,
                                     occurredAt: Int64(Date().timeIntervalSince1970 * 1000))
        try await Kit.produce([Kit.accountRecord(event, topic: topic), Kit.accountRecord(event, topic: topic)])

        let consumer = try Kit.RunningConsumer(options)
        let handled = await ServicesTestKit.eventually(timeout: .seconds(60)) {
            let statistics = consumer.statistics
            return statistics.applied + statistics.duplicates >= 2
        }
        // A moment more, so a third (wrong) application would be seen too.
        try await Task.sleep(for: .milliseconds(500))
        try await consumer.stop()
        #expect(handled, "the engine did not handle both deliveries within 60 s: \(consumer.statistics)")

        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let row = try await database.query(
            "SELECT balance_cents, applied_events, version FROM account_view WHERE account_id = ?", [.string(account)]).rows.first
        let ledger = try await Kit.int(database, "SELECT COUNT(*) FROM ledger_entry WHERE event_id = ?", [.string(event.eventId)])
        return (consumer.statistics, row?[0].int64, row?[1].int64, row?[2].int64, ledger, account)
    }

    @Test("idempotent: the same AccountDeposited twice is applied once, the second counted as a duplicate")
    func idempotentAppliesOnce() async throws {
        let outcome = try await deliverTwice(mode: .idempotent, invalidation: .versioned)
        #expect(outcome.statistics.applied == 1)
        #expect(outcome.statistics.duplicates == 1)
        #expect(outcome.statistics.failed == 0)
        #expect(outcome.balance == 1234)
        #expect(outcome.appliedEvents == 1)
        #expect(outcome.version == 1)
        #expect(outcome.ledgerRows == 1)
        // Versioned invalidation moved the account's version pointer to the committed version.
        let redis = RedisClient(try RedisConnectionConfiguration(url: ServicesTestKit.environment.redisURL))
        defer { redis.close() }
        let pointer = try await redis.get(AccountCacheKeys.versionPointer(outcome.account))
        #expect(pointer.map { String(decoding: $0, as: UTF8.self) } == "1")
        _ = try await redis.del(AccountCacheKeys.versionPointer(outcome.account))
    }

    @Test("naive: the same AccountDeposited twice is applied twice (balance doubled, two ledger rows)")
    func naiveAppliesTwice() async throws {
        let outcome = try await deliverTwice(mode: .naive, invalidation: .none)
        #expect(outcome.statistics.applied == 2)
        #expect(outcome.statistics.duplicates == 0)
        #expect(outcome.balance == 2468)
        #expect(outcome.appliedEvents == 2)
        #expect(outcome.ledgerRows == 2)
    }

    @Test("retry tiers: a poison record and an undecodable one reach the DLT after 4 attempts, spaced by the tier delays; a good record is saved once")
    func retryTiersToDeadLetter() async throws {
        let topic = ServicesTestKit.unique("lab-test-scenario")
        let tiers: [Duration] = [.milliseconds(300), .milliseconds(600), .milliseconds(900)]
        var options = Kit.options(handler: .secondScenario, topic: topic, group: ServicesTestKit.unique("consumer-test"), retryTiers: tiers)
        options.poisonRule = .randomValueMod10
        options.poisonHold = .milliseconds(200)
        let topology = options.topology
        try await Kit.ensureTopics(topology.allTopics)

        let poison = SecondScenarioEvent(eventId: Kit.eventID(), message: "poison", randomValue: 40)
        let good = SecondScenarioEvent(eventId: Kit.eventID(), message: "good", randomValue: 7)
        let garbageID = Kit.eventID()
        func record(_ key: String, _ id: String, _ value: [UInt8]) -> ProducerRecord {
            ProducerRecord(topic: topic, key: Array(key.utf8), value: value,
                           headers: [RecordHeader(key: EventHeaders.id, value: EventHeaders.string(id))])
        }
        try await Kit.produce([
            record("k-poison", poison.eventId, EventCoding.encode(poison)),
            record("k-good", good.eventId, EventCoding.encode(good)),
            record("k-garbage", garbageID, Array("not json".utf8)),
        ])

        let consumer = try Kit.RunningConsumer(options)
        let deadLettered = await ServicesTestKit.eventually(timeout: .seconds(90)) { consumer.statistics.deadLettered >= 2 }
        try await Task.sleep(for: .milliseconds(500))
        try await consumer.stop()
        let statistics = consumer.statistics
        #expect(deadLettered, "not dead-lettered within 90 s: \(statistics)")
        #expect(statistics.deadLettered == 2)
        #expect(statistics.retried == 6)
        #expect(statistics.applied == 1)

        // The hops of the poison record, read back from each topic.
        let originals = try await ServicesTestKit.readTopic(topic, settle: .zero) { $0.count >= 3 }
        let original = try #require(originals.first { $0.headerString(EventHeaders.id) == poison.eventId })
        var hops: [ConsumerRecord] = [original]
        for hopTopic in topology.retryTopics + [topology.deadLetterTopic] {
            let records = try await ServicesTestKit.readTopic(hopTopic, settle: .zero) { $0.count >= 2 }
            hops.append(try #require(records.first { $0.headerString(EventHeaders.id) == poison.eventId }, "no poison record in \(hopTopic)"))
            #expect(records.count == 2, "\(hopTopic) holds \(records.count) records, expected the poison and the undecodable one")
        }
        let dead = hops[4]
        #expect(dead.headerString(EventHeaders.attempts) == "4")
        #expect(dead.headerString(EventHeaders.originalTopic) == topic)
        #expect(dead.headerString(EventHeaders.originalPartition) == "\(original.partition)")
        #expect(dead.headerString(EventHeaders.originalOffset) == "\(original.offset)")
        #expect(dead.headerString(EventHeaders.originalTimestamp) == "\(original.timestamp)")
        #expect(dead.headerString(EventHeaders.exceptionMessage)?.contains("40") == true, "\(dead.headerString(EventHeaders.exceptionMessage) ?? "-")")
        #expect(dead.headerString(EventHeaders.exceptionClass)?.contains("PoisonMessageError") == true)
        #expect(dead.key == original.key && dead.value == original.value)
        for (index, delay) in tiers.enumerated() {
            // The record of tier N+1 (or the DLT) was produced after tier N's record waited
            // out its delay and held its connection again.
            let waited = hops[index + 2].timestamp - hops[index + 1].timestamp
            #expect(waited >= delay.milliseconds, "between \(hops[index + 1].topic) and \(hops[index + 2].topic): \(waited) ms < \(delay)")
        }
        let garbage = try #require(try await ServicesTestKit.readTopic(topology.deadLetterTopic, settle: .zero) { $0.count >= 2 }
            .first { $0.headerString(EventHeaders.id) == garbageID })
        #expect(garbage.headerString(EventHeaders.attempts) == "4")
        #expect(garbage.headerString(EventHeaders.exceptionMessage)?.contains("cannot decode") == true)

        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        #expect(try await Kit.int(database, "SELECT COUNT(*) FROM scenario_event WHERE event_id = ?", [.string(good.eventId)]) == 1)
        #expect(try await Kit.int(database, "SELECT COUNT(*) FROM scenario_event WHERE event_id = ?", [.string(poison.eventId)]) == 0)
        #expect(try await Kit.int(database, "SELECT COUNT(*) FROM processed_event WHERE consumer_group = ? AND event_id = ?",
                                  [.string(options.group), .string(poison.eventId)]) == 0)
    }

    @Test("as a process: a crash after the effect and before the offset commit redelivers the batch — naive applies it twice, idempotent once",
          .enabled(if: ServiceProcess.labPath != nil, ServiceProcess.missingLabReason),
          arguments: [ConsumptionMode.naive, .idempotent])
    func crashBeforeOffsetCommit(mode: ConsumptionMode) async throws {
        let topic = ServicesTestKit.unique("lab-test-crash"), group = ServicesTestKit.unique("consumer-test"), account = ServicesTestKit.unique("acc")
        try await Kit.ensureTopics([topic, "\(topic)-dlt"])
        let event = AccountDeposited(eventId: Kit.eventID(), accountId: account, amountCents: 500, balanceCents: 500, version: 1,
                                     occurredAt: Int64(Date().timeIntervalSince1970 * 1000))
        let arguments = ["service", "consumer", "--topic", topic, "--group", group, "--mode", mode.rawValue, "--retry-tiers", "none",
                         "--cache-invalidation", "none", "--pool-size", "4", "--topic-partitions", "2"]

        let doomed = try await ServiceProcess.start(
            arguments: arguments, environment: ["LAB_FAILPOINTS": "\(ConsumerFailpoints.afterEffectBeforeCommit)=crash,times=1"],
            port: ServiceProcess.freePort())
        // Produced once the consumer is healthy: it dies on the record, which it must not do before.
        try await Kit.produce([Kit.accountRecord(event, topic: topic)])
        let status = await doomed.waitForExit(timeout: .seconds(60))
        #expect(status == 128 + SIGKILL, "the failpoint did not crash the consumer: \(doomed.outputTail())")

        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        #expect(try await Kit.int(database, "SELECT COUNT(*) FROM ledger_entry WHERE event_id = ?", [.string(event.eventId)]) == 1)

        let restarted = try await ServiceProcess.start(arguments: arguments, port: ServiceProcess.freePort())
        let outcome = mode == .naive ? "applied" : "duplicate"
        let redelivered = try await ServicesTestKit.eventually(timeout: .seconds(60)) {
            try await restarted.metric("lab_consumer_processed_total", labels: ["outcome": outcome]) == 1
        }
        #expect(redelivered, "the restarted consumer did not see the record again: \(restarted.outputTail())")
        #expect(try await restarted.metric("hikaricp_connections_max", labels: ["pool": "consumer"]) == 4)
        let exit = await restarted.stop()
        #expect(exit == 0, "\(restarted.outputTail())")

        let ledgerRows = try await Kit.int(database, "SELECT COUNT(*) FROM ledger_entry WHERE event_id = ?", [.string(event.eventId)])
        let balance = try await Kit.int(database, "SELECT balance_cents FROM account_view WHERE account_id = ?", [.string(account)])
        #expect(ledgerRows == (mode == .naive ? 2 : 1))
        #expect(balance == (mode == .naive ? 1000 : 500))
    }
}

import Foundation
import KafkaWire
import Synchronization
import Testing

extension KafkaClientIntegrationSuites {
    /// The idempotent producer through the faults librdkafka's mock can inject: a leader
    /// broker down and up again, a leader moved to another broker, Produce errors. Each test
    /// reads the partitions back with raw Fetch requests and checks that every record is
    /// there exactly once, with no gap in the offsets, and in order per key. Part of the
    /// serialized suites: taking a mock broker down would fail other tests' requests.
    @Suite("KafkaProducer through mock broker faults",
           .enabled(if: KafkaTestCluster.all.contains { $0.isMock } && KafkaMockControl.baseURL != nil,
                    "needs librdkafka's mock cluster and its control API (LAB_KAFKA_MOCK_BOOTSTRAP, LAB_KAFKA_MOCK_CONTROL)"))
    struct KafkaProducerFaultTests {
        static let keys = 12
        static let partitions: Int32 = 3

        var mock: KafkaTestCluster { KafkaTestCluster.all.first(where: \.isMock)! }

        @Test("leader broker down for 2 s and up again: every record exactly once, no gap, order per key kept")
        func leaderBrokerDownAndUp() async throws {
            let client = mock.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-producer-down")
            try await createTopic(client, topic, leader: 1)
            let producer = try KafkaProducer(client: client, configuration: Self.configuration())
            let log = DeliveryLog()
            let count = 3_000
            // Up again even when the test fails midway (up on a broker that is up does nothing).
            defer { _ = try? KafkaMockControl.post("/brokers/1/up") }
            try await produce(count, to: topic, with: producer, log: log) { progress in
                await progress.wait(until: count / 4)
                try KafkaMockControl.post("/brokers/1/down")
                try await Task.sleep(for: .seconds(2))
                try KafkaMockControl.post("/brokers/1/up")
            }
            await producer.flush()
            try await verifyExactlyOnce(client: client, topic: topic, count: count, log: log)
            #expect(producer.statistics.retries > 0, "the outage caused no retry: was the broker taken down mid-stream?")
            await producer.close()
        }

        @Test("the partitions' leader moved to another broker mid-stream: every record exactly once, in order per key")
        func leaderChange() async throws {
            let client = mock.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-producer-leader")
            try await createTopic(client, topic, leader: 2)
            let producer = try KafkaProducer(client: client, configuration: Self.configuration())
            let log = DeliveryLog()
            let count = 3_000
            try await produce(count, to: topic, with: producer, log: log) { progress in
                await progress.wait(until: count / 3)
                for partition in 0..<Self.partitions {
                    try KafkaMockControl.post("/partitions/leader?topic=\(topic)&partition=\(partition)&broker=3")
                }
                await progress.wait(until: 2 * count / 3)
                for partition in 0..<Self.partitions {
                    try KafkaMockControl.post("/partitions/leader?topic=\(topic)&partition=\(partition)&broker=1")
                }
            }
            await producer.flush()
            let metadata = try await client.refreshMetadata(topics: [topic])
            #expect(metadata.topics[topic]?.partitions.values.allSatisfy { $0.leaderID == 1 } == true)
            try await verifyExactlyOnce(client: client, topic: topic, count: count, log: log)
            #expect(producer.statistics.retries > 0, "no batch was refused by the old leader")
            await producer.close()
        }

        /// The mock checks sequence numbers only for transactional producers: for an idempotent
        /// one it neither refuses a batch that follows a failed one (a real broker answers
        /// OUT_OF_ORDER_SEQUENCE_NUMBER) nor drops a re-sent duplicate. With five requests in
        /// flight, batches sent behind one that gets an injected error are therefore written
        /// before its retry: order per key is checked with one request in flight only, where
        /// the producer alone keeps it; "exactly once, no gap" is checked with both.
        @Test("injected Produce errors (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, …) are retried without duplicates",
              arguments: [[6, 7], [6, 6, 7, 7, 19]], [1, 5])
        func injectedProduceErrors(codes: [Int], maxInFlight: Int) async throws {
            let client = mock.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-producer-errors")
            try await createTopic(client, topic, leader: 1)
            var configuration = Self.configuration()
            configuration.maxInFlightRequestsPerConnection = maxInFlight
            let producer = try KafkaProducer(client: client, configuration: configuration)
            let log = DeliveryLog()
            let count = 1_500
            try await produce(count, to: topic, with: producer, log: log) { progress in
                await progress.wait(until: count / 3)
                let list = codes.map(String.init).joined(separator: ",")
                try KafkaMockControl.post("/errors?api=\(ApiKey.produce.rawValue)&codes=\(list)")
            }
            await producer.flush()
            try await verifyExactlyOnce(client: client, topic: topic, count: count, log: log, checkOrder: maxInFlight == 1)
            // Each error fails every batch of one request: at least one retry per code.
            #expect(producer.statistics.retries >= codes.count, "\(producer.statistics)")
            await producer.close()
        }

        // MARK: Helpers

        static func configuration() -> KafkaProducerConfiguration {
            KafkaProducerConfiguration(
                acks: .all, idempotent: true, linger: .milliseconds(2), batchSize: 2048, deliveryTimeout: .seconds(60),
                requestTimeout: .seconds(5), retryBackoff: .milliseconds(50), retryBackoffMax: .milliseconds(500))
        }

        /// A topic with every partition led by `leader` (replicas on all three brokers).
        func createTopic(_ client: KafkaClient, _ topic: String, leader: Int32) async throws {
            try KafkaMockControl.post("/topics?name=\(topic)&partitions=\(Self.partitions)&replication=3")
            for partition in 0..<Self.partitions {
                try KafkaMockControl.post("/partitions/leader?topic=\(topic)&partition=\(partition)&broker=\(leader)")
            }
            for _ in 0..<50 {
                let metadata = try await client.refreshMetadata(topics: [topic])
                if let entry = metadata.topics[topic], entry.partitions.count == Int(Self.partitions),
                   entry.partitions.values.allSatisfy({ $0.leaderID == leader }) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("topic \(topic) not led by \(leader) after 5 s")
        }

        /// How many records the producing task has handed over.
        final class Progress: Sendable {
            private let produced = Atomic<Int>(0)
            func advance() { produced.add(1, ordering: .relaxed) }
            var count: Int { produced.load(ordering: .relaxed) }
            func wait(until target: Int) async {
                while count < target { try? await Task.sleep(for: .milliseconds(5)) }
            }
        }

        /// Produces `count` keyed records at a steady pace (record i: key "key-(i % keys)",
        /// value "i") while `fault` runs alongside.
        func produce(
            _ count: Int, to topic: String, with producer: KafkaProducer, log: DeliveryLog,
            fault: @escaping @Sendable (Progress) async throws -> Void
        ) async throws {
            let progress = Progress()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for index in 0..<count {
                        try await producer.produce(
                            ProducerRecord(topic: topic, key: "key-\(index % Self.keys)", value: "\(index)"),
                            onDelivery: log.handler(for: index))
                        progress.advance()
                        // About 1 000 records a second: the faults land mid-stream.
                        if index % 10 == 9 { try await Task.sleep(for: .milliseconds(10)) }
                    }
                }
                group.addTask { try await fault(progress) }
                try await group.waitForAll()
            }
        }

        /// Every record acknowledged once and found once in the log of its key's partition, the
        /// partitions' offsets gapless from 0, each key's records in production order (unless
        /// `checkOrder` is false), and each acknowledged offset holding that record.
        func verifyExactlyOnce(client: KafkaClient, topic: String, count: Int, log: DeliveryLog, checkOrder: Bool = true) async throws {
            #expect(log.all.count == count, "\(count - log.all.count) records without an outcome")
            #expect(log.failures.isEmpty, "\(log.failures.count) failed, first: \(log.failures.prefix(3))")
            let reader = PartitionReader(client: client)
            var seen: [Int: Int] = [:]
            var total = 0
            for partition in 0..<Self.partitions {
                let records = try await reader.readAll(topic: topic, partition: partition)
                total += records.count
                let offsets = records.map(\.offset)
                #expect(offsets == Array(0..<Int64(records.count)),
                        "partition \(partition): offsets not gapless from 0 (\(records.count) records, last \(offsets.last ?? -1))")
                var lastIndexPerKey: [String: Int] = [:]
                for record in records {
                    guard let value = record.value, let index = Int(value), let key = record.key else {
                        Issue.record("partition \(partition) offset \(record.offset): unexpected record \(record)")
                        continue
                    }
                    seen[index, default: 0] += 1
                    #expect(key == "key-\(index % Self.keys)")
                    let expected = DefaultPartitioner.partition(forKey: Array(key.utf8), partitionCount: Int(Self.partitions))
                    #expect(expected == partition, "\(key) in partition \(partition)")
                    // Order per key: records of a key appear in production order.
                    if checkOrder, let previous = lastIndexPerKey[key] {
                        #expect(previous < index, "\(key): record \(index) at offset \(record.offset) after record \(previous)")
                    }
                    lastIndexPerKey[key] = index
                    if let metadata = try? log.all[index]?.get(), metadata.offset >= 0 {
                        #expect(metadata.partition == partition && metadata.offset == record.offset,
                                "record \(index) acknowledged at \(metadata) but found at \(partition)@\(record.offset)")
                    }
                }
            }
            let duplicates = seen.filter { $0.value > 1 }.keys.sorted()
            let missing = (0..<count).filter { seen[$0] == nil }
            #expect(duplicates.isEmpty, "\(duplicates.count) duplicated, first: \(duplicates.prefix(10))")
            #expect(missing.isEmpty, "\(missing.count) missing, first: \(missing.prefix(10))")
            #expect(total == count)
        }
    }
}

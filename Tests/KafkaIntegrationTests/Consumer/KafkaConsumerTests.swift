import Foundation
import KafkaWire
import MetricsTestKit
import Synchronization
import Testing

extension KafkaTestCluster {
    func makeConsumer(group: String? = nil, reset: OffsetResetStrategy = .earliest, autoCommit: Bool = false,
                      assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()]) -> KafkaConsumer {
        KafkaConsumer(client: makeClient(), configuration: KafkaConsumerConfiguration(
            groupID: group, autoOffsetReset: reset, enableAutoCommit: autoCommit, sessionTimeout: .seconds(10),
            heartbeatInterval: .milliseconds(500), maxPollInterval: .seconds(30), fetchMaxWait: .milliseconds(100),
            assignors: assignors))
    }

    /// Produces `records` with an idempotent producer and waits for all acknowledgements.
    func produce(_ records: [ProducerRecord], compression: CompressionCodec = .none) async throws {
        let producer = try KafkaProducer(client: makeClient(), configuration: KafkaProducerConfiguration(linger: .milliseconds(1), compression: compression))
        let failures = Mutex<[String]>([])
        for record in records {
            try await producer.produce(record) { result in
                if case let .failure(error) = result { failures.withLock { $0.append("\(error)") } }
            }
        }
        await producer.close()
        let failed = failures.withLock { $0 }
        #expect(failed.isEmpty, "produce failures: \(failed.prefix(3))")
    }
}

/// Polls until `count` records arrived or `timeout` passed.
func pollRecords(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(20)) async throws -> [ConsumerRecord] {
    var records: [ConsumerRecord] = []
    let deadline = ContinuousClock.now + timeout
    while records.count < count, ContinuousClock.now < deadline {
        records += try await consumer.poll(timeout: .milliseconds(200))
    }
    return records
}

extension KafkaClientIntegrationSuites {
    @Suite("KafkaConsumer against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaConsumerTests {
        static let compressions: [(KafkaTestCluster, CompressionCodec)] = KafkaTestCluster.all.flatMap { cluster in
            CompressionCodec.allCases.map { (cluster, $0) }
        }

        @Test("assigned partitions read back exactly what was produced: keys, null values, headers, order", arguments: compressions)
        func assignedRoundTrip(cluster: KafkaTestCluster, compression: CompressionCodec) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-consumer-rt-\(compression)")
            try await cluster.createTopic(admin, topic, partitions: 3)
            let produced = (0..<600).map { index in
                ProducerRecord(
                    topic: topic, partition: Int32(index % 3), key: index % 7 == 0 ? nil : Array("k\(index)".utf8),
                    value: index % 11 == 0 ? nil : Array("value-\(index)-".utf8) + Array(repeating: UInt8(index % 256), count: index % 40),
                    headers: index % 5 == 0 ? [RecordHeader(key: "h", value: Array("\(index)".utf8)), RecordHeader(key: "null", value: nil)] : [])
            }
            try await cluster.produce(produced, compression: compression)

            let metrics = TestMetrics()
            let consumer = KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
                autoOffsetReset: .earliest, enableAutoCommit: false, maxPollRecords: 100, fetchMaxWait: .milliseconds(100)), metricsFactory: metrics)
            try await consumer.assign((0..<3).map { TopicPartition(topic, $0) })
            var records = try await consumer.poll(timeout: .seconds(5))
            // Part-way: the lag metric says how far the furthest partition is behind.
            let dimensions: [(String, String)] = [("client_id", "lab-client-tests"), ("group", "")]
            let lagGauge = try metrics.expectGauge("kafka_consumer_records_lag_max", dimensions)
            let lagPartWay: Double = lagGauge.lastValue ?? 0
            if !cluster.isTansu, records.count < produced.count { #expect(lagPartWay > 0) }
            records += try await pollRecords(consumer, count: produced.count - records.count)
            #expect(records.count == produced.count)
            for partition in Int32(0)..<3 {
                let expected = produced.filter { $0.partition == partition }
                let got = records.filter { $0.partition == partition }
                let same = got.count == expected.count && zip(got, expected).allSatisfy { record, sent in
                    record.key == sent.key && record.value == sent.value && record.headers == sent.headers
                }
                #expect(same, "partition \(partition) differs from what was produced")
                let offsets = got.map(\.offset)
                let contiguous = offsets == Array(0..<Int64(offsets.count))
                #expect(contiguous, "partition \(partition) offsets are not 0..<\(offsets.count)")
                #expect(await consumer.position(TopicPartition(topic, partition)) == Int64(expected.count))
            }
            let lag = await consumer.maxLag
            if !cluster.isTansu {
                #expect(lag == 0)
                #expect(lagGauge.lastValue == 0)
            }
            let consumed: Int64 = try metrics.expectCounter("kafka_consumer_records_consumed_total", dimensions).totalValue
            #expect(consumed == Int64(produced.count))
            await consumer.close()
        }

        @Test("committed offsets are where a new consumer of the group starts; seek moves the position", arguments: KafkaTestCluster.all)
        func commitAndResume(cluster: KafkaTestCluster) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-consumer-commit")
            let group = KafkaTestCluster.uniqueTopic("lab-group-commit")
            try await cluster.createTopic(admin, topic, partitions: 1)
            try await cluster.produce((0..<100).map { ProducerRecord(topic: topic, partition: 0, key: nil, value: "r\($0)") })
            let partition = TopicPartition(topic, 0)

            let first = cluster.makeConsumer(group: group)
            try await first.assign([partition])
            var seen: [ConsumerRecord] = []
            while seen.count < 40 { seen += try await first.poll(timeout: .milliseconds(200)) }
            try await first.commit([partition: 40])
            await first.close()

            let second = cluster.makeConsumer(group: group)
            try await second.assign([partition])
            let rest = try await pollRecords(second, count: 60)
            #expect(rest.first?.offset == 40)
            #expect(rest.count == 60)
            #expect(try await second.committed([partition])[partition] == 40)
            try await second.seek(partition, to: 10)
            let again = try await pollRecords(second, count: 1)
            #expect(again.first?.offset == 10)
            #expect(again.first?.valueString == "r10")
            await second.close()
        }

        @Test("auto.offset.reset latest starts at the end; none fails without a committed offset", arguments: KafkaTestCluster.all)
        func offsetReset(cluster: KafkaTestCluster) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-consumer-reset")
            try await cluster.createTopic(admin, topic, partitions: 1)
            try await cluster.produce((0..<10).map { ProducerRecord(topic: topic, partition: 0, key: nil, value: "old\($0)") })
            let latest = cluster.makeConsumer(reset: .latest)
            try await latest.assign([TopicPartition(topic, 0)])
            _ = try await latest.poll(timeout: .milliseconds(300))
            try await cluster.produce([ProducerRecord(topic: topic, partition: 0, key: nil, value: "new")])
            let records = try await pollRecords(latest, count: 1)
            #expect(records.map(\.valueString) == ["new"])
            await latest.close()

            let strict = cluster.makeConsumer(group: KafkaTestCluster.uniqueTopic("lab-group-none"), reset: .none)
            try await strict.assign([TopicPartition(topic, 0)])
            await #expect(throws: KafkaConsumerError.self) { _ = try await strict.poll(timeout: .milliseconds(300)) }
            await strict.close()
        }
    }
}

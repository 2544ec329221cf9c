import Foundation
import KafkaWire
import LabTestSupport
import Synchronization
import Testing

/// Collects delivery results from the producer's handlers.
final class DeliveryLog: Sendable {
    private let results = Mutex<[Int: Result<RecordMetadata, KafkaProducerError>]>([:])

    func handler(for index: Int) -> KafkaDeliveryHandler {
        { result in self.results.withLock { $0[index] = result } }
    }

    var all: [Int: Result<RecordMetadata, KafkaProducerError>] { results.withLock { $0 } }

    var delivered: [Int: RecordMetadata] {
        all.compactMapValues { try? $0.get() }
    }

    var failures: [String] {
        all.values.compactMap { if case let .failure(error) = $0 { return "\(error)" } else { return nil } }
    }
}

extension KafkaClientIntegrationSuites {
    @Suite("KafkaProducer against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaProducerTests {
        static let cases: [(KafkaTestCluster, KafkaAcks, CompressionCodec)] = KafkaTestCluster.all.flatMap { cluster in
            [(cluster, KafkaAcks.none, CompressionCodec.none), (cluster, .leader, .none), (cluster, .all, .none),
             (cluster, .all, .gzip), (cluster, .all, .snappy), (cluster, .all, .lz4), (cluster, .all, .zstd)]
        }

        @Test("every record is acknowledged once, with offsets contiguous per partition", arguments: cases)
        func produceWithAcksAndCompression(cluster: KafkaTestCluster, acks: KafkaAcks, compression: CompressionCodec) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-producer-\(acks)-\(compression)")
            try await cluster.createTopic(client, topic, partitions: 3)
            let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(
                acks: acks, idempotent: acks == .all, linger: .milliseconds(2), batchSize: 4096, compression: compression))
            let log = DeliveryLog()
            let count = 2_000
            for index in 0..<count {
                try await producer.produce(
                    ProducerRecord(topic: topic, key: "key-\(index % 50)", value: "value-\(index)"), onDelivery: log.handler(for: index))
            }
            await producer.flush()
            #expect(log.all.count == count)
            #expect(log.failures.count == 0, "first failures: \(log.failures.prefix(3))")
            let delivered = log.delivered
            if acks == .none {
                #expect(delivered.values.allSatisfy { $0.offset == -1 })
            } else {
                // Keyed records land where the Java partitioner puts them, and each partition's
                // offsets are 0..<n with no gap and no repeat.
                for (index, metadata) in delivered {
                    let expected = DefaultPartitioner.partition(forKey: Array("key-\(index % 50)".utf8), partitionCount: 3)
                    #expect(metadata.partition == expected)
                }
                let byPartition = Dictionary(grouping: delivered.values, by: \.partition)
                for (partition, records) in byPartition {
                    let offsets = records.map(\.offset).sorted()
                    let contiguous = offsets == Array(0..<Int64(offsets.count))
                    #expect(contiguous, "partition \(partition): \(offsets.count) offsets from \(offsets.first ?? -1) to \(offsets.last ?? -1)")
                }
                // Records of one key keep their order.
                for key in 0..<50 {
                    let offsets = stride(from: key, to: count, by: 50).map { delivered[$0]!.offset }
                    let ordered = offsets == offsets.sorted()
                    #expect(ordered, "key \(key) out of order")
                }
            }
            let statistics = producer.statistics
            #expect(statistics.recordsDelivered == count)
            if acks == .all { #expect(statistics.producerId >= 0) }
            await producer.close()
        }

        @Test("send waits for the acknowledgement; a bad partition is refused at once", arguments: KafkaTestCluster.all)
        func sendAndRefusals(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-producer-send")
            try await cluster.createTopic(client, topic, partitions: 2)
            let producer = try KafkaProducer(client: client)
            let first = try await producer.send(ProducerRecord(topic: topic, partition: 1, key: nil, value: "one"))
            let second = try await producer.send(ProducerRecord(topic: topic, partition: 1, key: nil, value: "two"))
            #expect(first.partition == 1 && second.partition == 1)
            #expect(second.offset == first.offset + 1)
            await #expect(throws: KafkaProducerError.self) {
                try await producer.produce(ProducerRecord(topic: topic, partition: 7, key: nil, value: "nowhere"))
            }
            await producer.close()
            await #expect(throws: KafkaProducerError.self) {
                try await producer.produce(ProducerRecord(topic: topic, key: nil, value: "after close"))
            }
        }

        @Test("idempotence requires acks=all and at most five requests in flight")
        func idempotenceConfigurationRules() throws {
            #expect(throws: KafkaProducerError.self) {
                try KafkaProducerConfiguration(acks: .leader, idempotent: true).validate()
            }
            #expect(throws: KafkaProducerError.self) {
                try KafkaProducerConfiguration(idempotent: true, maxInFlightRequestsPerConnection: 6).validate()
            }
            try KafkaProducerConfiguration(acks: .leader, idempotent: false, maxInFlightRequestsPerConnection: 10).validate()
        }
    }
}

extension KafkaClientIntegrationSuites.KafkaProducerTests {
    @Test("a producer delivers while the application keeps every cooperative thread busy: its sender does not wait for the pool",
          .enabled(if: CooperativePoolBlocker.isSerialRun, Comment(rawValue: CooperativePoolBlocker.serialRunOnlyReason)),
          arguments: KafkaTestCluster.all)
    func senderOutlivesABusyPool(cluster: KafkaTestCluster) async throws {
        let client = cluster.makeClient()
        defer { Task { await client.close() } }
        let topic = KafkaTestCluster.uniqueTopic("lab-producer-busy")
        try await cluster.createTopic(client, topic, partitions: 1)
        let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(acks: .all, linger: .milliseconds(200)))
        // A first record: the producer id, metadata and the connection are in place before the test proper.
        try await producer.send(ProducerRecord(topic: topic, key: nil, value: "warm-up"))

        let deliveredAt = Mutex<ContinuousClock.Instant?>(nil)
        let start = ContinuousClock.now
        try await producer.produce(ProducerRecord(topic: topic, key: nil, value: "while busy")) { result in
            if case .success = result { deliveredAt.withLock { $0 = ContinuousClock.now } }
        }
        // The application's own work keeps every cooperative thread busy for 4 s. The batch's
        // linger ends meanwhile, and the sender must put it on the wire.
        await CooperativePoolBlocker.block(until: start + .seconds(4))
        await producer.flush()
        let delay = deliveredAt.withLock { $0 }.map { $0 - start }
        #expect(delay != nil, "the record was not acknowledged")
        #expect(delay.map { $0 < .seconds(2) } ?? false, "acknowledged \(String(describing: delay)) after produce, with the pool blocked for 4 s")
        await producer.close()
    }
}

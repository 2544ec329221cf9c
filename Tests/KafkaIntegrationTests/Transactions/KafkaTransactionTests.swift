import Foundation
import KafkaWire
import Testing

extension KafkaTestCluster {
    func makeTransactionalProducer(_ transactionalID: String) throws -> KafkaProducer {
        try KafkaProducer(client: makeClient(), configuration: KafkaProducerConfiguration(
            linger: .milliseconds(1), requestTimeout: .seconds(20), transactionalID: transactionalID, transactionTimeout: .seconds(30)))
    }

    var isRealKafka: Bool { name == "kafka" }
}

extension KafkaClientIntegrationSuites {
    @Suite("Kafka transactions against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaTransactionTests {
        /// "committed", "fatal" or another error's description.
        static func commitOutcome(_ producer: KafkaProducer) async -> String {
            do throws(KafkaProducerError) {
                try await producer.commitTransaction()
                return "committed"
            } catch {
                if case .fatal = error { return "fatal" }
                return "\(error)"
            }
        }

        @Test("the transactional protocol flow is accepted: init, begin, produce, offsets, commit, abort", arguments: KafkaTestCluster.all)
        func transactionalFlow(cluster: KafkaTestCluster) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-txn-flow")
            try await cluster.createTopic(admin, topic, partitions: 2)
            let producer = try cluster.makeTransactionalProducer(KafkaTestCluster.uniqueTopic("lab-txn"))
            // Records outside a transaction are refused.
            await #expect(throws: KafkaProducerError.self) { try await producer.produce(ProducerRecord(topic: topic, key: nil, value: "x")) }
            try await producer.initTransactions()
            let first = producer.statistics
            #expect(first.producerId >= 0 && first.producerEpoch >= 0)

            try producer.beginTransaction()
            #expect(throws: KafkaProducerError.self) { try producer.beginTransaction() }
            for index in 0..<10 { try await producer.produce(ProducerRecord(topic: topic, partition: Int32(index % 2), key: nil, value: "c\(index)")) }
            try await producer.sendOffsetsToTransaction([TopicPartition(topic, 0): 7], group: ConsumerGroupMetadata(groupID: KafkaTestCluster.uniqueTopic("lab-txn-group")))
            try await producer.commitTransaction()

            try producer.beginTransaction()
            for index in 0..<5 { try await producer.produce(ProducerRecord(topic: topic, partition: 1, key: nil, value: "a\(index)")) }
            try await producer.abortTransaction()
            #expect(producer.statistics.recordsDelivered == 15)
            #expect(producer.statistics.recordsFailed == 0)
            await producer.close()
        }

        @Test("commit 5, abort 5, leave 1 open: HW > LSO while open; read_committed sees the 5 committed, read_uncommitted all 11",
              .enabled(if: KafkaTestCluster.all.contains(where: \.isRealKafka), "needs real Apache Kafka (LAB_KAFKA_BOOTSTRAP): Tansu and librdkafka's mock neither keep an LSO nor filter aborted records"),
              arguments: KafkaTestCluster.all.filter(\.isRealKafka))
        func lastStableOffsetAndVisibility(cluster: KafkaTestCluster) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-txn-lso")
            try await cluster.createTopic(admin, topic, partitions: 1)
            let partition = TopicPartition(topic, 0)
            let producer = try cluster.makeTransactionalProducer(KafkaTestCluster.uniqueTopic("lab-txn-lso"))
            try await producer.initTransactions()
            try producer.beginTransaction()
            for index in 0..<5 { try await producer.produce(ProducerRecord(topic: topic, partition: 0, key: nil, value: "committed-\(index)")) }
            try await producer.commitTransaction()
            try producer.beginTransaction()
            for index in 0..<5 { try await producer.produce(ProducerRecord(topic: topic, partition: 0, key: nil, value: "aborted-\(index)")) }
            try await producer.abortTransaction()
            try producer.beginTransaction()
            try await producer.send(ProducerRecord(topic: topic, partition: 0, key: nil, value: "open"))

            let committed = KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
                autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100), isolation: .readCommitted))
            try await committed.assign([partition])
            let visible = try await pollRecords(committed, count: 6, timeout: .seconds(4))
            #expect(visible.compactMap(\.valueString) == (0..<5).map { "committed-\($0)" })
            let marks = try #require(await committed.watermarks(partition))
            // 5 committed + marker + 5 aborted + marker + 1 open = 13 offsets; the LSO stops at the open one.
            #expect(marks.highWatermark == 13)
            #expect(marks.lastStableOffset == 12)
            #expect(marks.highWatermark > marks.lastStableOffset)

            let everything = KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
                autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100), isolation: .readUncommitted))
            try await everything.assign([partition])
            let all = try await pollRecords(everything, count: 11, timeout: .seconds(10))
            #expect(all.count == 11)
            #expect(all.compactMap(\.valueString).filter { $0.hasPrefix("aborted") }.count == 5)
            #expect(all.last?.valueString == "open")

            try await producer.commitTransaction()
            let afterCommit = try await pollRecords(committed, count: 1, timeout: .seconds(10))
            #expect(afterCommit.compactMap(\.valueString) == ["open"])
            await committed.close()
            await everything.close()
            await producer.close()
        }

        @Test("a second producer with the same transactional id fences the first",
              .enabled(if: KafkaTestCluster.all.contains(where: \.isRealKafka), "needs real Apache Kafka (LAB_KAFKA_BOOTSTRAP) for epoch fencing"),
              arguments: KafkaTestCluster.all.filter(\.isRealKafka))
        func fencing(cluster: KafkaTestCluster) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-txn-fence")
            try await cluster.createTopic(admin, topic, partitions: 1)
            let id = KafkaTestCluster.uniqueTopic("lab-txn-fence")
            let old = try cluster.makeTransactionalProducer(id)
            try await old.initTransactions()
            try old.beginTransaction()
            try await old.send(ProducerRecord(topic: topic, partition: 0, key: nil, value: "zombie"))

            let new = try cluster.makeTransactionalProducer(id)
            try await new.initTransactions()
            #expect(new.statistics.producerEpoch > old.statistics.producerEpoch || new.statistics.producerId != old.statistics.producerId)
            let outcome = await Self.commitOutcome(old)
            #expect(outcome == "fatal", "the fenced producer's commit ended with: \(outcome)")
            // Its open transaction was aborted by the new producer's InitProducerId.
            try new.beginTransaction()
            try await new.send(ProducerRecord(topic: topic, partition: 0, key: nil, value: "fresh"))
            try await new.commitTransaction()
            let reader = KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
                autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100), isolation: .readCommitted))
            try await reader.assign([TopicPartition(topic, 0)])
            let records = try await pollRecords(reader, count: 2, timeout: .seconds(4))
            #expect(records.compactMap(\.valueString) == ["fresh"])
            await reader.close()
            await old.close()
            await new.close()
        }
    }
}

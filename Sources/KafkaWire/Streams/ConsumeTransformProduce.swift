/// An exactly-once consume-transform-produce loop: records read with read_committed from the
/// input topics, transformed, written by a transactional producer, and the consumer's
/// offsets committed inside the same transaction. Either the outputs and the offsets of a
/// polled batch become visible together, or neither does, so a crash anywhere replays the
/// batch from the last committed offsets into a fresh transaction: output = input, no
/// duplicate visible to read_committed readers, nothing lost.
///
/// Rebalances happen inside `poll`, between transactions; the partitions that arrive start
/// at the offsets the group committed transactionally. A member the group has moved on from
/// (a zombie after a long pause) has its TxnOffsetCommit refused by generation (KIP-447),
/// aborts, and rejoins.
public final class ConsumeTransformProduce: Sendable {
    public typealias Transform = @Sendable (ConsumerRecord) async throws -> [ProducerRecord]

    public let consumer: KafkaConsumer
    public let producer: KafkaProducer
    private let transform: Transform

    /// `consumer` must have a group, read_committed isolation and auto-commit off; `producer`
    /// a transactional id. `transform` may return no record (filter) or several.
    public init(consumer: KafkaConsumer, producer: KafkaProducer, transform: @escaping Transform) throws(KafkaProducerError) {
        let consumerConfiguration = consumer.configuration
        guard consumerConfiguration.groupID != nil, consumerConfiguration.isolation == .readCommitted,
              !consumerConfiguration.enableAutoCommit else {
            throw .invalidConfiguration("the consumer needs a group id, read_committed and enable.auto.commit off")
        }
        guard producer.configuration.transactionalID != nil else {
            throw .invalidConfiguration("the producer needs a transactional id")
        }
        self.consumer = consumer
        self.producer = producer
        self.transform = transform
    }

    /// What one call to `runOnce` did.
    public enum Step: Sendable, Equatable {
        case idle
        case committed(records: Int, outputs: Int)
        /// The transaction failed and was aborted; the batch will be read again.
        case aborted(String)
    }

    /// Subscribes and initializes transactions; call once before `runOnce`.
    public func start(topics: [String]) async throws {
        try await consumer.subscribe(topics)
        try await producer.initTransactions()
    }

    /// Polls once and, if records came, processes them in one transaction.
    public func runOnce(pollTimeout: Duration = .milliseconds(500)) async throws -> Step {
        let records = try await consumer.poll(timeout: pollTimeout)
        guard !records.isEmpty else { return .idle }
        var offsets: [TopicPartition: Int64] = [:]
        for record in records { offsets[record.topicPartition] = max(offsets[record.topicPartition] ?? 0, record.offset + 1) }
        do {
            try producer.beginTransaction()
            var outputs = 0
            for record in records {
                for output in try await transform(record) {
                    try await producer.produce(output)
                    outputs += 1
                }
            }
            try await producer.sendOffsetsToTransaction(offsets, group: await consumer.groupMetadata)
            try await producer.commitTransaction()
            return .committed(records: records.count, outputs: outputs)
        } catch let error as KafkaProducerError {
            if case .fatal = error { throw error }
            try? await producer.abortTransaction()
            try await rewind(Array(offsets.keys))
            return .aborted("\(error)")
        } catch {
            try? await producer.abortTransaction()
            try await rewind(Array(offsets.keys))
            throw error
        }
    }

    /// Runs until `shouldStop` says so, then closes both clients.
    public func run(until shouldStop: @Sendable () -> Bool) async throws {
        while !shouldStop() { _ = try await runOnce() }
        await consumer.close()
        await producer.close()
    }

    /// After an abort, the batch's partitions go back to the group's committed offsets.
    private func rewind(_ partitions: [TopicPartition]) async throws {
        let assigned = Set(await consumer.assignment)
        let mine = partitions.filter { assigned.contains($0) }
        guard !mine.isEmpty else { return }
        let committed = try await consumer.committed(mine)
        for partition in mine {
            if let offset = committed[partition] {
                try await consumer.seek(partition, to: offset)
            } else {
                try await consumer.seekToBeginning([partition])
            }
        }
    }
}

import KafkaWire

/// Which offsets a processed poll batch may commit. Records of one partition finish out of
/// order (they are spread over lanes by key), so a partition commits up to its first record
/// that did not finish; the consumer is moved back there to try the rest again.
public struct BatchCommitPlan: Sendable, Equatable {
    /// Next offset to commit per partition (only partitions that made progress).
    public var commit: [TopicPartition: Int64]
    /// The first unfinished offset per partition (only partitions that have one).
    public var rewind: [TopicPartition: Int64]

    public init(records: [ConsumerRecord], finished: Set<RecordPosition>) {
        commit = [:]
        rewind = [:]
        for (topicPartition, offsets) in Dictionary(grouping: records.map(\.position), by: \.topicPartition) {
            var next: Int64?
            for position in offsets.sorted(by: { $0.offset < $1.offset }) {
                guard finished.contains(position) else {
                    rewind[topicPartition] = position.offset
                    break
                }
                next = position.offset + 1
            }
            if let next { commit[topicPartition] = next }
        }
    }

    /// The offsets after the whole batch, as committed before processing in `commit-first` mode.
    public static func afterBatch(_ records: [ConsumerRecord]) -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for record in records { offsets[record.topicPartition] = max(offsets[record.topicPartition] ?? 0, record.offset + 1) }
        return offsets
    }
}

/// A record's place in its partition.
public struct RecordPosition: Sendable, Hashable {
    public var topicPartition: TopicPartition
    public var offset: Int64

    public init(_ topicPartition: TopicPartition, _ offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}

extension ConsumerRecord {
    public var position: RecordPosition { RecordPosition(topicPartition, offset) }
}

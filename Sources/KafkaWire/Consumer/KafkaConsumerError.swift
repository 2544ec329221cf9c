/// Why a consumer call failed.
public enum KafkaConsumerError: Error, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// No committed offset and `auto.offset.reset` is none (or the position is out of range).
    case noOffset(TopicPartition)
    /// The commit was refused because the group rebalanced: the partitions may be someone
    /// else's now. Poll again (which rejoins) and reprocess from the committed offsets.
    case commitFailed(String)
    /// The partition is not assigned to this consumer.
    case notAssigned(TopicPartition)
    case closed
    /// `poll` was called while another `poll` of the same consumer was running (a consumer
    /// is polled by one task, as a Java consumer by one thread).
    case concurrentPoll
    /// The group coordinator or a broker refused with a code that retrying cannot fix.
    case group(KafkaErrorCode, String)
    /// A batch could not be decoded (CRC mismatch, corrupt or truncated data).
    case corruptRecords(TopicPartition, offset: Int64, String)
    case client(KafkaClientError)

    public var description: String {
        switch self {
        case let .invalidConfiguration(reason): return "invalid consumer configuration: \(reason)"
        case let .noOffset(tp): return "no committed offset for \(tp) and auto.offset.reset is none"
        case let .commitFailed(reason): return "commit failed: \(reason)"
        case let .notAssigned(tp): return "\(tp) is not assigned to this consumer"
        case .closed: return "the consumer is closed"
        case .concurrentPoll: return "poll called while another poll of this consumer is running"
        case let .group(code, context): return "\(context): \(code.name) (\(code.rawValue))"
        case let .corruptRecords(tp, offset, reason): return "corrupt records in \(tp) at offset \(offset): \(reason)"
        case let .client(error): return "\(error)"
        }
    }
}

/// Told about partitions coming and going in a group, from inside `poll` (and `close`).
/// Revocation is the last moment to commit what was processed of the revoked partitions.
public protocol ConsumerRebalanceListener: Sendable {
    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
    /// The member was thrown out (session timeout, fenced): the partitions are already someone
    /// else's, so committing is pointless.
    func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
}

extension ConsumerRebalanceListener {
    public func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {}
    public func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {}
    public func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {}
}

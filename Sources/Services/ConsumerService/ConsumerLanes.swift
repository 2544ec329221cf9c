import KafkaWire
import Synchronization

/// How a poll batch is shared among workers: records with the same key form one group that
/// one worker processes in batch order, so per-key order (what Kafka promises per partition
/// for a key) survives the concurrency. Workers take the next waiting group when they are
/// free, rather than owning a fixed share of the batch: one slow record (a connection held
/// for seconds) then delays only its own key, not a fixed slice of the batch behind it.
public enum ConsumerLanes {
    /// The batch as key groups, in order of each key's first record; each group in batch
    /// order. Keyless records group by partition, which keeps a partition's keyless records
    /// in order.
    public static func keyGroups(_ records: [ConsumerRecord]) -> [[ConsumerRecord]] {
        var index: [GroupKey: Int] = [:]
        var groups: [[ConsumerRecord]] = []
        for record in records {
            let key = record.key.map(GroupKey.key) ?? .partition(record.topicPartition)
            if let existing = index[key] {
                groups[existing].append(record)
            } else {
                index[key] = groups.count
                groups.append([record])
            }
        }
        return groups
    }

    enum GroupKey: Hashable {
        case key([UInt8])
        case partition(TopicPartition)
    }
}

/// Hands out a batch's key groups to whichever worker asks next.
final class KeyGroupQueue: Sendable {
    private let groups: [[ConsumerRecord]]
    private let next = Atomic<Int>(0)

    init(_ groups: [[ConsumerRecord]]) { self.groups = groups }

    func take() -> [ConsumerRecord]? {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < groups.count ? groups[index] : nil
    }
}

import KafkaWire

/// How a poll batch is shared among workers: records with the same key go to the same lane
/// and keep their batch order there, so per-key order (what Kafka promises per partition
/// for a key) survives the concurrency; different keys proceed in parallel.
public enum ConsumerLanes {
    /// The batch split into at most `workers` non-empty lanes, each in batch order.
    public static func split(_ records: [ConsumerRecord], workers: Int) -> [[ConsumerRecord]] {
        let count = max(1, workers)
        var lanes = [[ConsumerRecord]](repeating: [], count: count)
        for record in records { lanes[lane(of: record, workers: count)].append(record) }
        return lanes.filter { !$0.isEmpty }
    }

    /// FNV-1a of the key (stable across processes, unlike `Hasher`); a keyless record goes by
    /// its partition, which keeps a partition's keyless records in order.
    public static func lane(of record: ConsumerRecord, workers: Int) -> Int {
        guard let key = record.key else { return Int(UInt32(bitPattern: record.partition) % UInt32(max(1, workers))) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(max(1, workers)))
    }
}

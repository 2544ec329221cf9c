/// The Java client's default partitioning, so that Swift and Java (and librdkafka with
/// `partitioner=murmur2_random`) producers put the same key in the same partition:
/// murmur2 of the key bytes for keyed records; for keyless records, the uniform sticky
/// partitioner (KIP-794), which fills one batch on one partition before moving on.
public struct DefaultPartitioner: Sendable {
    /// Kafka's murmur2 (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2<C: Collection>(_ data: C) -> Int32 where C.Element == UInt8 {
        let bytes = Array(data)
        let length = bytes.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for block in 0..<blocks {
            let i = block * 4
            var k = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(bytes[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition for a keyed record: `toPositive(murmur2(key)) % partitionCount`.
    public static func partition<C: Collection>(forKey key: C, partitionCount: Int) -> Int32 where C.Element == UInt8 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        let positive = Int(murmur2(key) & 0x7fff_ffff)
        return Int32(positive % partitionCount)
    }

    /// Sticky state for keyless records of one topic.
    private var stickyPartition: [String: Int32] = [:]
    private var random: SystemRandomNumberGenerator = SystemRandomNumberGenerator()

    public init() {}

    /// The partition for a keyless record: the topic's current sticky partition, chosen at
    /// random among `available` partitions (those with a leader) when there is none yet.
    public mutating func partitionForKeyless(topic: String, available: [Int32], partitionCount: Int) -> Int32 {
        if let current = stickyPartition[topic], current < partitionCount { return current }
        let candidates = available.isEmpty ? Array(0..<Int32(partitionCount)) : available
        let chosen = candidates.randomElement(using: &random) ?? 0
        stickyPartition[topic] = chosen
        return chosen
    }

    /// Called when the sticky partition's batch is full or sent: the next keyless record
    /// goes to another partition (a different one when there is a choice).
    public mutating func batchCompleted(topic: String, partition: Int32, available: [Int32], partitionCount: Int) {
        guard stickyPartition[topic] == partition else { return }
        let candidates = (available.isEmpty ? Array(0..<Int32(partitionCount)) : available).filter { $0 != partition }
        stickyPartition[topic] = candidates.randomElement(using: &random) ?? partition
    }
}

import WireCore

/// One partition of one topic, ordered by topic then partition number (the order the Java
/// client's `TopicPartitionComparator` uses; topic names compare by UTF-16 code units, as
/// Java's `String.compareTo` does).
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public init(_ topic: String, _ partition: Int32) {
        self.init(topic: topic, partition: partition)
    }

    /// "topic-3", as the Java client prints it.
    public var description: String { "\(topic)-\(partition)" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        if lhs.topic != rhs.topic { return lhs.topic.precedesInJavaOrder(rhs.topic) }
        return lhs.partition < rhs.partition
    }
}

extension String {
    /// Java's `String.compareTo`: lexicographic over UTF-16 code units. Member ids, instance
    /// ids and topics are sorted this way so a Swift leader lays out a group as a Java leader
    /// would even when names are not ASCII.
    func precedesInJavaOrder(_ other: String) -> Bool {
        utf16.lexicographicallyPrecedes(other.utf16)
    }
}

// The consumer protocol's `[]TopicPartition` array, `[{topic: string, partitions: [int32]}]`
// (non-flexible). The value types keep a flat list; consecutive partitions of one topic share
// one entry on the wire, so flat → wire → flat is exact. (An entry with no partitions, which
// no client sends, decodes to nothing.)

extension ByteWriter {
    mutating func writeConsumerProtocolTopicPartitions(
        _ partitions: [TopicPartition], message: StaticString, field: StaticString
    ) throws(KafkaEncodingError) {
        var runs: [(topic: String, partitions: [Int32])] = []
        for tp in partitions {
            if let last = runs.indices.last, runs[last].topic == tp.topic {
                runs[last].partitions.append(tp.partition)
            } else {
                runs.append((tp.topic, [tp.partition]))
            }
        }
        try writeKafkaArrayCount(runs.count, compact: false, message: message, field: field)
        for run in runs {
            try writeKafkaString(run.topic, compact: false, message: message, field: field)
            try writeKafkaArrayCount(run.partitions.count, compact: false, message: message, field: field)
            for partition in run.partitions { writeKafkaInt32(partition) }
        }
    }
}

extension ByteReader {
    mutating func readConsumerProtocolTopicPartitions(_ field: String) throws(WireDecodingError) -> [TopicPartition] {
        let count = try readKafkaNonNullArrayCount(compact: false, field)
        var result: [TopicPartition] = []
        for _ in 0..<count {
            let topic = try readKafkaString(compact: false, "\(field).topic")
            let partitionCount = try readKafkaNonNullArrayCount(compact: false, "\(field).partitions")
            result.reserveCapacity(result.count + partitionCount)
            for _ in 0..<partitionCount {
                result.append(TopicPartition(topic: topic, partition: try readKafkaInt32("\(field).partitions")))
            }
        }
        return result
    }
}

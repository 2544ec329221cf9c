/// A record to produce. `partition` nil lets the partitioner choose (murmur2 of the key, or
/// sticky for keyless records); `timestamp` nil means now (milliseconds since the epoch).
public struct ProducerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?, headers: [RecordHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public init(topic: String, partition: Int32? = nil, key: String?, value: String?, headers: [RecordHeader] = []) {
        self.init(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) }, headers: headers)
    }
}

/// Where a produced record landed. `offset` is -1 when the broker does not say (acks=0, or a
/// retried batch the broker recognised as a duplicate of one it already had).
public struct RecordMetadata: Sendable, Hashable, CustomStringConvertible {
    public var topicPartition: TopicPartition
    public var offset: Int64
    /// The create time sent, or the broker's append time when the topic uses log-append time.
    public var timestamp: Int64

    public init(topicPartition: TopicPartition, offset: Int64, timestamp: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.timestamp = timestamp
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    public var description: String { "\(topicPartition)@\(offset)" }
}

/// Called once per record when its fate is known, on a producer task: keep it short.
public typealias KafkaDeliveryHandler = @Sendable (Result<RecordMetadata, KafkaProducerError>) -> Void

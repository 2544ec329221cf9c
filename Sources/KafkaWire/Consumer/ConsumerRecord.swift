/// A record as a consumer receives it.
public struct ConsumerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch: create time, or the broker's append time for topics that use it.
    public var timestamp: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?,
                headers: [RecordHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The key as UTF-8 text (invalid bytes replaced), nil for a null key.
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }

    public func header(_ key: String) -> [UInt8]? {
        headers.last { $0.key == key }?.value
    }
}

/// What a fetch last said about a partition: the offsets the lab's LSO and lag experiments read.
public struct PartitionWatermarks: Sendable, Hashable {
    public var highWatermark: Int64
    /// -1 when the broker did not say (fetch versions before 4).
    public var lastStableOffset: Int64
    public var logStartOffset: Int64

    public init(highWatermark: Int64 = -1, lastStableOffset: Int64 = -1, logStartOffset: Int64 = -1) {
        self.highWatermark = highWatermark
        self.lastStableOffset = lastStableOffset
        self.logStartOffset = logStartOffset
    }
}

import WireCore

/// The "consumer" protocol's subscription: the metadata each member puts in JoinGroup's
/// `protocols[].metadata`, as Apache Kafka's ConsumerProtocolSubscription.json (v0-v3,
/// never flexible), prefixed by its int16 version.
///
/// v0: topics, userData; v1 adds ownedPartitions; v2 adds generationId; v3 adds rackId.
/// The added fields are "ignorable": encoding at a version without them drops them, as the
/// Java client does. Decoding accepts any version ≥ 0; above v3 it reads the v3 fields and
/// ignores what follows (the forward-compatibility rule the JSON states), at v0-v3 bytes
/// after the last field are an error.
public struct ConsumerProtocolSubscription: Sendable, Equatable {
    /// The highest version this codec knows, and the one Java 3.5+ and 4.x send.
    public static let highestKnownVersion: Int16 = 3
    static let messageName = "ConsumerProtocolSubscription"

    public var topics: [String]
    public var userData: [UInt8]?
    /// (v1+) The partitions the member owns now; flat, one topic's partitions together.
    public var ownedPartitions: [TopicPartition]
    /// (v2+) The generation in which the member got `ownedPartitions`; -1 when unknown.
    public var generationId: Int32
    /// (v3+)
    public var rackId: String?

    public init(
        topics: [String] = [],
        userData: [UInt8]? = nil,
        ownedPartitions: [TopicPartition] = [],
        generationId: Int32 = -1,
        rackId: String? = nil
    ) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationId = generationId
        self.rackId = rackId
    }

    /// Appends the version prefix and the body at `version` (0...3).
    public func encode(into writer: inout ByteWriter, version: Int16 = highestKnownVersion) throws(KafkaEncodingError) {
        guard (0...Self.highestKnownVersion).contains(version) else {
            throw .unsupportedVersion(message: Self.messageName, version: version)
        }
        writer.writeKafkaInt16(version)
        try writer.writeKafkaArrayCount(topics.count, compact: false, message: "ConsumerProtocolSubscription", field: "topics")
        for topic in topics {
            try writer.writeKafkaString(topic, compact: false, message: "ConsumerProtocolSubscription", field: "topics")
        }
        try writer.writeKafkaNullableBytes(userData, compact: false, message: "ConsumerProtocolSubscription", field: "userData")
        if version >= 1 {
            try writer.writeConsumerProtocolTopicPartitions(ownedPartitions, message: "ConsumerProtocolSubscription", field: "ownedPartitions")
        }
        if version >= 2 {
            writer.writeKafkaInt32(generationId)
        }
        if version >= 3 {
            try writer.writeKafkaNullableString(rackId, compact: false, message: "ConsumerProtocolSubscription", field: "rackId")
        }
    }

    /// The version-prefixed encoding at `version`.
    public func encoded(version: Int16 = highestKnownVersion) throws(KafkaEncodingError) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        try encode(into: &writer, version: version)
        return writer.bytes
    }

    /// Decodes version-prefixed bytes. A missing or truncated prefix reports version -1.
    public static func decode(_ bytes: [UInt8]) throws(KafkaDecodingError) -> Self {
        var reader = ByteReader(bytes)
        let version: Int16
        do throws(WireDecodingError) {
            version = try reader.readKafkaInt16("version")
        } catch {
            throw .invalidField(message: messageName, version: -1, error: error)
        }
        guard version >= 0 else { throw .unsupportedVersion(message: messageName, version: version) }
        var value = Self()
        let known = min(version, highestKnownVersion)
        do throws(WireDecodingError) {
            let topicCount = try reader.readKafkaNonNullArrayCount(compact: false, "topics")
            value.topics.reserveCapacity(topicCount)
            for _ in 0..<topicCount {
                value.topics.append(try reader.readKafkaString(compact: false, "topics"))
            }
            value.userData = try reader.readKafkaNullableBytes(compact: false, "userData")
            if known >= 1 {
                value.ownedPartitions = try reader.readConsumerProtocolTopicPartitions("ownedPartitions")
            }
            if known >= 2 {
                value.generationId = try reader.readKafkaInt32("generationId")
            }
            if known >= 3 {
                value.rackId = try reader.readKafkaNullableString(compact: false, "rackId")
            }
        } catch {
            throw .invalidField(message: messageName, version: version, error: error)
        }
        if version <= highestKnownVersion, !reader.isAtEnd {
            throw .trailingBytes(message: messageName, version: version, count: reader.remaining)
        }
        return value
    }
}

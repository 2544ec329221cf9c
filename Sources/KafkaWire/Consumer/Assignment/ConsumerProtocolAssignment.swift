import WireCore

/// The "consumer" protocol's assignment: what the leader puts in SyncGroup's
/// `assignments[].assignment` and each member reads back, as Apache Kafka's
/// ConsumerProtocolAssignment.json (v0-v3, all the same layout, never flexible), prefixed by
/// its int16 version. Decoding accepts any version ≥ 0; above v3 it reads the known fields
/// and ignores what follows, at v0-v3 bytes after the last field are an error.
public struct ConsumerProtocolAssignment: Sendable, Equatable {
    /// The highest version this codec knows (Java 3.5+ sends 3).
    public static let highestKnownVersion: Int16 = 3
    static let messageName = "ConsumerProtocolAssignment"

    /// Flat; on the wire consecutive partitions of one topic share an entry, so pass them
    /// sorted (as the assignors return them) for the compact form Java sends.
    public var assignedPartitions: [TopicPartition]
    public var userData: [UInt8]?

    public init(assignedPartitions: [TopicPartition] = [], userData: [UInt8]? = nil) {
        self.assignedPartitions = assignedPartitions
        self.userData = userData
    }

    /// Appends the version prefix and the body at `version` (0...3).
    public func encode(into writer: inout ByteWriter, version: Int16 = highestKnownVersion) throws(KafkaEncodingError) {
        guard (0...Self.highestKnownVersion).contains(version) else {
            throw .unsupportedVersion(message: Self.messageName, version: version)
        }
        writer.writeKafkaInt16(version)
        try writer.writeConsumerProtocolTopicPartitions(assignedPartitions, message: "ConsumerProtocolAssignment", field: "assignedPartitions")
        try writer.writeKafkaNullableBytes(userData, compact: false, message: "ConsumerProtocolAssignment", field: "userData")
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
        do throws(WireDecodingError) {
            value.assignedPartitions = try reader.readConsumerProtocolTopicPartitions("assignedPartitions")
            value.userData = try reader.readKafkaNullableBytes(compact: false, "userData")
        } catch {
            throw .invalidField(message: messageName, version: version, error: error)
        }
        if version <= highestKnownVersion, !reader.isAtEnd {
            throw .trailingBytes(message: messageName, version: version, count: reader.remaining)
        }
        return value
    }
}

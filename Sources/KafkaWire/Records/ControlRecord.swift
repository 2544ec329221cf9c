import WireCore

/// The key of a record in a control batch: version int16, type int16. Newer versions may
/// append fields, which are ignored.
public struct ControlRecordKey: Sendable, Hashable {
    public var version: Int16
    public var type: Int16

    public static let abortType: Int16 = 0
    public static let commitType: Int16 = 1

    public init(version: Int16 = 0, type: Int16) {
        self.version = version
        self.type = type
    }

    public init(decoding key: some Collection<UInt8>) throws(RecordBatchError) {
        var reader = ByteReader(Array(key))
        do throws(WireDecodingError) {
            version = try reader.readBigEndian(Int16.self, "control key version")
            type = try reader.readBigEndian(Int16.self, "control key type")
        } catch {
            throw .malformedControlRecord(reason: "\(error)")
        }
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 4)
        writer.writeBigEndian(version)
        writer.writeBigEndian(type)
        return writer.bytes
    }
}

/// A transaction marker: the record of a control batch that commits or aborts the
/// transactional records of a producer before it in the partition.
public struct EndTransactionMarker: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case abort
        case commit
    }

    public var kind: Kind
    public var coordinatorEpoch: Int32
    /// Version of the value (0; later versions may append fields, which are ignored).
    public var version: Int16

    public init(_ kind: Kind, coordinatorEpoch: Int32, version: Int16 = 0) {
        self.kind = kind
        self.coordinatorEpoch = coordinatorEpoch
        self.version = version
    }

    /// Reads a marker from a control record; throws if it is not an abort/commit marker.
    public init(record: Record) throws(RecordBatchError) {
        guard let key = record.key else { throw .malformedControlRecord(reason: "control record without a key") }
        let controlKey = try ControlRecordKey(decoding: key)
        switch controlKey.type {
        case ControlRecordKey.abortType: kind = .abort
        case ControlRecordKey.commitType: kind = .commit
        default: throw .malformedControlRecord(reason: "control type \(controlKey.type) is not a transaction marker")
        }
        guard let value = record.value else { throw .malformedControlRecord(reason: "transaction marker without a value") }
        var reader = ByteReader(value)
        do throws(WireDecodingError) {
            version = try reader.readBigEndian(Int16.self, "marker version")
            coordinatorEpoch = try reader.readBigEndian(Int32.self, "coordinator epoch")
        } catch {
            throw .malformedControlRecord(reason: "\(error)")
        }
    }

    public var key: [UInt8] {
        ControlRecordKey(version: 0, type: kind == .commit ? ControlRecordKey.commitType : ControlRecordKey.abortType).encoded
    }

    public var value: [UInt8] {
        var writer = ByteWriter(capacity: 6)
        writer.writeBigEndian(version)
        writer.writeBigEndian(coordinatorEpoch)
        return writer.bytes
    }

    /// The control batch a transaction coordinator writes for this marker.
    public func batch(
        producerId: Int64, producerEpoch: Int16, baseOffset: Int64 = 0, timestamp: Int64, partitionLeaderEpoch: Int32 = -1
    ) -> RecordBatch {
        RecordBatch(
            baseOffset: baseOffset,
            records: [Record(offset: baseOffset, timestamp: timestamp, key: key, value: value)],
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: -1,
            isTransactional: true, isControl: true, partitionLeaderEpoch: partitionLeaderEpoch)
    }
}

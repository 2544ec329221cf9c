import WireCore

/// One partition's batch inside the producer: records appended until it is full or has
/// lingered long enough, then sent (and possibly re-sent) until acknowledged or failed.
///
/// Mutated only under the producer's lock, except while a request carries it: then the
/// sending task alone touches it (builds its bytes) until it hands it back under the lock.
final class ProducerBatch: @unchecked Sendable {
    /// A record whose caller wants its outcome.
    struct PendingDelivery {
        var index: Int32
        var timestamp: Int64
        var handler: KafkaDeliveryHandler
    }

    let id: UInt64
    let topicPartition: TopicPartition
    let createdAt: NanoTime
    private(set) var builder: RecordBatchBuilder
    private(set) var deliveries: [PendingDelivery] = []
    /// Bytes counted against `buffer.memory` (the records' encoded size).
    private(set) var bufferedBytes = 0
    /// The built batch; producer fields as `stamped`.
    private(set) var bytes: [UInt8]?
    private var stamped: (producerId: Int64, epoch: Int16, sequence: Int32)?

    private(set) var recordCount = 0
    /// Sending attempts so far.
    var attempts = 0
    /// Not sent again before this.
    var retryAt = NanoTime(nanoseconds: 0)
    var lastError: String?
    /// Producer id, epoch and first sequence this batch is sent with; sequence -1 until the
    /// sender gives it one (idempotent producers only).
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1
    var isTransactional = false

    /// `buffer`: storage of a finished batch to write into (see `takeBuffer`).
    init(id: UInt64, topicPartition: TopicPartition, createdAt: NanoTime, capacity: Int, buffer: [UInt8]? = nil) {
        self.id = id
        self.topicPartition = topicPartition
        self.createdAt = createdAt
        builder = buffer.map { RecordBatchBuilder(reusing: $0, capacity: capacity) } ?? RecordBatchBuilder(capacity: capacity)
    }

    /// The built bytes' storage, for a new batch to reuse once this one is finished for good.
    func takeBuffer() -> [UInt8]? {
        defer { bytes = nil }
        return bytes
    }

    var uncompressedSize: Int { builder.uncompressedSize }

    /// A record's encoded size in this batch: `body` after its length prefix, `total` with it.
    struct RecordSize {
        var total: Int
        var body: Int
    }

    func sizeOfRecord(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64) -> RecordSize {
        let body = builder.bodySizeOfRecord(key: key, value: value, headers: headers, timestamp: timestamp)
        return RecordSize(total: RecordWire.varintSize(Int64(body)) + body, body: body)
    }

    /// Appends a record whose size `sizeOfRecord` gave (or, as the first record, the size in
    /// an empty batch).
    func append(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64, size: RecordSize, handler: KafkaDeliveryHandler?
    ) {
        if let handler {
            deliveries.append(PendingDelivery(index: Int32(builder.count), timestamp: timestamp, handler: handler))
        }
        builder.append(key: key, value: value, headers: headers, timestamp: timestamp, bodySize: size.body)
        recordCount += 1
        bufferedBytes += size.total
    }

    /// The wire bytes with the current producer fields: built on first use, re-stamped (CRC
    /// recomputed) when the sequence or epoch changed since.
    func wireBytes(compression: CompressionCodec, settings: CompressionSettings) throws(RecordBatchError) -> [UInt8] {
        if var built = bytes {
            if let stamped, stamped != (producerId, producerEpoch, baseSequence) {
                RecordBatchHeader.assign(producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence, in: &built)
                bytes = built
                self.stamped = (producerId, producerEpoch, baseSequence)
            }
            return built
        }
        let built = try builder.build(
            compression: compression, producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            isTransactional: isTransactional, settings: settings, reuse: false)
        bytes = built
        stamped = (producerId, producerEpoch, baseSequence)
        return built
    }

    /// The last sequence of this batch (Kafka's wrap at Int32.max).
    var lastSequence: Int32 { ProducerBatch.sequence(baseSequence, plus: Int32(recordCount - 1)) }

    static func sequence(_ base: Int32, plus delta: Int32) -> Int32 {
        let value = Int64(base) + Int64(delta)
        return Int32(truncatingIfNeeded: value > Int64(Int32.max) ? value - Int64(Int32.max) - 1 : value)
    }
}

/// What the leader must do before a Produce is answered (`acks`).
public enum KafkaAcks: Int16, Sendable, CustomStringConvertible {
    /// acks=0: no answer at all; a record counts as delivered once written to the socket.
    case none = 0
    /// acks=1: the leader has appended it.
    case leader = 1
    /// acks=all (-1): every in-sync replica has it (and at least `min.insync.replicas`).
    case all = -1

    public init?(text: String) {
        switch text.lowercased() {
        case "0", "none": self = .none
        case "1", "leader": self = .leader
        case "all", "-1": self = .all
        default: return nil
        }
    }

    public var description: String { self == .all ? "all" : "\(rawValue)" }
}

/// Producer settings, named after the Java client's where they mean the same.
public struct KafkaProducerConfiguration: Sendable {
    public var acks: KafkaAcks
    /// `enable.idempotence`: a producer id and per-partition sequence numbers, so that retries
    /// neither duplicate nor reorder. Requires acks=all and at most 5 requests in flight.
    public var idempotent: Bool
    /// `linger.ms`: how long a batch that is not full waits for more records.
    public var linger: Duration
    /// `batch.size`: bytes (uncompressed, header included) at which a batch is sent at once.
    public var batchSize: Int
    /// `max.request.size`: a larger record is refused when it is produced.
    public var maxRequestSize: Int
    /// `buffer.memory`: bytes of records waiting to be delivered before `produce` waits.
    public var bufferMemory: Int
    /// `max.in.flight.requests.per.connection`.
    public var maxInFlightRequestsPerConnection: Int
    /// `delivery.timeout.ms`: a record not acknowledged by then fails (retries included).
    public var deliveryTimeout: Duration
    /// `request.timeout.ms` for each Produce.
    public var requestTimeout: Duration
    /// `retry.backoff.ms` growing to `retry.backoff.max.ms`.
    public var retryBackoff: Duration
    public var retryBackoffMax: Duration
    public var compression: CompressionCodec
    public var compressionSettings: CompressionSettings
    /// `transactional.id` (used by the transactional producer).
    public var transactionalID: String?
    /// `transaction.timeout.ms`.
    public var transactionTimeout: Duration

    public init(
        acks: KafkaAcks = .all,
        idempotent: Bool = true,
        linger: Duration = .milliseconds(5),
        batchSize: Int = 16_384,
        maxRequestSize: Int = 1_048_576,
        bufferMemory: Int = 32 * 1_048_576,
        maxInFlightRequestsPerConnection: Int = 5,
        deliveryTimeout: Duration = .seconds(120),
        requestTimeout: Duration = .seconds(30),
        retryBackoff: Duration = .milliseconds(100),
        retryBackoffMax: Duration = .seconds(1),
        compression: CompressionCodec = .none,
        compressionSettings: CompressionSettings = CompressionSettings(),
        transactionalID: String? = nil,
        transactionTimeout: Duration = .seconds(60)
    ) {
        self.acks = acks
        self.idempotent = idempotent
        self.linger = linger
        self.batchSize = batchSize
        self.maxRequestSize = maxRequestSize
        self.bufferMemory = bufferMemory
        self.maxInFlightRequestsPerConnection = maxInFlightRequestsPerConnection
        self.deliveryTimeout = deliveryTimeout
        self.requestTimeout = requestTimeout
        self.retryBackoff = retryBackoff
        self.retryBackoffMax = retryBackoffMax
        self.compression = compression
        self.compressionSettings = compressionSettings
        self.transactionalID = transactionalID
        self.transactionTimeout = transactionTimeout
    }

    /// The Java client's rule: idempotence needs acks=all and ≤ 5 in flight (the broker keeps
    /// the last five batches per producer to recognise duplicates).
    public func validate() throws(KafkaProducerError) {
        if idempotent || transactionalID != nil {
            guard acks == .all else { throw .invalidConfiguration("idempotence requires acks=all (got acks=\(acks))") }
            guard (1...5).contains(maxInFlightRequestsPerConnection) else {
                throw .invalidConfiguration("idempotence requires max.in.flight.requests.per.connection ≤ 5 (got \(maxInFlightRequestsPerConnection))")
            }
        }
        guard maxInFlightRequestsPerConnection >= 1 else { throw .invalidConfiguration("max.in.flight.requests.per.connection must be ≥ 1") }
        guard batchSize >= 1 else { throw .invalidConfiguration("batch.size must be ≥ 1") }
        guard bufferMemory >= batchSize else { throw .invalidConfiguration("buffer.memory must be ≥ batch.size") }
    }
}

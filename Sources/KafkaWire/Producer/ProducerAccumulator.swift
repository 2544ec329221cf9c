import DequeModule
import WireCore

/// The producer's state as a value, driven by the sender with explicit times so that its
/// rules (batching, linger, in-flight limits, sequence numbers, retry order, epoch bumps) are
/// tested without a broker: records go into per-partition batches; `drain` says what to send
/// to which broker now and when to look again; `complete` takes a batch's outcome and says
/// whom to tell.
struct ProducerAccumulator {
    struct PartitionQueue {
        /// The batch records are appended to.
        var open: ProducerBatch?
        /// Closed batches waiting to be sent, oldest sequence first.
        var queued: Deque<ProducerBatch> = []
        /// Sent, not yet answered, in sequence order.
        var inFlight: [ProducerBatch] = []
        /// The sequence the next new batch gets (idempotent producers).
        var nextSequence: Int32 = 0
        /// A batch failed and is to be re-sent: nothing else goes out until the batches in
        /// flight have come back, so that the partition's sequence stays gapless and ordered.
        var resending = false
        /// The last sequence the broker acknowledged for the current producer id and epoch
        /// (-1: none yet). Until it has one, the broker holds no state for this producer on
        /// the partition and takes any first sequence (KIP-360), so it cannot refuse a later
        /// batch that overtakes a failed first one: only one batch goes out until then.
        var acknowledgedThrough: Int32 = -1

        var isEmpty: Bool { open == nil && queued.isEmpty && inFlight.isEmpty }
    }

    /// What the sender does next.
    struct DrainResult {
        /// Batches per leader node, at most one per partition.
        var requests: [(node: Int32, batches: [ProducerBatch])] = []
        /// Partitions whose leader is unknown: refresh metadata.
        var partitionsWithoutLeader: [TopicPartition] = []
        /// Transactional producers: partitions with data that the transaction coordinator must
        /// be told of (AddPartitionsToTxn) before anything is sent to them.
        var partitionsToAddToTransaction: [TopicPartition] = []
        /// Batches that failed without being sent (expired).
        var failed: [(ProducerBatch, KafkaProducerError)] = []
        /// When to drain again at the latest (nil: only when signalled).
        var nextWakeup: NanoTime?
    }

    /// How a sent batch came back.
    enum Outcome {
        case acknowledged(baseOffset: Int64, logAppendTime: Int64)
        /// acks=0: written to the socket, nothing more is known.
        case written
        case brokerError(KafkaErrorCode, message: String?)
        /// The request failed on the way (connection lost, timed out, not encodable).
        case transportFailure(String)
        case fatal(KafkaProducerError)
    }

    /// What `complete` decided about a batch.
    struct Completion {
        var delivered: [(ProducerBatch, Result<(offset: Int64, logAppendTime: Int64), KafkaProducerError>)] = []
        var refreshMetadata = false
    }

    let configuration: KafkaProducerConfiguration
    private(set) var partitions: [TopicPartition: PartitionQueue] = [:]
    private(set) var partitionCounts: [String: Int] = [:]
    private var partitioner = DefaultPartitioner()
    private var nextBatchID: UInt64 = 1
    private(set) var bufferedBytes = 0
    private(set) var inFlightRequests: [Int32: Int] = [:]
    /// Batches created at or before this id are closed at once (a flush is waiting for them).
    private var flushThrough: UInt64 = 0

    // Idempotence.
    private(set) var producerId: Int64 = -1
    private(set) var producerEpoch: Int16 = -1
    /// Sequences are out of step with the broker: stop sending, get a new epoch, renumber.
    private(set) var epochBumpNeeded = false
    private(set) var fatalError: KafkaProducerError?
    /// Partitions added to the open transaction (transactional producers only).
    private(set) var transactionPartitions: Set<TopicPartition> = []

    // Statistics.
    private(set) var recordsDelivered = 0
    private(set) var recordsFailed = 0
    private(set) var batchesSent = 0
    private(set) var retries = 0

    init(configuration: KafkaProducerConfiguration) {
        self.configuration = configuration
    }

    var usesSequences: Bool { configuration.idempotent || configuration.transactionalID != nil }
    var isTransactional: Bool { configuration.transactionalID != nil }

    mutating func addedToTransaction(_ added: [TopicPartition]) {
        transactionPartitions.formUnion(added)
    }

    /// The transaction ended (committed or aborted): the next one starts with no partitions.
    mutating func transactionEnded() {
        transactionPartitions = []
    }

    /// Fails every batch not yet sent of `partitions` (an AddPartitionsToTxn that failed).
    mutating func failQueued(of topicPartitions: [TopicPartition], _ error: KafkaProducerError) -> [(ProducerBatch, KafkaProducerError)] {
        var failed: [(ProducerBatch, KafkaProducerError)] = []
        for topicPartition in topicPartitions {
            guard var queue = partitions[topicPartition] else { continue }
            if let open = queue.open {
                queue.open = nil
                queue.queued.append(open)
            }
            while let batch = queue.queued.popFirst() {
                bufferedBytes -= batch.bufferedBytes
                recordsFailed += batch.recordCount
                failed.append((batch, error))
            }
            partitions[topicPartition] = queue
        }
        return failed
    }
    var needsProducerId: Bool { usesSequences && producerId < 0 && fatalError == nil }
    var totalInFlightRequests: Int { inFlightRequests.values.reduce(0, +) }
    var isEmpty: Bool { partitions.values.allSatisfy(\.isEmpty) }

    // MARK: Appending

    enum AppendResult {
        /// Appended; `wakeSender` when a batch was opened or closed (the sender's deadlines changed).
        case appended(wakeSender: Bool)
        /// The topic's partition count is unknown: learn it, then append again.
        case needsPartitionCount
        /// `buffer.memory` is used up: wait for deliveries, then append again.
        case bufferFull
        case rejected(KafkaProducerError)
    }

    mutating func setPartitionCount(_ count: Int, for topic: String) {
        hot = nil
        partitionCounts[topic] = count
    }

    /// The open batch the last record went into, so that the next record for the same topic
    /// and partition goes straight into it: no partition-count or sticky-partition lookup, no
    /// TopicPartition hashing (the common case of a producer sending to one topic). Cleared
    /// whenever an open batch is closed or a partition count changes.
    private struct HotBatch {
        let topic: String
        let partition: Int32
        let partitionCount: Int
        let batch: ProducerBatch
        /// `partition` is the topic's sticky partition for keyless records.
        let sticky: Bool
    }
    private var hot: HotBatch?
    /// Storage of finished batches for new ones: a batch grows to `batch.size` by doubling,
    /// and every step in fresh memory costs page faults and copies. At most `maxSpareBuffers`,
    /// together at most half of `buffer.memory`.
    private var spareBuffers: [[UInt8]] = []
    private var spareBytes = 0
    private static let maxSpareBuffers = 8

    /// `now` is read only when a batch is opened.
    mutating func append(
        _ record: ProducerRecord, timestamp: Int64, handler: KafkaDeliveryHandler?, now: @autoclosure () -> NanoTime
    ) -> AppendResult {
        if let fatalError { return .rejected(fatalError) }
        if let hot, record.topic == hot.topic, let result = appendToHot(hot, record, timestamp: timestamp, handler: handler) {
            return result
        }
        guard let count = partitionCounts[record.topic] else { return .needsPartitionCount }
        let partition: Int32
        var keyless = false
        if let chosen = record.partition {
            guard chosen >= 0, Int(chosen) < count else {
                return .rejected(.unknownPartition(TopicPartition(record.topic, chosen), partitionCount: count))
            }
            partition = chosen
        } else if let key = record.key {
            partition = DefaultPartitioner.partition(forKey: key, partitionCount: count)
        } else {
            partition = partitioner.partitionForKeyless(topic: record.topic, available: [], partitionCount: count)
            keyless = true
        }
        let topicPartition = TopicPartition(record.topic, partition)
        var queue = partitions.removeValue(forKey: topicPartition) ?? PartitionQueue()
        defer { partitions[topicPartition] = queue }

        var wake = false
        var size: ProducerBatch.RecordSize
        if let open = queue.open {
            size = open.sizeOfRecord(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
            if open.uncompressedSize + size.total > configuration.batchSize {
                close(&queue, keyless: keyless, count: count)
                wake = true
                size = Self.recordSizeInEmptyBatch(record)
            }
        } else {
            size = Self.recordSizeInEmptyBatch(record)
        }
        let limit = min(configuration.maxRequestSize, configuration.bufferMemory)
        guard RecordBatchHeader.size + size.total <= limit else {
            return .rejected(.recordTooLarge(size: RecordBatchHeader.size + size.total, limit: limit))
        }
        if bufferedBytes > 0, bufferedBytes + size.total > configuration.bufferMemory { return .bufferFull }
        if queue.open == nil {
            let capacity = min(configuration.batchSize, max(RecordBatchHeader.size + size.total, 1024))
            var buffer: [UInt8]?
            if let spare = spareBuffers.last, spare.capacity >= capacity {
                buffer = spareBuffers.removeLast()
                spareBytes -= spare.capacity
            }
            let batch = ProducerBatch(
                id: nextBatchID, topicPartition: topicPartition, createdAt: now(), capacity: capacity, buffer: buffer)
            batch.isTransactional = configuration.transactionalID != nil
            nextBatchID += 1
            queue.open = batch
            wake = true
        }
        let batch = queue.open!
        batch.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp, size: size, handler: handler)
        bufferedBytes += size.total
        if batch.uncompressedSize >= configuration.batchSize {
            close(&queue, keyless: keyless, count: count)
            wake = true
        } else {
            hot = HotBatch(topic: record.topic, partition: partition, partitionCount: count, batch: batch, sticky: keyless)
        }
        return .appended(wakeSender: wake)
    }

    /// `append` for a record of the hot batch's topic: nil when the record belongs elsewhere
    /// or does not fit (the general path decides then), else what `append` returns, with the
    /// same checks in the same order.
    private mutating func appendToHot(
        _ hot: HotBatch, _ record: ProducerRecord, timestamp: Int64, handler: KafkaDeliveryHandler?
    ) -> AppendResult? {
        let keyless: Bool
        if let chosen = record.partition {
            guard chosen == hot.partition else { return nil }
            keyless = false
        } else if let key = record.key {
            guard DefaultPartitioner.partition(forKey: key, partitionCount: hot.partitionCount) == hot.partition else { return nil }
            keyless = false
        } else {
            guard hot.sticky else { return nil }
            keyless = true
        }
        let batch = hot.batch
        let size = batch.sizeOfRecord(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        guard batch.uncompressedSize + size.total <= configuration.batchSize else { return nil }
        let limit = min(configuration.maxRequestSize, configuration.bufferMemory)
        guard RecordBatchHeader.size + size.total <= limit else {
            return .rejected(.recordTooLarge(size: RecordBatchHeader.size + size.total, limit: limit))
        }
        if bufferedBytes > 0, bufferedBytes + size.total > configuration.bufferMemory { return .bufferFull }
        batch.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp, size: size, handler: handler)
        bufferedBytes += size.total
        guard batch.uncompressedSize >= configuration.batchSize else { return .appended(wakeSender: false) }
        let topicPartition = batch.topicPartition
        var queue = partitions.removeValue(forKey: topicPartition) ?? PartitionQueue()
        close(&queue, keyless: keyless, count: hot.partitionCount)
        partitions[topicPartition] = queue
        return .appended(wakeSender: true)
    }

    private static func recordSizeInEmptyBatch(_ record: ProducerRecord) -> ProducerBatch.RecordSize {
        let body = RecordWire.bodySize(
            timestampDelta: 0, offsetDelta: 0, keyCount: record.key?.count, valueCount: record.value?.count, headers: record.headers)
        return ProducerBatch.RecordSize(total: RecordWire.varintSize(Int64(body)) + body, body: body)
    }

    private mutating func close(_ queue: inout PartitionQueue, keyless: Bool, count: Int) {
        guard let open = queue.open else { return }
        hot = nil
        queue.open = nil
        queue.queued.append(open)
        if keyless {
            partitioner.batchCompleted(topic: open.topicPartition.topic, partition: open.topicPartition.partition, available: [], partitionCount: count)
        }
    }

    /// Makes every batch created so far sendable at once; returns the id a flush waits for.
    mutating func beginFlush() -> UInt64 {
        flushThrough = nextBatchID - 1
        return flushThrough
    }

    /// True when every batch with an id up to `id` is finished.
    func isFlushed(through id: UInt64) -> Bool {
        for queue in partitions.values {
            if let open = queue.open, open.id <= id { return false }
            if queue.queued.contains(where: { $0.id <= id }) || queue.inFlight.contains(where: { $0.id <= id }) { return false }
        }
        return true
    }

    // MARK: Draining

    /// Decides what to send now. `leader` gives a partition's leader node, nil if unknown.
    mutating func drain(now: NanoTime, leader: (TopicPartition) -> Int32?) -> DrainResult {
        var result = DrainResult()
        var perNode: [Int32: (batches: [ProducerBatch], bytes: Int)] = [:]
        func wake(at instant: NanoTime) {
            if result.nextWakeup.map({ instant < $0 }) ?? true { result.nextWakeup = instant }
        }
        // A batch failed here is finished: its bytes go back to buffer.memory.
        func fail(_ batch: ProducerBatch, _ error: KafkaProducerError) {
            bufferedBytes -= batch.bufferedBytes
            recordsFailed += batch.recordCount
            result.failed.append((batch, error))
        }
        for topicPartition in Array(partitions.keys) {
            guard var queue = partitions.removeValue(forKey: topicPartition) else { continue }
            // Kept when empty: the entry holds the partition's next sequence number.
            defer { partitions[topicPartition] = queue }
            if let open = queue.open {
                let lingerEnd = open.createdAt + configuration.linger
                if open.id <= flushThrough || lingerEnd <= now || fatalError != nil {
                    if hot?.batch === open { hot = nil }
                    queue.open = nil
                    queue.queued.append(open)
                } else {
                    wake(at: lingerEnd)
                }
            }
            if let fatalError {
                while let batch = queue.queued.popFirst() { fail(batch, fatalError) }
                continue
            }
            // Expiry of batches not in flight.
            while let head = queue.queued.first, now - head.createdAt >= configuration.deliveryTimeout {
                queue.queued.removeFirst()
                if head.baseSequence >= 0 { epochBumpNeeded = true }
                fail(head, .deliveryTimedOut(topicPartition, after: configuration.deliveryTimeout, last: head.lastError))
            }
            if let head = queue.queued.first { wake(at: head.createdAt + configuration.deliveryTimeout) }
            // Without a producer id (InitProducerId failed or pending) a batch would go out
            // with producer id -1, unprotected, yet consume sequence numbers.
            guard !epochBumpNeeded, !needsProducerId, let head = queue.queued.first else { continue }
            if queue.resending || (usesSequences && queue.acknowledgedThrough < 0) {
                guard queue.inFlight.isEmpty else { continue }
            }
            if head.retryAt > now {
                wake(at: head.retryAt)
                continue
            }
            if isTransactional, !transactionPartitions.contains(topicPartition) {
                result.partitionsToAddToTransaction.append(topicPartition)
                continue
            }
            guard let node = leader(topicPartition) else {
                result.partitionsWithoutLeader.append(topicPartition)
                continue
            }
            guard (inFlightRequests[node] ?? 0) < configuration.maxInFlightRequestsPerConnection else { continue }
            var entry = perNode[node] ?? ([], 0)
            // A request holds at least one batch and otherwise stays under max.request.size.
            if !entry.batches.isEmpty, entry.bytes + head.uncompressedSize > configuration.maxRequestSize { continue }
            queue.queued.removeFirst()
            queue.resending = false
            if usesSequences {
                head.producerId = producerId
                head.producerEpoch = producerEpoch
                if head.baseSequence < 0 {
                    head.baseSequence = queue.nextSequence
                    queue.nextSequence = ProducerBatch.sequence(queue.nextSequence, plus: Int32(head.recordCount))
                }
            }
            head.attempts += 1
            if head.attempts > 1 { retries += 1 }
            queue.inFlight.append(head)
            entry.batches.append(head)
            entry.bytes += head.uncompressedSize
            perNode[node] = entry
            // More is ready for this partition: the next request can take it.
            if !queue.queued.isEmpty { wake(at: now) }
        }
        for (node, entry) in perNode.sorted(by: { $0.key < $1.key }) {
            inFlightRequests[node, default: 0] += 1
            batchesSent += entry.batches.count
            result.requests.append((node, entry.batches))
        }
        if !result.partitionsWithoutLeader.isEmpty { wake(at: now + configuration.retryBackoff) }
        return result
    }

    /// Counts one more request to `node` in flight (drain counts the ones it plans).
    mutating func requestStarted(node: Int32) {
        inFlightRequests[node, default: 0] += 1
    }

    /// A request to `node` is finished (answered or failed); its batches are completed separately.
    mutating func requestFinished(node: Int32) {
        if let count = inFlightRequests[node], count > 1 { inFlightRequests[node] = count - 1 } else { inFlightRequests[node] = nil }
    }

    // MARK: Completion

    mutating func complete(_ batch: ProducerBatch, _ outcome: Outcome, now: NanoTime) -> Completion {
        var completion = Completion()
        let topicPartition = batch.topicPartition
        var queue = partitions.removeValue(forKey: topicPartition) ?? PartitionQueue()
        defer { partitions[topicPartition] = queue }
        queue.inFlight.removeAll { $0 === batch }

        func finish(_ result: Result<(offset: Int64, logAppendTime: Int64), KafkaProducerError>) {
            bufferedBytes -= batch.bufferedBytes
            if let buffer = batch.takeBuffer(), spareBuffers.count < Self.maxSpareBuffers,
               spareBytes + buffer.capacity <= configuration.bufferMemory / 2 {
                spareBuffers.append(buffer)
                spareBytes += buffer.capacity
            }
            if case .success = result { recordsDelivered += batch.recordCount } else { recordsFailed += batch.recordCount }
            completion.delivered.append((batch, result))
        }
        func retry(_ reason: String) {
            batch.lastError = reason
            if now - batch.createdAt >= configuration.deliveryTimeout {
                if batch.baseSequence >= 0 { epochBumpNeeded = true }
                finish(.failure(.deliveryTimedOut(topicPartition, after: configuration.deliveryTimeout, last: reason)))
                return
            }
            batch.retryAt = now + backoff(afterAttempt: batch.attempts)
            queue.resending = true
            // Back in sequence order (creation order without sequences) before the batches
            // that were never sent.
            let key = { (b: ProducerBatch) -> (Int, Int64) in
                b.baseSequence >= 0 ? (0, Int64(b.baseSequence)) : (1, Int64(b.id))
            }
            let position = queue.queued.firstIndex { key($0) > key(batch) } ?? queue.queued.endIndex
            queue.queued.insert(batch, at: position)
        }

        /// The batch was sent with sequences under the producer id and epoch in effect (what
        /// `acknowledgedThrough` counts in).
        let sequencedNow = usesSequences && batch.baseSequence >= 0
            && batch.producerId == producerId && batch.producerEpoch == producerEpoch
        /// The broker has the batch: with sequences, it now checks every later batch of the
        /// partition against this one.
        func confirmSequence() {
            if sequencedNow { queue.acknowledgedThrough = max(queue.acknowledgedThrough, batch.lastSequence) }
        }

        switch outcome {
        case let .acknowledged(baseOffset, logAppendTime):
            confirmSequence()
            finish(.success((baseOffset, logAppendTime)))
        case .written:
            finish(.success((-1, -1)))
        case let .fatal(error):
            fatalError = error
            finish(.failure(error))
        case let .transportFailure(reason):
            completion.refreshMetadata = true
            if configuration.acks == .none {
                finish(.failure(.rejected(topicPartition, .networkException, message: reason)))
            } else {
                retry(reason)
            }
        case let .brokerError(code, message):
            let reason = "\(code.name)" + (message.map { ": \($0)" } ?? "")
            switch code {
            case .duplicateSequenceNumber:
                // The broker already has this batch from an earlier attempt.
                confirmSequence()
                finish(.success((-1, -1)))
            case .outOfOrderSequenceNumber where sequencedNow && batch.baseSequence <= queue.acknowledgedThrough:
                // Later records of the partition are already in the log (the broker lost this
                // producer's state and took them as a first write): sent again under a new
                // epoch, this batch would land after them. Its records fail instead.
                finish(.failure(.rejected(topicPartition, code, message: (message.map { "\($0); " } ?? "")
                    + "records after this batch were already written; sending it again would reorder the partition")))
            case .outOfOrderSequenceNumber where usesSequences:
                // Expected when an earlier batch of the partition failed and is being re-sent
                // (or is still in flight); otherwise the broker lost our state: new epoch.
                let earlierPending = queue.inFlight.contains { $0.baseSequence < batch.baseSequence }
                    || queue.queued.contains { $0.baseSequence >= 0 && $0.baseSequence < batch.baseSequence }
                if !(earlierPending || queue.resending) { epochBumpNeeded = true }
                retry(reason)
            case .unknownProducerId where usesSequences:
                epochBumpNeeded = true
                retry(reason)
            case .invalidProducerEpoch, KafkaErrorCode(90) /* PRODUCER_FENCED */, .transactionalIdAuthorizationFailed,
                 .clusterAuthorizationFailed:
                let error = KafkaProducerError.fatal("\(code.name) producing to \(topicPartition)" + (message.map { ": \($0)" } ?? ""))
                fatalError = error
                finish(.failure(error))
            default:
                if code.isRetriable || KafkaErrorCode.metadataInvalidating.contains(code) {
                    if KafkaErrorCode.metadataInvalidating.contains(code) { completion.refreshMetadata = true }
                    retry(reason)
                } else {
                    // A gap in the sequence: later batches would be refused as out of order.
                    if batch.baseSequence >= 0 { epochBumpNeeded = true }
                    finish(.failure(.rejected(topicPartition, code, message: message)))
                }
            }
        }
        return completion
    }

    /// `retry.backoff.ms` doubling up to `retry.backoff.max.ms`, as every client retry here.
    private func backoff(afterAttempt attempt: Int) -> Duration {
        KafkaRetryPolicy(initialBackoff: configuration.retryBackoff, maxBackoff: configuration.retryBackoffMax)
            .backoff(afterAttempt: attempt)
    }

    // MARK: Producer id

    /// A producer id and epoch from InitProducerId: sequences restart at 0 everywhere and
    /// batches not yet acknowledged are renumbered when next sent.
    mutating func setProducerIdentity(id: Int64, epoch: Int16) {
        producerId = id
        producerEpoch = epoch
        epochBumpNeeded = false
        for key in Array(partitions.keys) {
            partitions[key]!.nextSequence = 0
            partitions[key]!.acknowledgedThrough = -1
            for batch in partitions[key]!.queued { batch.baseSequence = -1 }
            partitions[key]!.resending = false
        }
    }

    mutating func failFatally(_ error: KafkaProducerError) {
        fatalError = error
    }
}

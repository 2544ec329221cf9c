import WireCore

/// The group a consumer belongs to, for committing its offsets inside a producer's transaction.
public struct ConsumerGroupMetadata: Sendable, Hashable {
    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    public var groupInstanceID: String?

    public init(groupID: String, generationID: Int32 = -1, memberID: String = "", groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// Transactions (producers configured with a `transactionalID`): `initTransactions` once,
/// then `beginTransaction` → `produce`/`send` → `sendOffsetsToTransaction` (exactly-once
/// consume-transform-produce) → `commitTransaction` or `abortTransaction`.
///
/// Protocol: the transaction coordinator (FindCoordinator key type 1) hands out the producer
/// id and epoch (InitProducerId, which fences older instances with the same transactional id
/// and completes or aborts their open transaction), learns every partition before the first
/// write to it (AddPartitionsToTxn) and the consumer group whose offsets are committed
/// (AddOffsetsToTxn; the offsets go to the group coordinator with TxnOffsetCommit), and
/// writes the commit or abort markers (EndTxn).
extension KafkaProducer {
    /// Versions this producer uses for the transaction APIs: the ones before KIP-890 part 2
    /// (EndTxn v5+ bumps the epoch per transaction; AddPartitionsToTxn v4+ is broker-to-broker).
    static let transactionVersionCaps: (addPartitions: ClosedRange<Int16>, addOffsets: ClosedRange<Int16>,
                                        txnOffsetCommit: ClosedRange<Int16>, endTxn: ClosedRange<Int16>) = (0...3, 0...3, 0...4, 0...4)

    private var transactionalID: String {
        get throws(KafkaProducerError) {
            guard let id = configuration.transactionalID else { throw .transactionState("the producer has no transactional id") }
            return id
        }
    }

    /// Gets the producer id and epoch for the transactional id, fencing any older producer
    /// with the same id. Call once before the first transaction.
    public func initTransactions() async throws(KafkaProducerError) {
        let id = try transactionalID
        let timeoutMs = configuration.transactionTimeout.kafkaMilliseconds
        let response: InitProducerIdResponse = try await coordinatorRequest("InitProducerId") { _ in
            InitProducerIdRequest(transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1, producerEpoch: -1)
        } errorCode: { $0.errorCode }
        state.withLock { state in
            state.accumulator.setProducerIdentity(id: response.producerId, epoch: response.producerEpoch)
            state.transaction.initialized()
        }
    }

    public func beginTransaction() throws(KafkaProducerError) {
        _ = try transactionalID
        try state.withLock { (state) throws(KafkaProducerError) in try state.transaction.begin() }
    }

    /// Commits `offsets` (the next offsets to consume, per partition) for `group` as part of
    /// the open transaction: they become visible exactly when the transaction commits.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], group: ConsumerGroupMetadata) async throws(KafkaProducerError) {
        let id = try transactionalID
        let (producerId, epoch) = try state.withLock { (state) throws(KafkaProducerError) -> (Int64, Int16) in
            try state.transaction.requireOpen("sendOffsetsToTransaction")
            return (state.accumulator.producerId, state.accumulator.producerEpoch)
        }
        let _: AddOffsetsToTxnResponse = try await coordinatorRequest("AddOffsetsToTxn", versions: Self.transactionVersionCaps.addOffsets) { _ in
            AddOffsetsToTxnRequest(transactionalId: id, producerId: producerId, producerEpoch: epoch, groupId: group.groupID)
        } errorCode: { $0.errorCode }
        state.withLock { $0.offsetsAddedInTransaction = true }
        guard !offsets.isEmpty else { return }
        let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
        let request = TxnOffsetCommitRequest(
            transactionalId: id, groupId: group.groupID, producerId: producerId, producerEpoch: epoch,
            generationId: group.generationID, memberId: group.memberID, groupInstanceId: group.groupInstanceID,
            topics: byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: byTopic[topic]!.sorted().map {
                    .init(partitionIndex: $0.partition, committedOffset: offsets[$0]!, committedLeaderEpoch: -1, committedMetadata: "")
                })
            })
        let admin = KafkaAdmin(client: client)
        var lastFailure = "no attempt"
        for attempt in 1...10 {
            let node: Int32
            do {
                node = try await admin.coordinator(forGroup: group.groupID)
            } catch {
                throw .client(error)
            }
            let response: TxnOffsetCommitResponse
            do {
                response = try await client.send(to: .node(node), versions: Self.transactionVersionCaps.txnOffsetCommit) { _ in request }
            } catch {
                lastFailure = "\(error)"
                if error.retryDisposition == .fail { throw .client(error) }
                try? await Task.sleep(for: configuration.retryBackoff * attempt)
                continue
            }
            let codes = response.topics.flatMap { $0.partitions.map { KafkaErrorCode($0.errorCode) } }
            guard let failure = codes.first(where: \.isError) else { return }
            lastFailure = failure.name
            switch failure {
            case .unknownMemberId, .illegalGeneration, KafkaErrorCode(82) /* FENCED_INSTANCE_ID */, .rebalanceInProgress:
                // The consumer lost its partitions: the records of this transaction may be
                // processed by another member, so the transaction must not commit.
                try failTransaction("TxnOffsetCommit: \(failure.name): the consumer group moved on", fatal: false)
            default:
                switch ProducerTransactionState.classify(failure) {
                case .retriable, .findCoordinator:
                    try? await Task.sleep(for: configuration.retryBackoff * attempt)
                case .abortable:
                    try failTransaction("TxnOffsetCommit: \(failure.name)", fatal: false)
                case .fatal:
                    try failTransaction("TxnOffsetCommit: \(failure.name)", fatal: true)
                }
            }
        }
        try failTransaction("TxnOffsetCommit kept failing: \(lastFailure)", fatal: false)
    }

    /// Delivers every record of the transaction, then commits it. Throws
    /// `transactionAborted` when something in it failed (the application must abort).
    public func commitTransaction() async throws(KafkaProducerError) {
        try endTransaction(commit: true)
        await flush()
        let failed = state.withLock { state -> String? in
            if case let .abortableError(reason) = state.transaction.phase { return reason }
            if case let .fatalError(reason) = state.transaction.phase { return reason }
            return nil
        }
        if let failed { throw .transactionAborted(failed) }
        try await sendEndTxn(commit: true)
    }

    /// Aborts the open (or failed) transaction: its records are written but never shown to
    /// read_committed consumers, and its offsets are not committed.
    public func abortTransaction() async throws(KafkaProducerError) {
        try endTransaction(commit: false)
        await flush()
        try await sendEndTxn(commit: false)
        // A sequence gap left by a failed batch: continue under a new epoch (KIP-360).
        if state.withLock({ $0.accumulator.epochBumpNeeded }) {
            let id = try transactionalID
            let timeoutMs = configuration.transactionTimeout.kafkaMilliseconds
            let (producerId, epoch) = state.withLock { ($0.accumulator.producerId, $0.accumulator.producerEpoch) }
            let response: InitProducerIdResponse = try await coordinatorRequest("InitProducerId") { version in
                InitProducerIdRequest(transactionalId: id, transactionTimeoutMs: timeoutMs,
                                      producerId: version >= 3 ? producerId : -1, producerEpoch: version >= 3 ? epoch : -1)
            } errorCode: { $0.errorCode }
            state.withLock { $0.accumulator.setProducerIdentity(id: response.producerId, epoch: response.producerEpoch) }
        }
    }

    private func endTransaction(commit: Bool) throws(KafkaProducerError) {
        _ = try transactionalID
        try state.withLock { (state) throws(KafkaProducerError) in
            if commit { try state.transaction.beginCommit() } else { try state.transaction.beginAbort() }
        }
    }

    private func sendEndTxn(commit: Bool) async throws(KafkaProducerError) {
        let id = try transactionalID
        let (producerId, epoch, anyPartition) = state.withLock {
            ($0.accumulator.producerId, $0.accumulator.producerEpoch, !$0.accumulator.transactionPartitions.isEmpty)
        }
        // A transaction that wrote nothing and committed no offsets is unknown to the coordinator.
        if anyPartition || offsetsAddedInTransaction {
            let _: EndTxnResponse = try await coordinatorRequest("EndTxn", versions: Self.transactionVersionCaps.endTxn) { _ in
                EndTxnRequest(transactionalId: id, producerId: producerId, producerEpoch: epoch, committed: commit)
            } errorCode: { $0.errorCode }
        }
        state.withLock { state in
            state.transaction.completed()
            state.accumulator.transactionEnded()
            state.offsetsAddedInTransaction = false
        }
    }

    private var offsetsAddedInTransaction: Bool { state.withLock { $0.offsetsAddedInTransaction } }

    private func failTransaction(_ reason: String, fatal: Bool) throws(KafkaProducerError) -> Never {
        state.withLock { $0.transaction.fail(reason, fatal: fatal) }
        throw fatal ? .fatal(reason) : .transactionAborted(reason)
    }

    /// Tells the coordinator of partitions about to receive their first batch in this
    /// transaction; on a failure that ends the transaction, their unsent batches fail.
    func addPartitionsToTransaction(_ topicPartitions: [TopicPartition]) async {
        guard let id = configuration.transactionalID else { return }
        let (producerId, epoch) = state.withLock { ($0.accumulator.producerId, $0.accumulator.producerEpoch) }
        let byTopic = Dictionary(grouping: topicPartitions, by: \.topic)
        do {
            let response: AddPartitionsToTxnResponse = try await coordinatorRequest(
                "AddPartitionsToTxn", versions: Self.transactionVersionCaps.addPartitions
            ) { _ in
                AddPartitionsToTxnRequest(
                    v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: epoch,
                    v3AndBelowTopics: byTopic.keys.sorted().map { .init(name: $0, partitions: byTopic[$0]!.map(\.partition).sorted()) })
            } errorCode: { response in
                let codes = response.resultsByTopicV3AndBelow.flatMap { $0.resultsByPartition.map(\.partitionErrorCode) }
                return codes.first { $0 != 0 && $0 != KafkaErrorCode.operationNotAttempted.rawValue } ?? codes.first { $0 != 0 } ?? response.errorCode
            }
            _ = response
            state.withLock { $0.accumulator.addedToTransaction(topicPartitions) }
        } catch {
            let fatal: Bool
            if case .fatal = error { fatal = true } else { fatal = false }
            let failed = state.withLock { state -> [(ProducerBatch, KafkaProducerError)] in
                state.transaction.fail("AddPartitionsToTxn: \(error)", fatal: fatal)
                let failed = state.accumulator.failQueued(of: topicPartitions, error)
                if !failed.isEmpty { state.handlersRunning += 1 }
                return failed
            }
            deliver(failed.map { ($0.0, .failure($0.1)) })
        }
        wakeup.signal()
    }

    /// One request to the transaction coordinator, retried (finding the coordinator again
    /// when it moved) until it succeeds, the error ends the transaction or the producer, or
    /// the request timeout has passed.
    func coordinatorRequest<Request: KafkaClientRequest, Response: KafkaClientResponse>(
        _ api: String, versions: ClosedRange<Int16>? = nil,
        build: @escaping @Sendable (Int16) -> Request, errorCode: (Response) -> Int16
    ) async throws(KafkaProducerError) -> Response {
        let id = try transactionalID
        let deadline = ContinuousClock.now + configuration.requestTimeout
        var attempt = 0
        var lastFailure = "no attempt"
        while ContinuousClock.now < deadline {
            attempt += 1
            if attempt > 1 { try? await Task.sleep(for: min(configuration.retryBackoff * attempt, configuration.retryBackoffMax)) }
            let node: Int32
            if let cached = state.withLock({ $0.transactionCoordinator }) {
                node = cached
            } else {
                do {
                    node = try await KafkaAdmin.findCoordinator(client: client, key: id, keyType: .transaction)
                } catch {
                    lastFailure = "FindCoordinator: \(error)"
                    if error.retryDisposition == .fail { throw .client(error) }
                    continue
                }
                state.withLock { $0.transactionCoordinator = node }
            }
            let response: Response
            do {
                response = try await client.send(to: .node(node), versions: versions) { version in build(version) }
            } catch {
                lastFailure = "\(error)"
                state.withLock { $0.transactionCoordinator = nil }
                if error.retryDisposition == .fail { throw .client(error) }
                continue
            }
            let code = KafkaErrorCode(errorCode(response))
            guard code.isError else { return response }
            lastFailure = code.name
            switch ProducerTransactionState.classify(code) {
            case .retriable:
                continue
            case .findCoordinator:
                state.withLock { $0.transactionCoordinator = nil }
                continue
            case .abortable:
                try failTransaction("\(api): \(code.name)", fatal: false)
            case .fatal:
                let reason = code == KafkaErrorCode(90) || code == .invalidProducerEpoch
                    ? "\(api): \(code.name): another producer with transactional id '\(id)' has fenced this one"
                    : "\(api): \(code.name)"
                try failTransaction(reason, fatal: true)
            }
        }
        throw .transactionAborted("\(api) did not succeed within \(configuration.requestTimeout): \(lastFailure)")
    }
}

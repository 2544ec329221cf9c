import Synchronization
import WireCore

/// A Kafka producer: records are appended to per-partition batches by the calling task and
/// sent by one background sender, one request per leader broker carrying a batch per
/// partition, up to `maxInFlightRequestsPerConnection` requests in flight per broker.
/// With idempotence (the default, as in Java since 3.0) batches carry a producer id, epoch and
/// per-partition sequence numbers, so retries after a lost connection or a leader change
/// neither duplicate nor reorder records. A partition's first batch under a producer id and
/// epoch goes out alone: until the broker has written one, it accepts any sequence as a first
/// write and could not refuse a later batch that overtakes a failed first one.
///
/// `produce` hands a record over and returns (waiting only for metadata or buffer space);
/// its outcome reaches the optional handler. `send` waits for the acknowledgement.
/// `flush` waits for everything produced so far; `close` flushes and stops.
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    public let client: KafkaClient
    private let ownsClient: Bool
    let state: Mutex<State>
    let wakeup = AsyncWakeup()
    private let sender = Mutex<Task<Void, Never>?>(nil)

    struct State: ~Copyable {
        var accumulator: ProducerAccumulator
        var closing = false
        var stopped = false
        /// Tasks waiting for buffer space or a flush.
        var spaceWaiters: [UnsafeContinuation<Void, Never>] = []
        var flushWaiters: [(through: UInt64, continuation: UnsafeContinuation<Void, Never>)] = []
        var metadataRefreshRunning = false
        /// Tasks between taking finished batches out of the accumulator and running their
        /// handlers: a flush is not done while any is.
        var handlersRunning = 0
        var transaction = ProducerTransactionState()
        /// The transaction coordinator's node (transactional producers).
        var transactionCoordinator: Int32?
        /// AddOffsetsToTxn succeeded in the open transaction (it must be ended even if no record was written).
        var offsetsAddedInTransaction = false
    }

    /// Counters since the producer was created.
    public struct Statistics: Sendable, Equatable {
        public var recordsDelivered: Int
        public var recordsFailed: Int
        public var batchesSent: Int
        public var retries: Int
        public var bufferedBytes: Int
        public var producerId: Int64
        public var producerEpoch: Int16
    }

    public init(client: KafkaClient, configuration: KafkaProducerConfiguration = KafkaProducerConfiguration()) throws(KafkaProducerError) {
        try configuration.validate()
        self.client = client
        self.configuration = configuration
        ownsClient = false
        state = Mutex(State(accumulator: ProducerAccumulator(configuration: configuration)))
    }

    /// A producer with its own client for `bootstrapServers` (closed with the producer).
    public init(bootstrapServers: String, clientID: String = "reliability-lab-producer",
                configuration: KafkaProducerConfiguration = KafkaProducerConfiguration()) throws(KafkaProducerError) {
        try configuration.validate()
        do {
            client = try KafkaClient(bootstrapServers: bootstrapServers, clientID: clientID, requestTimeout: configuration.requestTimeout)
        } catch {
            throw .client(error)
        }
        self.configuration = configuration
        ownsClient = true
        state = Mutex(State(accumulator: ProducerAccumulator(configuration: configuration)))
    }

    deinit {
        sender.withLock { $0?.cancel() }
    }

    public var statistics: Statistics {
        state.withLock { state in
            let a = state.accumulator
            return Statistics(
                recordsDelivered: a.recordsDelivered, recordsFailed: a.recordsFailed, batchesSent: a.batchesSent,
                retries: a.retries, bufferedBytes: a.bufferedBytes, producerId: a.producerId, producerEpoch: a.producerEpoch)
        }
    }

    // MARK: Producing

    /// Hands `record` to the producer. Returns once it is in a batch; waits only when the
    /// topic's partitions are not known yet or `bufferMemory` is used up. Throws for what is
    /// wrong at once (record too large, no such partition, producer closed or failed);
    /// delivery failures go to `onDelivery`.
    public func produce(_ record: ProducerRecord, onDelivery: KafkaDeliveryHandler? = nil) async throws(KafkaProducerError) {
        let timestamp = record.timestamp ?? WallClock.millisecondsSinceEpoch()
        while true {
            let result = state.withLock { state -> ProducerAccumulator.AppendResult in
                if state.closing { return .rejected(.closed) }
                if configuration.transactionalID != nil {
                    do throws(KafkaProducerError) {
                        try state.transaction.requireOpen("produce")
                    } catch {
                        return .rejected(error)
                    }
                }
                return state.accumulator.append(record, timestamp: timestamp, handler: onDelivery, now: NanoTime.now())
            }
            switch result {
            case let .appended(wakeSender):
                if wakeSender { startSenderIfNeeded(); wakeup.signal() }
                return
            case let .rejected(error):
                throw error
            case .needsPartitionCount:
                try await learnPartitionCount(of: record.topic)
            case .bufferFull:
                startSenderIfNeeded()
                await waitForSpace()
            }
        }
    }

    /// Produces `record` and waits for its acknowledgement. Runs in the caller's task (no task
    /// per record): the append happens here, and the delivery callback fills a slot this call
    /// then awaits.
    @discardableResult
    public func send(_ record: ProducerRecord) async throws(KafkaProducerError) -> RecordMetadata {
        let slot = DeliverySlot()
        try await produce(record) { slot.deliver($0) }
        return try await slot.report().get()
    }

    /// Waits until every record produced before the call is delivered or has failed.
    public func flush() async {
        let (through, done) = state.withLock { state -> (UInt64, Bool) in
            let through = state.accumulator.beginFlush()
            return (through, state.accumulator.isFlushed(through: through))
        }
        if done { return }
        startSenderIfNeeded()
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if state.accumulator.isFlushed(through: through) { return true }
                state.flushWaiters.append((through, continuation))
                return false
            }
            if finished { continuation.resume() }
            wakeup.signal()
        }
    }

    /// Stops taking records, delivers what was produced (or lets it fail by its delivery
    /// timeout), stops the sender, and closes the client when the producer made it.
    public func close() async {
        state.withLock { $0.closing = true }
        await flush()
        let task = sender.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        state.withLock { $0.stopped = true }
        wakeup.signal()
        await task?.value
        if ownsClient { await client.close() }
    }

    private func learnPartitionCount(of topic: String) async throws(KafkaProducerError) {
        let count: Int
        do {
            count = try await client.withRetries(refreshing: [topic]) { [client] in
                try await client.partitions(of: topic).count
            }
        } catch {
            throw .client(error)
        }
        state.withLock { $0.accumulator.setPartitionCount(count, for: topic) }
    }

    private func waitForSpace() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let free = state.withLock { state -> Bool in
                if state.accumulator.bufferedBytes == 0 || state.stopped { return true }
                state.spaceWaiters.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    // MARK: Sender

    /// The sender runs in a task that prefers the event loop its wake-ups fire on, not on the
    /// cooperative pool: an application whose own work keeps that pool busy would otherwise
    /// hold back every batch past its linger, up to `deliveryTimeout` (the Java producer
    /// sends from an I/O thread of its own for the same reason).
    func startSenderIfNeeded() {
        sender.withLock { task in
            guard task == nil else { return }
            task = Task(executorPreference: wakeup.eventLoop) { [weak self] in await self?.runSender() }
        }
    }

    private func runSender() async {
        while true {
            let (stopped, needsId, bump) = state.withLock { state in
                (state.stopped && state.accumulator.isEmpty, state.accumulator.needsProducerId,
                 state.accumulator.epochBumpNeeded && state.accumulator.totalInFlightRequests == 0)
            }
            if stopped || Task.isCancelled { return }
            // A transactional producer gets its id from initTransactions, and a new epoch only
            // when a transaction is aborted.
            if configuration.transactionalID == nil, needsId || bump { await initProducerId(bumping: bump) }

            let metadata = await client.metadata
            let now = NanoTime.now()
            let plan = state.withLock { state in
                let plan = state.accumulator.drain(now: now) { topicPartition in
                    guard let partition = metadata.topics[topicPartition.topic]?.partitions[topicPartition.partition],
                          partition.leaderID >= 0, metadata.brokers[partition.leaderID] != nil else { return nil }
                    return partition.leaderID
                }
                if !plan.failed.isEmpty { state.handlersRunning += 1 }
                return plan
            }
            if !plan.failed.isEmpty {
                deliver(plan.failed.map { ($0.0, .failure($0.1)) })
            }
            if !plan.partitionsWithoutLeader.isEmpty {
                refreshMetadata(topics: Array(Set(plan.partitionsWithoutLeader.map(\.topic))))
            }
            if !plan.partitionsToAddToTransaction.isEmpty {
                await addPartitionsToTransaction(plan.partitionsToAddToTransaction)
            }
            // In drain order, each on the wire before the next: a partition's batches must
            // reach the broker in sequence order.
            for request in plan.requests {
                await dispatch(request.batches, to: request.node)
            }
            if state.withLock({ $0.stopped && $0.accumulator.isEmpty }) { return }
            await wakeup.wait(until: plan.nextWakeup)
        }
    }

    private func refreshMetadata(topics: [String]) {
        let start = state.withLock { state -> Bool in
            if state.metadataRefreshRunning { return false }
            state.metadataRefreshRunning = true
            return true
        }
        guard start else { return }
        Task {
            _ = try? await client.refreshMetadata(topics: topics)
            state.withLock { $0.metadataRefreshRunning = false }
            wakeup.signal()
        }
    }

    /// InitProducerId: a new id, or (bumping, Kafka 2.5+ / v3+) the next epoch of the current one.
    private func initProducerId(bumping: Bool) async {
        let (currentId, currentEpoch) = state.withLock { ($0.accumulator.producerId, $0.accumulator.producerEpoch) }
        let transactionalID = configuration.transactionalID
        let timeoutMs = configuration.transactionTimeout.kafkaMilliseconds
        do {
            let response: InitProducerIdResponse = try await client.withRetries { [client] in
                let target: KafkaClient.Target = .anyBroker
                let response: InitProducerIdResponse = try await client.send(to: target) { version in
                    InitProducerIdRequest(
                        transactionalId: transactionalID, transactionTimeoutMs: timeoutMs,
                        producerId: bumping && version >= 3 ? currentId : -1,
                        producerEpoch: bumping && version >= 3 ? currentEpoch : -1)
                }
                let code = KafkaErrorCode(response.errorCode)
                if code.isError { throw KafkaClientError.broker(code, api: .initProducerId, broker: nil, topic: nil, partition: nil, message: nil) }
                return response
            }
            state.withLock { $0.accumulator.setProducerIdentity(id: response.producerId, epoch: response.producerEpoch) }
        } catch {
            if error.retryDisposition == .fail {
                state.withLock { $0.accumulator.failFatally(.fatal("InitProducerId failed: \(error)")) }
            } else {
                // Try again at the next drain, after a pause.
                try? await Task.sleep(for: configuration.retryBackoff)
            }
        }
        wakeup.signal()
    }

    /// Hands the outcome of each batch of a finished request to the accumulator, then runs
    /// the delivery handlers and wakes whoever waits for space or a flush.
    private func complete(_ batches: [ProducerBatch], _ outcomes: [ProducerAccumulator.Outcome], node: Int32) {
        let now = NanoTime.now()
        var refresh = false
        var delivered: [(ProducerBatch, Result<(offset: Int64, logAppendTime: Int64), KafkaProducerError>)] = []
        state.withLock { state in
            state.accumulator.requestFinished(node: node)
            for (batch, outcome) in zip(batches, outcomes) {
                let completion = state.accumulator.complete(batch, outcome, now: now)
                refresh = refresh || completion.refreshMetadata
                delivered += completion.delivered
            }
            if !delivered.isEmpty { state.handlersRunning += 1 }
            if configuration.transactionalID != nil {
                for case let (_, .failure(error)) in delivered {
                    if case .fatal = error { state.transaction.fail("\(error)", fatal: true) } else { state.transaction.fail("\(error)", fatal: false) }
                }
            }
        }
        if refresh {
            refreshMetadata(topics: Array(Set(batches.map(\.topicPartition.topic))))
        }
        deliver(delivered)
        wakeup.signal()
    }

    private func takeWaiters(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
        var resume: [UnsafeContinuation<Void, Never>] = []
        if !state.spaceWaiters.isEmpty, state.accumulator.bufferedBytes < configuration.bufferMemory {
            resume += state.spaceWaiters
            state.spaceWaiters = []
        }
        if !state.flushWaiters.isEmpty, state.handlersRunning == 0 {
            var waiting: [(through: UInt64, continuation: UnsafeContinuation<Void, Never>)] = []
            for waiter in state.flushWaiters {
                if state.accumulator.isFlushed(through: waiter.through) { resume.append(waiter.continuation) } else { waiting.append(waiter) }
            }
            state.flushWaiters = waiting
        }
        return resume
    }

    /// Runs the handlers of finished batches (the caller counted itself in `handlersRunning`
    /// when `results` is not empty), then wakes waiters whose records are all done.
    func deliver(_ results: [(ProducerBatch, Result<(offset: Int64, logAppendTime: Int64), KafkaProducerError>)]) {
        guard !results.isEmpty else { return }
        for (batch, result) in results {
            for delivery in batch.deliveries {
                switch result {
                case let .success((offset, logAppendTime)):
                    delivery.handler(.success(RecordMetadata(
                        topicPartition: batch.topicPartition, offset: offset < 0 ? -1 : offset + Int64(delivery.index),
                        timestamp: logAppendTime >= 0 ? logAppendTime : delivery.timestamp)))
                case let .failure(error):
                    delivery.handler(.failure(error))
                }
            }
        }
        let resume = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            state.handlersRunning -= 1
            return takeWaiters(&state)
        }
        for continuation in resume { continuation.resume() }
    }

    /// Puts one Produce request for `batches` on the wire to `node`; the outcomes arrive in
    /// `complete`. Returns once the request is written (or has failed).
    private func dispatch(_ batches: [ProducerBatch], to node: Int32) async {
        let session: KafkaClient.Session
        do {
            session = try await client.session(for: .node(node))
        } catch {
            return complete(batches, batches.map { _ in .transportFailure("\(error)") }, node: node)
        }
        // v13 names topics by id only; v3…12 carry names, which is all this producer needs.
        // Transactional producers stay below v12, whose transactions (KIP-890 part 2) add
        // partitions implicitly: this one adds them with AddPartitionsToTxn.
        let versions: ClosedRange<Int16> = configuration.transactionalID == nil ? 3...12 : 3...11
        guard let version = KafkaVersionChoice.version(for: .produce, in: session.versions, within: versions) else {
            let error = KafkaProducerError.fatal("broker \(session.address) speaks no Produce version between 3 and 12")
            return complete(batches, batches.map { _ in .fatal(error) }, node: node)
        }
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        var order: [String] = []
        var sent: [ProducerBatch] = []
        var unsendable: [ProducerBatch] = []
        var unsendableOutcomes: [ProducerAccumulator.Outcome] = []
        var recordBytes = 0
        for batch in batches {
            let bytes: [UInt8]
            do {
                bytes = try batch.wireBytes(compression: configuration.compression, settings: configuration.compressionSettings)
            } catch {
                unsendable.append(batch)
                unsendableOutcomes.append(.fatal(.encoding("\(error)")))
                continue
            }
            let topic = batch.topicPartition.topic
            if topics[topic] == nil { order.append(topic) }
            topics[topic, default: []].append(ProduceRequest.PartitionProduceData(index: batch.topicPartition.partition, records: bytes))
            recordBytes += bytes.count
            sent.append(batch)
        }
        if !unsendable.isEmpty {
            // Counted as its own finished request; the rest goes out below.
            state.withLock { $0.accumulator.requestStarted(node: node) }
            complete(unsendable, unsendableOutcomes, node: node)
        }
        guard !sent.isEmpty else { return complete([], [], node: node) }
        let request = ProduceRequest(
            transactionalId: configuration.transactionalID, acks: configuration.acks.rawValue,
            timeoutMs: configuration.requestTimeout.kafkaMilliseconds,
            topicData: order.map { ProduceRequest.TopicProduceData(name: $0, partitionData: topics[$0]!) })
        let expectsResponse = configuration.acks != .none
        let address = session.address
        let inRequest = sent
        do {
            try session.connection.enqueue(
                apiKey: ApiKey.produce.rawValue, apiVersion: version, apiName: "Produce",
                flexible: ApiKey.produce.isFlexible(version), expectsResponse: expectsResponse,
                timeout: configuration.requestTimeout,
                body: { writer in
                    // One allocation of about the frame's size instead of doubling up to it
                    // (each step copying the batches written so far into fresh pages).
                    writer.reserveCapacity(writer.count + recordBytes + 64 + order.reduce(0) { $0 + $1.utf8.count + 16 }
                        + sent.count * 16 + (configuration.transactionalID?.utf8.count ?? 0))
                    try request.encode(into: &writer, version: version)
                },
                onResponse: { [self] result in
                    complete(inRequest, Self.outcomes(of: inRequest, result, version: version, expectsResponse: expectsResponse, broker: address), node: node)
                })
        } catch {
            complete(sent, sent.map { _ in .fatal(.encoding("\(error)")) }, node: node)
        }
    }

    private static func outcomes(
        of batches: [ProducerBatch], _ result: Result<[UInt8], KafkaConnectionError>, version: Int16, expectsResponse: Bool,
        broker: String
    ) -> [ProducerAccumulator.Outcome] {
        let body: [UInt8]
        switch result {
        case let .failure(error):
            return batches.map { _ in .transportFailure("Produce to \(broker): \(error)") }
        case let .success(bytes):
            body = bytes
        }
        if !expectsResponse { return batches.map { _ in .written } }
        let response: ProduceResponse
        do {
            response = try ProduceResponse.decodeIgnoringTrailingBytes(body, version: version)
        } catch {
            let reason = "undecodable Produce v\(version) response from \(broker): \(error)"
            return batches.map { _ in .transportFailure(reason) }
        }
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            for partition in topic.partitionResponses { answers[TopicPartition(topic.name, partition.index)] = partition }
        }
        return batches.map { batch in
            guard let answer = answers[batch.topicPartition] else {
                return .transportFailure("Produce response from \(broker) does not mention \(batch.topicPartition)")
            }
            let code = KafkaErrorCode(answer.errorCode)
            if code.isError {
                let detail = answer.errorMessage ?? answer.recordErrors.compactMap(\.batchIndexErrorMessage).first
                return .brokerError(code, message: detail)
            }
            return .acknowledged(baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs)
        }
    }
}

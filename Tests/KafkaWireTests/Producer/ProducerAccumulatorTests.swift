@testable import KafkaWire
import Testing
import WireCore

/// The producer's state machine driven by hand: explicit times, leaders from a dictionary,
/// outcomes chosen by the test. No sockets.
@Suite("ProducerAccumulator")
struct ProducerAccumulatorTests {
    static let topic = "t"
    static let t0 = NanoTime(nanoseconds: 1_000_000_000_000)

    static func tp(_ partition: Int32) -> TopicPartition { TopicPartition(topic, partition) }

    /// An accumulator, a clock and a leader map, with the driver's bookkeeping (a finished
    /// request is counted off its node before its batches are completed).
    struct Harness {
        var accumulator: ProducerAccumulator
        var now = ProducerAccumulatorTests.t0
        var leaders: [TopicPartition: Int32]

        init(_ configuration: KafkaProducerConfiguration, partitions: Int = 3, leaders: [Int32: Int32]? = nil,
             producerId: Int64? = 1000) {
            accumulator = ProducerAccumulator(configuration: configuration)
            accumulator.setPartitionCount(partitions, for: ProducerAccumulatorTests.topic)
            var map: [TopicPartition: Int32] = [:]
            for partition in 0..<Int32(partitions) { map[ProducerAccumulatorTests.tp(partition)] = leaders?[partition] ?? 1 }
            self.leaders = map
            if let producerId, accumulator.usesSequences { accumulator.setProducerIdentity(id: producerId, epoch: 0) }
        }

        @discardableResult
        mutating func append(partition: Int32? = 0, key: String? = nil, valueSize: Int = 20,
                             handler: KafkaDeliveryHandler? = nil) -> ProducerAccumulator.AppendResult {
            let record = ProducerRecord(
                topic: ProducerAccumulatorTests.topic, partition: partition, key: key.map { Array($0.utf8) },
                value: [UInt8](repeating: 0x61, count: valueSize))
            return accumulator.append(record, timestamp: 1_700_000_000_000, handler: handler, now: now)
        }

        mutating func drain() -> ProducerAccumulator.DrainResult {
            let leaders = self.leaders
            return accumulator.drain(now: now) { leaders[$0] }
        }

        /// The request finished; each batch with its outcome. Returns the completions merged.
        @discardableResult
        mutating func finish(node: Int32, _ outcomes: [(ProducerBatch, ProducerAccumulator.Outcome)]) -> ProducerAccumulator.Completion {
            accumulator.requestFinished(node: node)
            var merged = ProducerAccumulator.Completion()
            for (batch, outcome) in outcomes {
                let completion = accumulator.complete(batch, outcome, now: now)
                merged.delivered += completion.delivered
                merged.refreshMetadata = merged.refreshMetadata || completion.refreshMetadata
            }
            return merged
        }

        mutating func acknowledge(node: Int32 = 1, _ batches: [ProducerBatch]) {
            finish(node: node, batches.map { ($0, .acknowledged(baseOffset: 0, logAppendTime: -1)) })
        }

        func queue(_ partition: Int32) -> ProducerAccumulator.PartitionQueue {
            accumulator.partitions[ProducerAccumulatorTests.tp(partition)] ?? ProducerAccumulator.PartitionQueue()
        }

        mutating func advance(_ duration: Duration) { now = now + duration }
    }

    static func config(
        idempotent: Bool = true, linger: Duration = .milliseconds(5), batchSize: Int = 16_384, maxRequestSize: Int = 1_048_576,
        bufferMemory: Int = 32 * 1_048_576, maxInFlight: Int = 5, deliveryTimeout: Duration = .seconds(120),
        retryBackoff: Duration = .milliseconds(100), acks: KafkaAcks = .all
    ) -> KafkaProducerConfiguration {
        KafkaProducerConfiguration(
            acks: acks, idempotent: idempotent, linger: linger, batchSize: batchSize, maxRequestSize: maxRequestSize,
            bufferMemory: bufferMemory, maxInFlightRequestsPerConnection: maxInFlight, deliveryTimeout: deliveryTimeout,
            retryBackoff: retryBackoff, retryBackoffMax: .seconds(1))
    }

    /// Puts `count` full batches of `perBatch` records each in partition `partition`'s queue
    /// (batch.size chosen so that exactly `perBatch` 20-byte records fit).
    static func batchSize(forRecordsPerBatch perBatch: Int) -> Int {
        var builder = RecordBatchBuilder()
        for _ in 0..<perBatch {
            builder.append(key: nil, value: [UInt8](repeating: 0x61, count: 20), timestamp: 1_700_000_000_000)
        }
        return builder.uncompressedSize
    }

    // MARK: Batching

    @Test("records fill a batch up to batch.size, then a new batch starts")
    func batchFillsUpToBatchSize() {
        let size = Self.batchSize(forRecordsPerBatch: 4)
        var h = Harness(Self.config(batchSize: size))
        var wakes = 0
        for _ in 0..<10 {
            guard case let .appended(wake) = h.append() else { Issue.record("not appended"); return }
            if wake { wakes += 1 }
        }
        let queue = h.queue(0)
        #expect(queue.queued.map(\.recordCount) == [4, 4])
        #expect(queue.queued.allSatisfy { $0.uncompressedSize <= size })
        #expect(queue.queued.allSatisfy { $0.uncompressedSize == size })
        #expect(queue.open?.recordCount == 2)
        // A batch one byte smaller takes only three such records.
        var smaller = Harness(Self.config(batchSize: size - 1))
        for _ in 0..<4 { smaller.append() }
        #expect(smaller.queue(0).queued.map(\.recordCount) == [3])
        #expect(smaller.queue(0).open?.recordCount == 1)
        #expect(smaller.queue(0).queued.allSatisfy { $0.uncompressedSize <= size - 1 })
        // Opening or closing a batch wakes the sender: records 1, 4 (closed), 5, 8 (closed), 9.
        #expect(wakes == 5)
        // Full batches go at once, without waiting for linger.
        let drained = h.drain()
        #expect(drained.requests.count == 1)
        #expect(drained.requests.first?.batches.first?.recordCount == 4)
    }

    @Test("a batch not full is sent only after linger")
    func lingerHoldsPartialBatch() {
        var h = Harness(Self.config(linger: .milliseconds(10)))
        h.append()
        let created = h.now
        h.advance(.milliseconds(4))
        h.append()
        let early = h.drain()
        #expect(early.requests.isEmpty)
        #expect(early.nextWakeup == created + .milliseconds(10))
        #expect(h.queue(0).open?.recordCount == 2)
        h.now = created + .milliseconds(10)
        let due = h.drain()
        #expect(due.requests.count == 1)
        #expect(due.requests.first?.node == 1)
        #expect(due.requests.first?.batches.map(\.recordCount) == [2])
        #expect(h.queue(0).open == nil && h.queue(0).queued.isEmpty)
    }

    @Test("a flush makes open batches sendable at once; later batches still linger")
    func flushClosesOpenBatches() {
        var h = Harness(Self.config(linger: .seconds(1)))
        h.append(partition: 0)
        h.append(partition: 1)
        let through = h.accumulator.beginFlush()
        #expect(!h.accumulator.isFlushed(through: through))
        h.append(partition: 2)  // After the flush began: not part of it.
        let drained = h.drain()
        #expect(drained.requests.count == 1)
        let sent = drained.requests.flatMap(\.batches)
        #expect(Set(sent.map(\.topicPartition.partition)) == [0, 1])
        #expect(h.queue(2).open != nil)
        #expect(drained.nextWakeup == Self.t0 + .seconds(1))
        h.acknowledge(sent)
        #expect(h.accumulator.isFlushed(through: through))
        #expect(!h.accumulator.isFlushed(through: through + 1))
    }

    @Test("one batch per partition per request, at most maxInFlightRequestsPerConnection requests per node")
    func inFlightLimits() {
        let size = Self.batchSize(forRecordsPerBatch: 2)
        // Without sequences: an idempotent producer also holds a partition to one batch until
        // its first acknowledgement (tested on its own below).
        var h = Harness(Self.config(idempotent: false, batchSize: size, maxInFlight: 2, acks: .leader), leaders: [0: 1, 1: 1, 2: 2])
        for _ in 0..<6 { h.append(partition: 0) }  // three full batches
        for _ in 0..<2 { h.append(partition: 1) }  // one
        for _ in 0..<4 { h.append(partition: 2) }  // two, on node 2
        let first = h.drain()
        #expect(first.requests.map(\.node) == [1, 2])
        #expect(first.requests[0].batches.map(\.topicPartition.partition).sorted() == [0, 1])
        #expect(first.requests[1].batches.map(\.topicPartition.partition) == [2])
        #expect(first.nextWakeup == h.now)  // more is ready
        let second = h.drain()
        #expect(second.requests.map(\.node) == [1, 2])
        #expect(second.requests[0].batches.map(\.topicPartition) == [Self.tp(0)])
        // Node 1 has two requests in flight: partition 0's third batch waits.
        let third = h.drain()
        #expect(third.requests.isEmpty)
        #expect(h.accumulator.inFlightRequests[1] == 2)
        #expect(h.queue(0).queued.count == 1)
        h.acknowledge(node: 1, first.requests[0].batches)
        let fourth = h.drain()
        #expect(fourth.requests.count == 1)
        #expect(fourth.requests.first?.node == 1)
        #expect(fourth.requests.first?.batches.map(\.topicPartition) == [Self.tp(0)])
    }

    @Test("a request stays under max.request.size but always holds one batch")
    func requestSizeLimit() {
        let size = Self.batchSize(forRecordsPerBatch: 3)
        var h = Harness(Self.config(batchSize: size, maxRequestSize: size + 10))
        for partition in Int32(0)..<3 { for _ in 0..<3 { h.append(partition: partition) } }
        let first = h.drain()
        #expect(first.requests.count == 1)
        #expect(first.requests.first?.batches.count == 1)
        #expect(h.drain().requests.first?.batches.count == 1)
        #expect(h.drain().requests.first?.batches.count == 1)
    }

    // MARK: Sequences

    @Test("idempotent sequences are consecutive per partition and survive the partition going empty")
    func sequencesAreConsecutive() {
        let size = Self.batchSize(forRecordsPerBatch: 3)
        var h = Harness(Self.config(batchSize: size))
        for _ in 0..<3 { h.append(partition: 0) }
        for _ in 0..<2 { h.append(partition: 0) }
        _ = h.accumulator.beginFlush()
        let first = h.drain().requests.flatMap(\.batches)
        h.acknowledge(first)
        let second = h.drain().requests.flatMap(\.batches)
        #expect(first.map(\.baseSequence) == [0])
        #expect(second.map(\.baseSequence) == [3])
        #expect(first.first?.producerId == 1000 && first.first?.producerEpoch == 0)
        #expect(second.first?.lastSequence == 4)
        h.acknowledge(second)
        #expect(h.accumulator.isEmpty)
        // Regression: a partition that went empty restarted at 0, which the broker refuses.
        h.advance(.seconds(1))
        for _ in 0..<4 { h.append(partition: 0) }
        h.advance(.milliseconds(5))
        let third = h.drain().requests.flatMap(\.batches)
        let fourth = h.drain().requests.flatMap(\.batches)
        #expect(third.map(\.baseSequence) == [5])
        #expect(fourth.map(\.baseSequence) == [8])
        // Another partition counts on its own.
        h.append(partition: 1)
        h.advance(.milliseconds(5))
        #expect(h.drain().requests.flatMap(\.batches).map(\.baseSequence) == [0])
    }

    @Test("an idempotent producer sends nothing before it has a producer id")
    func noSendWithoutProducerId() {
        var h = Harness(Self.config(), producerId: nil)
        #expect(h.accumulator.needsProducerId)
        h.append()
        h.advance(.milliseconds(5))
        #expect(h.drain().requests.isEmpty)
        #expect(h.queue(0).queued.first?.baseSequence == -1)
        h.accumulator.setProducerIdentity(id: 7, epoch: 0)
        let batches = h.drain().requests.flatMap(\.batches)
        #expect(batches.map(\.baseSequence) == [0])
        #expect(batches.first?.producerId == 7)
    }

    @Test("a non-idempotent producer sends no sequences")
    func noSequencesWithoutIdempotence() {
        var h = Harness(Self.config(idempotent: false, acks: .leader))
        h.append()
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches).first
        #expect(batch?.baseSequence == -1 && batch?.producerId == -1)
    }

    // MARK: Retries

    @Test("retriable error: back ahead of unsent batches, partition held until in-flight ones return, same sequence",
          arguments: [ProducerAccumulator.Outcome.brokerError(.notLeaderOrFollower, message: nil),
                      .brokerError(.requestTimedOut, message: nil), .transportFailure("connection reset")])
    func retriableErrorResendsInOrder(failure: ProducerAccumulator.Outcome) {
        let size = Self.batchSize(forRecordsPerBatch: 2)
        var h = Harness(Self.config(batchSize: size, retryBackoff: .milliseconds(100)))
        for _ in 0..<8 { h.append(partition: 0) }  // W, A, B, C
        // W goes out alone; once acknowledged, the broker checks sequences and A and B may
        // be in flight together.
        let w = h.drain().requests.flatMap(\.batches)
        #expect(w.map(\.baseSequence) == [0])
        #expect(h.drain().requests.isEmpty)
        h.acknowledge(w)
        let a = h.drain().requests.flatMap(\.batches)
        let b = h.drain().requests.flatMap(\.batches)
        #expect(a.map(\.baseSequence) == [2])
        #expect(b.map(\.baseSequence) == [4])
        let c = h.queue(0).queued.first!
        #expect(c.baseSequence == -1)

        let completion = h.finish(node: 1, [(a[0], failure)])
        #expect(completion.delivered.isEmpty)
        if case .brokerError(.requestTimedOut, _) = failure {
            #expect(!completion.refreshMetadata)
        } else {
            #expect(completion.refreshMetadata)
        }
        #expect(h.queue(0).queued.map(\.id) == [a[0].id, c.id])
        #expect(h.queue(0).resending)
        // B is still in flight: nothing goes out for the partition, even after the backoff.
        h.advance(.milliseconds(200))
        #expect(h.drain().requests.isEmpty)
        // B comes back out of order (A is missing): retried without a new epoch.
        h.finish(node: 1, [(b[0], .brokerError(.outOfOrderSequenceNumber, message: nil))])
        #expect(!h.accumulator.epochBumpNeeded)
        #expect(h.queue(0).queued.map(\.id) == [a[0].id, b[0].id, c.id])
        // B's backoff has not passed yet, A's has: A first, with its old sequence.
        let resentA = h.drain().requests.flatMap(\.batches)
        #expect(resentA.map(\.id) == [a[0].id])
        #expect(resentA.first?.baseSequence == 2)
        #expect(resentA.first?.attempts == 2)
        h.advance(.milliseconds(200))
        let resentB = h.drain().requests.flatMap(\.batches)
        #expect(resentB.map(\.id) == [b[0].id])
        #expect(resentB.first?.baseSequence == 4)
        let thenC = h.drain().requests.flatMap(\.batches)
        #expect(thenC.map(\.id) == [c.id])
        #expect(thenC.first?.baseSequence == 6)
        #expect(h.accumulator.retries == 2)
        h.acknowledge(resentA + resentB + thenC)
        #expect(h.accumulator.recordsDelivered == 8)
        #expect(h.accumulator.bufferedBytes == 0)
        #expect(h.accumulator.isEmpty)
    }

    @Test("a partition sends one batch until the broker acknowledges one: a failed first batch cannot be overtaken")
    func firstBatchGoesAlone() {
        // The broker holds no state for a producer on a partition it has not written to yet
        // and takes any first sequence (KIP-360). Real Kafka, fresh topic: the first batch
        // came back UNKNOWN_TOPIC_OR_PARTITION while the four behind it were written, and the
        // re-sent first batch (new epoch) landed after them: acknowledged, out of order.
        let size = Self.batchSize(forRecordsPerBatch: 2)
        var h = Harness(Self.config(batchSize: size, maxInFlight: 5, retryBackoff: .milliseconds(100)))
        for _ in 0..<8 { h.append(partition: 0) }  // A, B, C, D
        let a = h.drain().requests.flatMap(\.batches)
        #expect(a.map(\.baseSequence) == [0])
        #expect(h.drain().requests.isEmpty, "nothing overtakes the first batch while it is in flight")
        h.finish(node: 1, [(a[0], .brokerError(.unknownTopicOrPartition, message: nil))])
        #expect(!h.accumulator.epochBumpNeeded)
        h.advance(.milliseconds(100))
        let resent = h.drain().requests.flatMap(\.batches)
        #expect(resent.map(\.id) == [a[0].id])
        #expect(resent.first?.baseSequence == 0)
        #expect(h.drain().requests.isEmpty)
        h.acknowledge(resent)
        #expect(h.queue(0).acknowledgedThrough == 1)
        // Now the broker checks each batch against the last: B, C and D go out together.
        let b = h.drain().requests.flatMap(\.batches)
        let c = h.drain().requests.flatMap(\.batches)
        let d = h.drain().requests.flatMap(\.batches)
        #expect((b + c + d).map(\.baseSequence) == [2, 4, 6])
        #expect(h.queue(0).inFlight.count == 3)
        // Other partitions are not held by this one.
        h.append(partition: 1)
        h.advance(.milliseconds(5))
        #expect(h.drain().requests.flatMap(\.batches).map(\.topicPartition) == [Self.tp(1)])
    }

    @Test("OUT_OF_ORDER_SEQUENCE_NUMBER below an acknowledged sequence fails the batch instead of writing it after later records")
    func outOfOrderBehindWrittenRecordsFails() {
        let size = Self.batchSize(forRecordsPerBatch: 2)
        var h = Harness(Self.config(batchSize: size))
        for _ in 0..<6 { h.append(partition: 0, handler: { _ in }) }  // A, B, C
        let a = h.drain().requests.flatMap(\.batches)
        h.acknowledge(a)
        let b = h.drain().requests.flatMap(\.batches)
        let c = h.drain().requests.flatMap(\.batches)
        // C is written (the broker had lost the producer's state and took it as a first
        // write), then B, sent before it, is refused as out of order.
        h.acknowledge(c)
        #expect(h.queue(0).acknowledgedThrough == 5)
        let completion = h.finish(node: 1, [(b[0], .brokerError(.outOfOrderSequenceNumber, message: nil))])
        #expect(completion.delivered.count == 1 && completion.delivered.first?.0 === b[0])
        guard case let .failure(error)? = completion.delivered.first?.1 else { Issue.record("B was not failed"); return }
        #expect(error.errorCode == .outOfOrderSequenceNumber)
        #expect("\(error)".contains("reorder"))
        #expect(h.queue(0).queued.isEmpty && h.queue(0).inFlight.isEmpty)
        #expect(h.accumulator.recordsFailed == 2)
        #expect(h.accumulator.recordsDelivered == 4)
    }

    @Test("a retried batch waits for its backoff, which the drain reports as the next wakeup")
    func retryBackoff() {
        var h = Harness(Self.config(retryBackoff: .milliseconds(100)))
        h.append()
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches)[0]
        h.finish(node: 1, [(batch, .transportFailure("lost"))])
        let early = h.drain()
        #expect(early.requests.isEmpty)
        #expect(early.nextWakeup == h.now + .milliseconds(100))
        h.advance(.milliseconds(100))
        #expect(h.drain().requests.flatMap(\.batches).map(\.id) == [batch.id])
        // The second failure backs off twice as long.
        h.finish(node: 1, [(batch, .transportFailure("lost"))])
        #expect(h.drain().nextWakeup == h.now + .milliseconds(200))
    }

    @Test("OUT_OF_ORDER_SEQUENCE_NUMBER with no earlier failure asks for a new epoch, then renumbers from 0")
    func outOfOrderWithoutEarlierFailureBumpsEpoch() {
        let size = Self.batchSize(forRecordsPerBatch: 2)
        var h = Harness(Self.config(batchSize: size))
        for _ in 0..<2 { h.append(partition: 0) }
        let first = h.drain().requests.flatMap(\.batches)
        h.acknowledge(first)
        for _ in 0..<4 { h.append(partition: 0) }
        let second = h.drain().requests.flatMap(\.batches)
        #expect(second.map(\.baseSequence) == [2])
        h.finish(node: 1, [(second[0], .brokerError(.outOfOrderSequenceNumber, message: nil))])
        #expect(h.accumulator.epochBumpNeeded)
        h.advance(.seconds(1))
        #expect(h.drain().requests.isEmpty)
        h.accumulator.setProducerIdentity(id: 1000, epoch: 1)
        #expect(!h.accumulator.epochBumpNeeded)
        let resent = h.drain().requests.flatMap(\.batches)
        #expect(resent.map(\.id) == [second[0].id])
        #expect(resent.first?.baseSequence == 0)
        #expect(resent.first?.producerEpoch == 1)
        // A new epoch is a new start for the broker too: one batch until it is acknowledged.
        #expect(h.drain().requests.isEmpty)
        h.acknowledge(resent)
        let next = h.drain().requests.flatMap(\.batches)
        #expect(next.map(\.baseSequence) == [2])
    }

    @Test("UNKNOWN_PRODUCER_ID asks for a new epoch; the new identity renumbers every partition from 0")
    func unknownProducerIdBumpsEpoch() {
        let size = Self.batchSize(forRecordsPerBatch: 2)
        var h = Harness(Self.config(batchSize: size))
        for _ in 0..<2 { h.append(partition: 1) }
        h.acknowledge(h.drain().requests.flatMap(\.batches))
        for _ in 0..<6 { h.append(partition: 0) }
        h.acknowledge(h.drain().requests.flatMap(\.batches))  // sequences 0 and 1
        let a = h.drain().requests.flatMap(\.batches)
        let b = h.drain().requests.flatMap(\.batches)
        #expect(a.map(\.baseSequence) == [2] && b.map(\.baseSequence) == [4])
        h.finish(node: 1, [(a[0], .brokerError(.unknownProducerId, message: nil))])
        #expect(h.accumulator.epochBumpNeeded)
        h.finish(node: 1, [(b[0], .brokerError(.outOfOrderSequenceNumber, message: nil))])
        h.advance(.seconds(1))
        #expect(h.drain().requests.isEmpty)
        h.accumulator.setProducerIdentity(id: 1000, epoch: 1)
        for _ in 0..<2 { h.append(partition: 1) }
        let resentA = h.drain().requests.flatMap(\.batches).filter { $0.topicPartition == Self.tp(0) }
        #expect(resentA.map(\.id) == [a[0].id])
        #expect(resentA.map(\.baseSequence) == [0])
        #expect(h.drain().requests.flatMap(\.batches).filter { $0.topicPartition == Self.tp(0) }.isEmpty)
        h.acknowledge(resentA)
        let resentB = h.drain().requests.flatMap(\.batches).filter { $0.topicPartition == Self.tp(0) }
        #expect(resentB.map(\.id) == [b[0].id])
        #expect(resentB.map(\.baseSequence) == [2])
        #expect(resentB.allSatisfy { $0.producerEpoch == 1 })
        // Partition 1 (sequences 0 and 1 under epoch 0) starts again at 0 too.
        let p1 = h.queue(1).queued.first ?? h.queue(1).inFlight.first
        #expect(p1?.baseSequence == 0)
    }

    @Test("DUPLICATE_SEQUENCE_NUMBER counts as delivered")
    func duplicateSequenceIsDelivered() {
        var h = Harness(Self.config())
        h.append(handler: { _ in })
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches)[0]
        let completion = h.finish(node: 1, [(batch, .brokerError(.duplicateSequenceNumber, message: nil))])
        #expect(completion.delivered.count == 1)
        if case let .success((offset, _))? = completion.delivered.first?.1 { #expect(offset == -1) } else { Issue.record("not delivered") }
        #expect(h.accumulator.recordsDelivered == 1)
        #expect(!h.accumulator.epochBumpNeeded)
        #expect(h.accumulator.isEmpty)
    }

    @Test("a non-retriable error fails the batch's records (and, with sequences, asks for a new epoch)",
          arguments: [true, false])
    func nonRetriableErrorFails(idempotent: Bool) {
        var h = Harness(Self.config(idempotent: idempotent, acks: idempotent ? .all : .leader))
        for _ in 0..<3 { h.append() }
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches)[0]
        let completion = h.finish(node: 1, [(batch, .brokerError(.topicAuthorizationFailed, message: "denied"))])
        #expect(completion.delivered.count == 1)
        guard case let .failure(error)? = completion.delivered.first?.1 else { Issue.record("not failed"); return }
        #expect(error.errorCode == .topicAuthorizationFailed)
        #expect(h.accumulator.recordsFailed == 3)
        #expect(h.accumulator.bufferedBytes == 0)
        #expect(h.accumulator.epochBumpNeeded == idempotent)
        #expect(h.accumulator.fatalError == nil)
    }

    @Test("a fenced producer fails fatally: queued batches fail at the next drain and appends are refused")
    func fencedIsFatal() {
        let size = Self.batchSize(forRecordsPerBatch: 1)
        var h = Harness(Self.config(batchSize: size))
        h.append()
        h.append()
        let first = h.drain().requests.flatMap(\.batches)
        h.finish(node: 1, [(first[0], .brokerError(.invalidProducerEpoch, message: nil))])
        #expect(h.accumulator.fatalError != nil)
        let drained = h.drain()
        #expect(drained.requests.isEmpty)
        #expect(drained.failed.count == 1)
        #expect(h.accumulator.bufferedBytes == 0)
        #expect(h.accumulator.recordsFailed == 2)
        guard case .rejected = h.append() else { Issue.record("append after fatal error accepted"); return }
    }

    @Test("acks=0: a transport failure fails the batch instead of retrying")
    func acksNoneTransportFailureFails() {
        var h = Harness(Self.config(idempotent: false, acks: .none))
        h.append()
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches)[0]
        let completion = h.finish(node: 1, [(batch, .transportFailure("reset"))])
        guard case .failure? = completion.delivered.first?.1 else { Issue.record("not failed"); return }
        #expect(h.accumulator.isEmpty)
    }

    // MARK: Timeouts and limits

    @Test("delivery timeout expires queued batches and releases their buffer")
    func deliveryTimeoutExpiresQueuedBatches() {
        var h = Harness(Self.config(idempotent: false, deliveryTimeout: .seconds(2), acks: .leader))
        h.leaders = [:]  // no leader known
        for _ in 0..<3 { h.append() }
        #expect(h.accumulator.bufferedBytes > 0)
        h.advance(.milliseconds(5))
        let waiting = h.drain()
        #expect(waiting.requests.isEmpty)
        #expect(waiting.partitionsWithoutLeader == [Self.tp(0)])
        #expect(waiting.nextWakeup == h.now + .milliseconds(100))
        h.now = Self.t0 + .seconds(2)
        let expired = h.drain()
        #expect(expired.failed.count == 1)
        guard case .deliveryTimedOut? = expired.failed.first?.1 else { Issue.record("not expired"); return }
        #expect(h.accumulator.isEmpty)
        #expect(h.accumulator.bufferedBytes == 0)
        #expect(h.accumulator.recordsFailed == 3)
    }

    @Test("a retriable failure after the delivery timeout fails the batch")
    func retryAfterDeliveryTimeoutFails() {
        var h = Harness(Self.config(deliveryTimeout: .seconds(2)))
        h.append()
        h.advance(.milliseconds(5))
        let batch = h.drain().requests.flatMap(\.batches)[0]
        h.now = Self.t0 + .seconds(3)
        let completion = h.finish(node: 1, [(batch, .brokerError(.notLeaderOrFollower, message: nil))])
        guard case .failure(.deliveryTimedOut)? = completion.delivered.first?.1 else { Issue.record("not expired"); return }
        // Sequence 0 is now a gap the broker never saw.
        #expect(h.accumulator.epochBumpNeeded)
        #expect(h.accumulator.bufferedBytes == 0)
    }

    @Test("buffer.memory used up makes append return bufferFull until deliveries free it")
    func bufferMemoryLimit() {
        let size = Self.batchSize(forRecordsPerBatch: 4)
        var h = Harness(Self.config(batchSize: size, bufferMemory: size))
        var appended = 0
        while case .appended = h.append(), appended < 100 { appended += 1 }
        #expect(appended > 0 && appended < 100)
        guard case .bufferFull = h.append() else { Issue.record("expected bufferFull"); return }
        #expect(h.accumulator.bufferedBytes <= size)
        _ = h.accumulator.beginFlush()
        var sent: [ProducerBatch] = []
        while true {
            let batches = h.drain().requests.flatMap(\.batches)
            if batches.isEmpty { break }
            sent += batches
            h.acknowledge(batches)
        }
        #expect(sent.map(\.recordCount).reduce(0, +) == appended)
        #expect(h.accumulator.bufferedBytes == 0)
        guard case .appended = h.append() else { Issue.record("still full after delivery"); return }
    }

    @Test("a record larger than max.request.size is rejected", arguments: [false, true])
    func recordTooLarge(intoOpenBatch: Bool) {
        var h = Harness(Self.config(maxRequestSize: 1000))
        if intoOpenBatch { h.append() }
        guard case let .rejected(error) = h.append(valueSize: 2000) else { Issue.record("accepted"); return }
        guard case let .recordTooLarge(size, limit) = error else { Issue.record("\(error)"); return }
        #expect(size > 2000 && limit == 1000)
        #expect(h.queue(0).queued.isEmpty)
        #expect(h.queue(0).open?.recordCount == (intoOpenBatch ? 1 : nil))
        guard case .appended = h.append(valueSize: 900) else { Issue.record("a fitting record was refused"); return }
    }

    @Test("a record for a partition that does not exist is rejected; an unknown topic needs its partition count")
    func unknownPartitionAndTopic() {
        var h = Harness(Self.config(), partitions: 2)
        guard case .rejected(.unknownPartition) = h.append(partition: 2) else { Issue.record("partition 2 accepted"); return }
        let record = ProducerRecord(topic: "elsewhere", key: nil, value: "v")
        guard case .needsPartitionCount = h.accumulator.append(record, timestamp: 0, handler: nil, now: h.now) else {
            Issue.record("unknown topic accepted"); return
        }
    }

    @Test("keyed records go to the murmur2 partition")
    func keyedRecordsUseMurmur2() {
        var h = Harness(Self.config(), partitions: 7)
        let keys = (0..<40).map { "key-\($0)" }
        for key in keys { h.append(partition: nil, key: key) }
        for key in keys {
            let expected = DefaultPartitioner.partition(forKey: Array(key.utf8), partitionCount: 7)
            #expect(h.queue(expected).open != nil, "\(key)")
        }
        let total = (Int32(0)..<7).map { h.queue($0).open?.recordCount ?? 0 }.reduce(0, +)
        #expect(total == 40)
        var counts: [Int32: Int] = [:]
        for key in keys { counts[DefaultPartitioner.partition(forKey: Array(key.utf8), partitionCount: 7), default: 0] += 1 }
        for (partition, count) in counts { #expect(h.queue(partition).open?.recordCount == count) }
    }
}

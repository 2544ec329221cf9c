import Testing
@testable import KafkaWire

/// A partition log built batch by batch, as a broker would hand it out in a Fetch response.
struct TransactionLogBuilder {
    var bytes: [UInt8] = []
    var nextOffset: Int64 = 0
    /// Values of records a read_committed consumer must see, in order.
    var committedValues: [String] = []
    var allDataValues: [String] = []

    mutating func data(_ values: [String], producer: Int64 = -1, transactional: Bool = false, compression: CompressionCodec = .none,
                       visibleWhenCommitted: Bool = true) throws {
        let records = values.enumerated().map { index, value in
            Record(offset: nextOffset + Int64(index), timestamp: 1_700_000_000_000 + Int64(index), key: nil, value: Array(value.utf8))
        }
        let batch = RecordBatch(
            baseOffset: nextOffset, records: records, compression: compression, producerId: producer, producerEpoch: producer >= 0 ? 0 : -1,
            baseSequence: producer >= 0 ? 0 : -1, isTransactional: transactional)
        bytes += try batch.encode()
        nextOffset += Int64(values.count)
        allDataValues += values
        if visibleWhenCommitted { committedValues += values }
    }

    mutating func marker(_ kind: EndTransactionMarker.Kind, producer: Int64) throws {
        let batch = EndTransactionMarker(kind, coordinatorEpoch: 0).batch(producerId: producer, producerEpoch: 0, baseOffset: nextOffset, timestamp: 1)
        bytes += try batch.encode()
        nextOffset += 1
    }
}

@Suite("FetchedRecordsDecoder: what an application sees of a fetched partition")
struct FetchedRecordsDecoderTests {
    let partition = TopicPartition("t", 0)

    /// Producers 1 and 2 interleave transactions: 1 commits, 2 aborts (compressed), 1 commits
    /// again, 3 aborts a transaction of two batches around a plain record, 4 leaves one open.
    func mixedLog() throws -> (TransactionLogBuilder, [FetchResponse.AbortedTransaction]) {
        var log = TransactionLogBuilder()
        var aborted: [FetchResponse.AbortedTransaction] = []
        try log.data(["plain-0"])
        try log.data(["p1-a", "p1-b"], producer: 1, transactional: true)
        aborted.append(.init(producerId: 2, firstOffset: log.nextOffset))
        try log.data(["p2-x", "p2-y", "p2-z"], producer: 2, transactional: true, compression: .lz4, visibleWhenCommitted: false)
        try log.data(["p1-c"], producer: 1, transactional: true, compression: .gzip)
        try log.marker(.commit, producer: 1)
        try log.marker(.abort, producer: 2)
        aborted.append(.init(producerId: 3, firstOffset: log.nextOffset))
        try log.data(["p3-1"], producer: 3, transactional: true, visibleWhenCommitted: false)
        try log.data(["plain-1"])
        try log.data(["p3-2"], producer: 3, transactional: true, compression: .zstd, visibleWhenCommitted: false)
        try log.marker(.abort, producer: 3)
        // Producer 2 starts again after its abort: this transaction commits.
        try log.data(["p2-again"], producer: 2, transactional: true, compression: .snappy)
        try log.marker(.commit, producer: 2)
        return (log, aborted)
    }

    @Test("read_committed delivers exactly the committed and plain records, in order, and moves past the markers")
    func readCommittedDropsAborted() throws {
        let (log, aborted) = try mixedLog()
        let result = try FetchedRecordsDecoder.decode(
            log.bytes, topicPartition: partition, fetchOffset: 0, isolation: .readCommitted, abortedTransactions: aborted)
        #expect(result.records.compactMap(\.valueString) == log.committedValues)
        #expect(result.nextOffset == log.nextOffset)
        #expect(result.controlBatches == 4)
        #expect(result.abortedBatches == 3)
        let offsets = result.records.map(\.offset)
        #expect(offsets == offsets.sorted())
    }

    @Test("read_uncommitted delivers every data record, aborted ones too, but never a control record")
    func readUncommittedSeesAll() throws {
        let (log, aborted) = try mixedLog()
        let result = try FetchedRecordsDecoder.decode(
            log.bytes, topicPartition: partition, fetchOffset: 0, isolation: .readUncommitted, abortedTransactions: aborted)
        #expect(result.records.compactMap(\.valueString) == log.allDataValues)
        #expect(result.nextOffset == log.nextOffset)
    }

    @Test("a fetch starting inside a batch skips the records before the fetch offset")
    func fetchOffsetInsideBatch() throws {
        var log = TransactionLogBuilder()
        try log.data(["a", "b", "c", "d"], compression: .gzip)
        let result = try FetchedRecordsDecoder.decode(
            log.bytes, topicPartition: partition, fetchOffset: 2, isolation: .readUncommitted, abortedTransactions: nil)
        #expect(result.records.map(\.offset) == [2, 3])
        #expect(result.nextOffset == 4)
    }

    @Test("only markers and aborted data: nothing delivered, position past all of it")
    func onlyAbortedData() throws {
        var log = TransactionLogBuilder()
        try log.data(["x", "y"], producer: 9, transactional: true, visibleWhenCommitted: false)
        try log.marker(.abort, producer: 9)
        let result = try FetchedRecordsDecoder.decode(
            log.bytes, topicPartition: partition, fetchOffset: 0, isolation: .readCommitted,
            abortedTransactions: [.init(producerId: 9, firstOffset: 0)])
        #expect(result.records.isEmpty)
        #expect(result.nextOffset == 3)
    }

    @Test("a trailing partial batch is left for the next fetch; a corrupt batch is a typed error")
    func partialAndCorrupt() throws {
        var log = TransactionLogBuilder()
        try log.data(["one"])
        let firstEnd = log.bytes.count
        try log.data(["two"])
        let cut = Array(log.bytes.prefix(firstEnd + 20))
        let partial = try FetchedRecordsDecoder.decode(cut, topicPartition: partition, fetchOffset: 0, isolation: .readUncommitted, abortedTransactions: nil)
        #expect(partial.records.map(\.valueString) == ["one"])
        #expect(partial.nextOffset == 1)

        var corrupt = log.bytes
        corrupt[corrupt.count - 2] ^= 0xFF
        #expect(throws: KafkaConsumerError.self) {
            _ = try FetchedRecordsDecoder.decode(corrupt, topicPartition: partition, fetchOffset: 0, isolation: .readUncommitted, abortedTransactions: nil)
        }
    }
}

@Suite("ConsumerGroupMembership: coordinator answers and assignments")
struct ConsumerGroupMembershipTests {
    @Test("error codes map to the reactions the Java consumer has")
    func reactions() {
        #expect(ConsumerGroupMembership.reaction(to: .rebalanceInProgress) == .rejoin)
        #expect(ConsumerGroupMembership.reaction(to: .unknownMemberId) == .resetAndRejoin)
        #expect(ConsumerGroupMembership.reaction(to: .illegalGeneration) == .resetAndRejoin)
        #expect(ConsumerGroupMembership.reaction(to: .notCoordinator) == .findCoordinator)
        #expect(ConsumerGroupMembership.reaction(to: .coordinatorNotAvailable) == .findCoordinator)
        #expect(ConsumerGroupMembership.reaction(to: .coordinatorLoadInProgress) == .retry)
        #expect(ConsumerGroupMembership.reaction(to: .groupAuthorizationFailed) == .fail)
    }

    @Test("cooperative: partitions that stay are kept, moved ones revoked and a rejoin requested; eager: no rejoin")
    func applyAssignment() {
        var membership = ConsumerGroupMembership()
        membership.memberID = "m"
        membership.generation = 1
        let a = TopicPartition("t", 0), b = TopicPartition("t", 1), c = TopicPartition("t", 2)
        var outcome = membership.apply(assignment: [a, b], protocol: .cooperative)
        #expect(outcome.added == [a, b] && outcome.revoked.isEmpty && !membership.rejoinNeeded)
        outcome = membership.apply(assignment: [b, c], protocol: .cooperative)
        #expect(outcome.revoked == [a] && outcome.added == [c])
        #expect(membership.rejoinNeeded)
        membership.rejoinNeeded = false
        outcome = membership.apply(assignment: [c], protocol: .eager)
        #expect(outcome.revoked == [b] && !membership.rejoinNeeded)
        let lost = membership.reset()
        #expect(lost == [c] && membership.memberID.isEmpty && membership.generation == -1 && membership.rejoinNeeded)
    }
}

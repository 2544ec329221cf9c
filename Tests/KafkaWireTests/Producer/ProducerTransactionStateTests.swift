import Testing
@testable import KafkaWire

@Suite("ProducerTransactionState: when transactional calls are allowed and how errors end them")
struct ProducerTransactionStateTests {
    @Test("begin needs initTransactions and no open transaction; commit and abort end it")
    func lifecycle() throws {
        var state = ProducerTransactionState()
        #expect(throws: KafkaProducerError.self) { try state.begin() }
        #expect(throws: KafkaProducerError.self) { try state.requireOpen("produce") }
        state.initialized()
        try state.begin()
        #expect(state.isInTransaction)
        #expect(throws: KafkaProducerError.self) { try state.begin() }
        try state.requireOpen("produce")
        try state.beginCommit()
        #expect(throws: KafkaProducerError.self) { try state.requireOpen("produce") }
        state.completed()
        try state.begin()
        try state.beginAbort()
        state.completed()
        #expect(state.phase == .ready)
        #expect(throws: KafkaProducerError.self) { try state.beginAbort() }
    }

    @Test("an abortable error allows only abort; a fatal one allows nothing")
    func failures() throws {
        var state = ProducerTransactionState()
        state.initialized()
        try state.begin()
        state.fail("NOT_ENOUGH_REPLICAS", fatal: false)
        #expect(throws: KafkaProducerError.self) { try state.beginCommit() }
        #expect(throws: KafkaProducerError.self) { try state.requireOpen("produce") }
        try state.beginAbort()
        state.completed()
        try state.begin()
        state.fail("PRODUCER_FENCED", fatal: true)
        state.fail("later abortable error", fatal: false)
        #expect(state.phase == .fatalError("PRODUCER_FENCED"))
        #expect(throws: KafkaProducerError.self) { try state.beginAbort() }
        #expect(throws: KafkaProducerError.self) { try state.begin() }
    }

    @Test("coordinator error codes are classed as the Java producer classes them")
    func classification() {
        #expect(ProducerTransactionState.classify(.concurrentTransactions) == .retriable)
        #expect(ProducerTransactionState.classify(.coordinatorLoadInProgress) == .retriable)
        #expect(ProducerTransactionState.classify(.notCoordinator) == .findCoordinator)
        #expect(ProducerTransactionState.classify(.coordinatorNotAvailable) == .findCoordinator)
        #expect(ProducerTransactionState.classify(KafkaErrorCode(90)) == .fatal)
        #expect(ProducerTransactionState.classify(.invalidProducerEpoch) == .fatal)
        #expect(ProducerTransactionState.classify(.transactionalIdAuthorizationFailed) == .fatal)
        #expect(ProducerTransactionState.classify(.topicAuthorizationFailed) == .abortable)
        #expect(ProducerTransactionState.classify(.unknownProducerId) == .abortable)
    }
}

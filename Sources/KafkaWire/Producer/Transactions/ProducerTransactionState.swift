/// A transactional producer's state as a value: which calls are allowed when, and how each
/// error from the transaction coordinator is taken, as the Java producer does it:
/// fatal errors end the producer (fenced by a newer instance with the same transactional id,
/// not authorized), abortable ones end the transaction (the application must abort it),
/// retriable ones are retried (coordinator moved, loading, a previous transaction still
/// completing).
struct ProducerTransactionState: Sendable, Equatable {
    enum Phase: Sendable, Equatable {
        case uninitialized
        case ready
        case inTransaction
        case committing
        case aborting
        case abortableError(String)
        case fatalError(String)
    }

    enum ErrorClass: Sendable, Equatable {
        case retriable
        case findCoordinator
        case abortable
        case fatal
    }

    static func classify(_ code: KafkaErrorCode) -> ErrorClass {
        switch code {
        case .concurrentTransactions, .coordinatorLoadInProgress, .operationNotAttempted, .requestTimedOut, .networkException,
             .unknownTopicOrPartition, .notEnoughReplicas, .notEnoughReplicasAfterAppend:
            return .retriable
        case .notCoordinator, .coordinatorNotAvailable:
            return .findCoordinator
        case KafkaErrorCode(90) /* PRODUCER_FENCED */, .invalidProducerEpoch, .transactionalIdAuthorizationFailed,
             .clusterAuthorizationFailed, .invalidTxnState, .unsupportedVersion, .unsupportedForMessageFormat,
             .invalidTransactionTimeout, .transactionCoordinatorFenced:
            return .fatal
        default:
            return .abortable
        }
    }

    private(set) var phase: Phase = .uninitialized

    /// The transaction is open and records may be produced in it.
    var isInTransaction: Bool { phase == .inTransaction }

    mutating func initialized() {
        phase = .ready
    }

    mutating func begin() throws(KafkaProducerError) {
        switch phase {
        case .ready: phase = .inTransaction
        case .uninitialized: throw .transactionState("beginTransaction before initTransactions")
        case .inTransaction: throw .transactionState("a transaction is already open")
        case .committing, .aborting: throw .transactionState("the previous transaction is still completing")
        case let .abortableError(reason): throw .transactionState("the transaction failed and must be aborted: \(reason)")
        case let .fatalError(reason): throw .fatal(reason)
        }
    }

    /// Records, offsets and commits need an open transaction that has not failed.
    func requireOpen(_ operation: String) throws(KafkaProducerError) {
        switch phase {
        case .inTransaction: return
        case let .abortableError(reason): throw .transactionState("\(operation) in a failed transaction (abort it): \(reason)")
        case let .fatalError(reason): throw .fatal(reason)
        default: throw .transactionState("\(operation) outside a transaction (call beginTransaction first)")
        }
    }

    mutating func beginCommit() throws(KafkaProducerError) {
        try requireOpen("commitTransaction")
        phase = .committing
    }

    /// Abort is allowed in a transaction and after an abortable error.
    mutating func beginAbort() throws(KafkaProducerError) {
        switch phase {
        case .inTransaction, .abortableError, .aborting: phase = .aborting
        case let .fatalError(reason): throw .fatal(reason)
        default: throw .transactionState("abortTransaction outside a transaction")
        }
    }

    /// EndTxn succeeded.
    mutating func completed() {
        phase = .ready
    }

    /// A failure inside the transaction: fatal ones end the producer, others the transaction.
    mutating func fail(_ reason: String, fatal: Bool) {
        if case .fatalError = phase { return }
        phase = fatal ? .fatalError(reason) : .abortableError(reason)
    }
}

/// Why a record was not produced.
public enum KafkaProducerError: Error, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// The record alone exceeds `max.request.size` or `buffer.memory`.
    case recordTooLarge(size: Int, limit: Int)
    /// The producer is closed (or closing) and takes no more records.
    case closed
    /// The partition named does not exist.
    case unknownPartition(TopicPartition, partitionCount: Int)
    /// Not acknowledged within `delivery.timeout.ms`; `last` is the last failure seen, if any.
    case deliveryTimedOut(TopicPartition, after: Duration, last: String?)
    /// The broker refused the batch with a code that retrying cannot fix.
    case rejected(TopicPartition, KafkaErrorCode, message: String?)
    /// The producer can no longer produce: its id was fenced, or authorization failed.
    case fatal(String)
    /// A failure from the client layer (metadata, connections).
    case client(KafkaClientError)
    /// The batch could not be built (compression failure).
    case encoding(String)
    /// A transactional call made at the wrong time (no transaction open, one already open,
    /// or the transaction failed and must be aborted).
    case transactionState(String)
    /// The transaction coordinator refused a request with a code that ends the transaction.
    case transactionAborted(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(reason): return "invalid producer configuration: \(reason)"
        case let .recordTooLarge(size, limit): return "record of \(size) bytes exceeds the limit of \(limit) bytes"
        case .closed: return "the producer is closed"
        case let .unknownPartition(tp, count): return "partition \(tp) does not exist (the topic has \(count) partitions)"
        case let .deliveryTimedOut(tp, after, last):
            return "record for \(tp) not acknowledged within \(after)" + (last.map { " (last error: \($0))" } ?? "")
        case let .rejected(tp, code, message):
            return "broker rejected the batch for \(tp) with \(code.name) (\(code.rawValue))" + (message.map { ": \($0)" } ?? "")
        case let .fatal(reason): return "producer failed fatally: \(reason)"
        case let .client(error): return "\(error)"
        case let .encoding(reason): return "cannot encode batch: \(reason)"
        case let .transactionState(reason): return "transaction: \(reason)"
        case let .transactionAborted(reason): return "transaction must be aborted: \(reason)"
        }
    }

    /// The broker's error code, if the failure carries one.
    public var errorCode: KafkaErrorCode? {
        switch self {
        case let .rejected(_, code, _): return code
        case let .client(error): return error.errorCode
        default: return nil
        }
    }
}

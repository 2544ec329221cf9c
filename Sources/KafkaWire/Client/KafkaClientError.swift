/// Failures of `KafkaClient` and `KafkaAdmin`, each naming what it concerns: the broker, the
/// API, the topic and partition, and the Kafka error code by its protocol name.
public indirect enum KafkaClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No bootstrap server answered; one reason per server tried.
    case noBootstrapServerReachable([String])
    /// The connection to a broker failed or a request on it timed out.
    case connection(broker: String, nodeID: Int32?, KafkaConnectionError)
    /// ApiVersions negotiation with a broker failed.
    case negotiation(broker: String, reason: String)
    /// The broker speaks no version of this API that this client speaks.
    case unsupportedApi(ApiKey, broker: String)
    /// The response could not be decoded at the version it was requested at.
    case decoding(ApiKey, version: Int16, broker: String, reason: String)
    /// The broker answered with an error code.
    case broker(KafkaErrorCode, api: ApiKey, broker: String?, topic: String?, partition: Int32?, message: String?)
    /// Metadata names no such topic or partition.
    case unknownTopicOrPartition(topic: String, partition: Int32?)
    /// The partition has no leader in the current metadata.
    case leaderNotAvailable(topic: String, partition: Int32)
    /// Metadata names no broker with this node id.
    case unknownBroker(nodeID: Int32)
    /// Every attempt failed; `last` is the final failure.
    case retriesExhausted(attempts: Int, last: KafkaClientError)
    /// The task was cancelled while waiting.
    case cancelled
    /// A failure of some other kind, from a caller's operation.
    case unexpected(String)

    public var description: String {
        switch self {
        case let .noBootstrapServerReachable(reasons):
            return "no bootstrap server reachable: " + reasons.joined(separator: "; ")
        case let .connection(broker, nodeID, error):
            return "broker \(broker)\(nodeID.map { " (node \($0))" } ?? ""): \(error)"
        case let .negotiation(broker, reason):
            return "ApiVersions negotiation with \(broker) failed: \(reason)"
        case let .unsupportedApi(key, broker):
            return "broker \(broker) supports no version of \(key) that this client speaks"
        case let .decoding(key, version, broker, reason):
            return "cannot decode \(key) v\(version) response from \(broker): \(reason)"
        case let .broker(code, api, broker, topic, partition, message):
            var text = "\(api) failed with \(code.name) (\(code.rawValue))"
            if let topic { text += " for topic \(topic)" + (partition.map { " partition \($0)" } ?? "") }
            if let broker { text += " from broker \(broker)" }
            if let message, !message.isEmpty { text += ": \(message)" }
            return text
        case let .unknownTopicOrPartition(topic, partition):
            return "unknown topic or partition: \(topic)" + (partition.map { " partition \($0)" } ?? "")
        case let .leaderNotAvailable(topic, partition):
            return "no leader for topic \(topic) partition \(partition)"
        case let .unknownBroker(nodeID):
            return "no broker with node id \(nodeID) in metadata"
        case let .retriesExhausted(attempts, last):
            return "gave up after \(attempts) attempts: \(last)"
        case .cancelled:
            return "cancelled"
        case let .unexpected(reason):
            return reason
        }
    }

    /// The Kafka error code, when a broker sent one.
    public var errorCode: KafkaErrorCode? {
        switch self {
        case let .broker(code, _, _, _, _, _): return code
        case .unknownTopicOrPartition: return .unknownTopicOrPartition
        case .leaderNotAvailable: return .leaderNotAvailable
        case let .retriesExhausted(_, last): return last.errorCode
        default: return nil
        }
    }

    /// Whether another attempt may succeed, and whether metadata should be refreshed first.
    public var retryDisposition: KafkaRetryDisposition {
        switch self {
        case let .broker(code, _, _, _, _, _): return code.retryDisposition
        // The broker may be gone or have moved: learn the cluster again.
        case .connection: return .refreshMetadataAndRetry
        case .unknownTopicOrPartition, .leaderNotAvailable, .unknownBroker: return .refreshMetadataAndRetry
        case .noBootstrapServerReachable: return .retry
        case .negotiation, .unsupportedApi, .decoding, .retriesExhausted, .cancelled, .unexpected: return .fail
        }
    }

    /// True for a failure to reach a broker or to get its answer in time.
    public var isConnectionError: Bool {
        switch self {
        case .connection, .noBootstrapServerReachable: return true
        case let .retriesExhausted(_, last): return last.isConnectionError
        default: return false
        }
    }
}

/// Bounded retries with exponential backoff (Java's `retry.backoff.ms` / `retry.backoff.max.ms`,
/// with a bound on attempts instead of `delivery.timeout.ms`).
public struct KafkaRetryPolicy: Sendable, Equatable {
    /// Total attempts, the first included; 1 means no retry.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(1)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): doubling, capped.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = initialBackoff
        for _ in 1..<max(1, attempt) {
            delay = delay * 2
            if delay >= maxBackoff { return maxBackoff }
        }
        return min(delay, maxBackoff)
    }
}

/// What to do after a failed attempt.
public enum KafkaRetryDisposition: Sendable, Equatable {
    case fail
    case retry
    /// The cached leader or broker list is probably stale: refresh metadata, then retry.
    case refreshMetadataAndRetry
}

extension KafkaErrorCode {
    /// Codes after which the client's idea of who leads a partition is wrong.
    public static let metadataInvalidating: Set<KafkaErrorCode> = [
        .notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable, .fencedLeaderEpoch,
        KafkaErrorCode(75),  // UNKNOWN_LEADER_EPOCH
        .notController, .brokerNotAvailable, .replicaNotAvailable, .notCoordinator, .coordinatorNotAvailable,
    ]

    /// The retry decision for a code a broker returned.
    public var retryDisposition: KafkaRetryDisposition {
        if self == .none { return .fail }
        if Self.metadataInvalidating.contains(self) { return .refreshMetadataAndRetry }
        return isRetriable ? .retry : .fail
    }
}

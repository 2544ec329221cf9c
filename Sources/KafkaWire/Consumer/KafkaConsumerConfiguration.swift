/// Where a consumer starts when its group has no committed offset for a partition, or the
/// committed one is out of range (`auto.offset.reset`).
public enum OffsetResetStrategy: String, Sendable {
    case earliest
    case latest
    /// Fail with `KafkaConsumerError.noOffset` instead.
    case none
}

/// Which records a consumer sees (`isolation.level`).
public enum ConsumerIsolation: Int8, Sendable {
    /// Everything up to the high watermark, aborted transactions included.
    case readUncommitted = 0
    /// Up to the last stable offset, without records of aborted transactions.
    case readCommitted = 1

    public init?(text: String) {
        switch String(text.lowercased().map { $0 == "-" ? "_" : $0 }) {
        case "read_uncommitted", "uncommitted": self = .readUncommitted
        case "read_committed", "committed": self = .readCommitted
        default: return nil
        }
    }
}

/// Consumer settings, named after the Java client's where they mean the same.
public struct KafkaConsumerConfiguration: Sendable {
    /// `group.id`: nil for a consumer that only uses `assign` and never commits.
    public var groupID: String?
    /// `group.instance.id`: static membership (a restart within the session timeout keeps the assignment).
    public var groupInstanceID: String?
    public var autoOffsetReset: OffsetResetStrategy
    /// `enable.auto.commit`: positions are committed every `autoCommitInterval` from `poll`, and on
    /// revocation and close — at-least-once: what `poll` returned is committed by the next `poll`.
    public var enableAutoCommit: Bool
    public var autoCommitInterval: Duration
    public var sessionTimeout: Duration
    public var heartbeatInterval: Duration
    /// `max.poll.interval.ms`: a member that does not call `poll` for this long leaves the group
    /// (its partitions go to others) and rejoins at its next `poll`. Also the rebalance timeout.
    public var maxPollInterval: Duration
    public var maxPollRecords: Int
    public var fetchMinBytes: Int32
    public var fetchMaxWait: Duration
    public var fetchMaxBytes: Int32
    public var maxPartitionFetchBytes: Int32
    public var isolation: ConsumerIsolation
    /// `partition.assignment.strategy`, in order of preference (the group uses the first all members support).
    public var assignors: [any PartitionAssignor]
    public var requestTimeout: Duration
    public var retryBackoff: Duration

    public init(
        groupID: String? = nil,
        groupInstanceID: String? = nil,
        autoOffsetReset: OffsetResetStrategy = .latest,
        enableAutoCommit: Bool = true,
        autoCommitInterval: Duration = .seconds(5),
        sessionTimeout: Duration = .seconds(45),
        heartbeatInterval: Duration = .seconds(3),
        maxPollInterval: Duration = .seconds(300),
        maxPollRecords: Int = 500,
        fetchMinBytes: Int32 = 1,
        fetchMaxWait: Duration = .milliseconds(500),
        fetchMaxBytes: Int32 = 52_428_800,
        maxPartitionFetchBytes: Int32 = 1_048_576,
        isolation: ConsumerIsolation = .readUncommitted,
        assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()],
        requestTimeout: Duration = .seconds(30),
        retryBackoff: Duration = .milliseconds(100)
    ) {
        self.groupID = groupID
        self.groupInstanceID = groupInstanceID
        self.autoOffsetReset = autoOffsetReset
        self.enableAutoCommit = enableAutoCommit
        self.autoCommitInterval = autoCommitInterval
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.maxPollInterval = maxPollInterval
        self.maxPollRecords = maxPollRecords
        self.fetchMinBytes = fetchMinBytes
        self.fetchMaxWait = fetchMaxWait
        self.fetchMaxBytes = fetchMaxBytes
        self.maxPartitionFetchBytes = maxPartitionFetchBytes
        self.isolation = isolation
        self.assignors = assignors
        self.requestTimeout = requestTimeout
        self.retryBackoff = retryBackoff
    }
}

/// A consumer's membership of a classic (JoinGroup/SyncGroup) group as a value: who it is in
/// the group, what it owns, and what each coordinator answer means for it. The consumer
/// drives the requests; the rules live here and are tested without a broker.
struct ConsumerGroupMembership: Sendable {
    /// What to do after the coordinator answered with an error.
    enum Reaction: Equatable, Sendable {
        /// Try the same request again after a backoff.
        case retry
        /// The coordinator moved or is unavailable: find it again, then retry.
        case findCoordinator
        /// The group is rebalancing: join again (keeping the member id).
        case rejoin
        /// The coordinator does not know this member (session expired, fenced generation):
        /// the partitions are lost; join again as a new member.
        case resetAndRejoin
        /// Nothing a retry can fix.
        case fail
    }

    static func reaction(to code: KafkaErrorCode) -> Reaction {
        switch code {
        case .coordinatorLoadInProgress, .requestTimedOut, .networkException: return .retry
        case .notCoordinator, .coordinatorNotAvailable: return .findCoordinator
        case .rebalanceInProgress: return .rejoin
        case .unknownMemberId, .illegalGeneration, KafkaErrorCode(82) /* FENCED_INSTANCE_ID */: return .resetAndRejoin
        default: return code.isRetriable ? .retry : .fail
        }
    }

    var memberID = ""
    var generation: Int32 = -1
    var protocolName: String?
    var leaderID: String?
    var coordinator: Int32?
    /// Set when the group must be (re)joined before the next fetch.
    var rejoinNeeded = true
    /// The partitions this member owns in `generation`.
    var owned: Set<TopicPartition> = []

    var isStable: Bool { !rejoinNeeded && generation >= 0 && !memberID.isEmpty }
    var isLeader: Bool { leaderID != nil && leaderID == memberID }

    /// Forgets the member id and generation (after a fence or a leave); what was owned is lost.
    mutating func reset() -> Set<TopicPartition> {
        let lost = owned
        memberID = ""
        generation = -1
        leaderID = nil
        owned = []
        rejoinNeeded = true
        return lost
    }

    /// The outcome of a SyncGroup under `protocol`: which partitions to revoke and which are
    /// new. Eager groups revoked everything before joining, so everything is new; cooperative
    /// groups keep what stays and revoke only what moved, then join once more so the moved
    /// partitions can be given to their new owners.
    mutating func apply(assignment: Set<TopicPartition>, protocol rebalance: RebalanceProtocol)
        -> (revoked: [TopicPartition], added: [TopicPartition])
    {
        let revoked = owned.subtracting(assignment).sorted()
        let added = assignment.subtracting(owned).sorted()
        owned = assignment
        rejoinNeeded = rebalance == .cooperative && !revoked.isEmpty
        return (revoked, added)
    }
}

/// A client-side partition assignor of the classic consumer group protocol: the leader runs
/// it over every member's subscription and sends each member its share in SyncGroup.
///
/// Implementations are pure: no I/O, the same input always gives the same output.
public protocol PartitionAssignor: Sendable {
    /// The protocol name put in JoinGroup ("range", "roundrobin", "cooperative-sticky"); the
    /// Java client and librdkafka use the same names, so mixed groups agree on one.
    var name: String { get }
    var rebalanceProtocol: RebalanceProtocol { get }

    /// The partitions of each member, keyed by member id: every member appears (possibly
    /// with an empty list), each list sorted. Topics absent from `partitionsPerTopic` (or with
    /// no partitions) are skipped; a repeated member id counts once (the first).
    func assign(members: [AssignorMember], partitionsPerTopic: [String: Int32]) -> [String: [TopicPartition]]
}

extension PartitionAssignor {
    /// Each member's subscribed topics that exist (have at least one partition).
    static func existingTopics(of member: AssignorMember, in partitionsPerTopic: [String: Int32]) -> Set<String> {
        Set(member.subscription.topics.filter { (partitionsPerTopic[$0] ?? 0) > 0 })
    }
}

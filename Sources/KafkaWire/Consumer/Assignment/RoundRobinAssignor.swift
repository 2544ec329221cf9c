/// The Java client's `RoundRobinAssignor`: every partition of every subscribed topic, sorted
/// by topic then partition, is dealt in turn to the members in `MemberInfo` order, skipping a
/// member not subscribed to the partition's topic.
///
/// With two members C0, C1 and topics t0, t1 of 3 partitions each:
/// C0 [t0-0, t0-2, t1-1], C1 [t0-1, t1-0, t1-2].
public struct RoundRobinAssignor: PartitionAssignor {
    public let name = "roundrobin"
    public let rebalanceProtocol = RebalanceProtocol.eager

    public init() {}

    public func assign(members: [AssignorMember], partitionsPerTopic: [String: Int32]) -> [String: [TopicPartition]] {
        let members = AssignorMember.distinctSorted(members)
        let topicsOf = members.map { Self.existingTopics(of: $0, in: partitionsPerTopic) }
        var assignment: [String: [TopicPartition]] = [:]
        for member in members { assignment[member.memberId] = [] }
        let topics = topicsOf.reduce(into: Set<String>()) { $0.formUnion($1) }
            .sorted { $0.precedesInJavaOrder($1) }
        var next = 0
        for topic in topics {
            for partition in 0..<(partitionsPerTopic[topic] ?? 0) {
                // Terminates: the topic comes from some member's subscription.
                while !topicsOf[next].contains(topic) { next = (next + 1) % members.count }
                assignment[members[next].memberId, default: []].append(TopicPartition(topic: topic, partition: partition))
                next = (next + 1) % members.count
            }
        }
        return assignment
    }
}

/// The Java client's `RangeAssignor` (without its rack-aware refinement): per topic, the
/// members subscribed to it in `MemberInfo` order (static members by instance id, then
/// dynamic ones by member id) each take a contiguous range of `partitions / members`
/// partitions, the first `partitions % members` one more.
///
/// With two members C0, C1 and topics t0, t1 of 3 partitions each:
/// C0 [t0-0, t0-1, t1-0, t1-1], C1 [t0-2, t1-2].
public struct RangeAssignor: PartitionAssignor {
    public let name = "range"
    public let rebalanceProtocol = RebalanceProtocol.eager

    public init() {}

    public func assign(members: [AssignorMember], partitionsPerTopic: [String: Int32]) -> [String: [TopicPartition]] {
        let members = AssignorMember.distinctSorted(members)
        var assignment: [String: [TopicPartition]] = [:]
        var subscribers: [String: [String]] = [:]  // topic → member ids, in member order
        for member in members {
            assignment[member.memberId] = []
            for topic in Self.existingTopics(of: member, in: partitionsPerTopic) {
                subscribers[topic, default: []].append(member.memberId)
            }
        }
        for (topic, memberIds) in subscribers {
            let partitionCount = Int(partitionsPerTopic[topic] ?? 0)
            let perMember = partitionCount / memberIds.count
            let withExtra = partitionCount % memberIds.count
            for (index, memberId) in memberIds.enumerated() {
                let start = perMember * index + min(index, withExtra)
                let length = perMember + (index < withExtra ? 1 : 0)
                assignment[memberId, default: []].append(
                    contentsOf: (start..<(start + length)).map { TopicPartition(topic: topic, partition: Int32($0)) }
                )
            }
        }
        return assignment.mapValues { $0.sorted() }
    }
}

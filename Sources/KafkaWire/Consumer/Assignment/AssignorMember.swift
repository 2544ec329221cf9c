/// One member of a group as the leader's assignor sees it: its id, its static instance id
/// (KIP-345) and the subscription it sent in JoinGroup.
public struct AssignorMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var subscription: ConsumerProtocolSubscription

    public init(memberId: String, groupInstanceId: String? = nil, subscription: ConsumerProtocolSubscription) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.subscription = subscription
    }

    /// The Java client's `MemberInfo` order: static members first, by instance id, then
    /// dynamic members by member id (ties between equal instance ids broken by member id).
    static func precedes(_ lhs: AssignorMember, _ rhs: AssignorMember) -> Bool {
        switch (lhs.groupInstanceId, rhs.groupInstanceId) {
        case let (left?, right?) where left != right:
            return left.precedesInJavaOrder(right)
        case (.some, nil):
            return true
        case (nil, .some):
            return false
        default:
            return lhs.memberId.precedesInJavaOrder(rhs.memberId)
        }
    }

    /// `members` without repeated member ids (the first one wins), in `precedes` order.
    static func distinctSorted(_ members: [AssignorMember]) -> [AssignorMember] {
        var seen = Set<String>()
        return members.filter { seen.insert($0.memberId).inserted }.sorted(by: precedes)
    }
}

/// The Java client's "cooperative-sticky" assignor (KIP-429), modelled on its
/// `AbstractStickyAssignor`: balanced, keeping as much of what members own as balance allows,
/// and cooperative.
///
/// 1. Ownership: a member's claim to a partition (its subscription's `ownedPartitions`, with
///    the generation from `generationId`, or for v0/v1 subscriptions the int32 the Java
///    assignor puts in `userData`) counts if the member is still subscribed to the topic and
///    its claim is the only one at the highest generation claiming that partition; claims from
///    a lower generation lose, and two claims at the same highest generation both lose.
/// 2. Target: when every member subscribes to the same (existing) topics, Java's "constrained"
///    algorithm: each member keeps up to its quota (`floor(N/M)`, or `ceil(N/M)` for the first
///    `N % M` members that own that many) and the rest is dealt round robin so that max − min
///    ≤ 1. Otherwise a greedy: members keep all valid claims, free partitions go (fewest
///    eligible members first) to the least loaded eligible member, then partitions move from a
///    member to an eligible one with at least two fewer until no such move is left.
/// 3. Cooperative rule: a partition the target gives to a member that does not validly own
///    it while another member claims it (even with a stale or conflicting claim) is left out
///    of this round; the claimant revokes it, and the follow-up rebalance (which consumers
///    request after revoking) hands it out. A valid owner keeps its partition despite stale
///    claims, as in Java; two claims at the same generation hold the partition back from
///    everyone, as in Java.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public let name = "cooperative-sticky"
    public let rebalanceProtocol = RebalanceProtocol.cooperative

    public init() {}

    /// The `userData` the Java assignor sends (a struct holding one int32, the generation),
    /// read by leaders that predate subscription v2.
    public static func subscriptionUserData(generation: Int32) -> [UInt8] {
        let value = UInt32(bitPattern: generation)
        return [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// The generation of a member's owned partitions: `generationId` when set (v2+), else the
    /// one in the Java assignor's `userData`, else -1.
    static func generation(of subscription: ConsumerProtocolSubscription) -> Int32 {
        if subscription.generationId >= 0 { return subscription.generationId }
        guard let data = subscription.userData, data.count >= 4 else { return -1 }
        return Int32(bitPattern: UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3]))
    }

    public func assign(members: [AssignorMember], partitionsPerTopic: [String: Int32]) -> [String: [TopicPartition]] {
        let members = AssignorMember.distinctSorted(members)
        guard !members.isEmpty else { return [:] }
        let topicsOf = members.map { Self.existingTopics(of: $0, in: partitionsPerTopic) }
        let allTopics = topicsOf.reduce(into: Set<String>()) { $0.formUnion($1) }.sorted { $0.precedesInJavaOrder($1) }
        var allPartitions: [TopicPartition] = []
        for topic in allTopics {
            for partition in 0..<(partitionsPerTopic[topic] ?? 0) {
                allPartitions.append(TopicPartition(topic: topic, partition: partition))
            }
        }

        // Every claim, valid or not (the cooperative rule needs them all), and the valid owner.
        var claimants: [TopicPartition: [Int]] = [:]
        for (index, member) in members.enumerated() {
            for tp in Set(member.subscription.ownedPartitions) { claimants[tp, default: []].append(index) }
        }
        let generations = members.map { Self.generation(of: $0.subscription) }
        var kept = Array(repeating: [TopicPartition](), count: members.count)
        for tp in allPartitions {
            let eligible = (claimants[tp] ?? []).filter { topicsOf[$0].contains(tp.topic) }
            guard let best = eligible.map({ generations[$0] }).max() else { continue }
            let winners = eligible.filter { generations[$0] == best }
            if winners.count == 1 { kept[winners[0]].append(tp) }
        }

        let target = topicsOf.allSatisfy({ $0 == topicsOf[0] })
            ? Self.constrained(kept: kept, allPartitions: allPartitions)
            : Self.general(kept: kept, allPartitions: allPartitions, topicsOf: topicsOf)

        // A member keeps what it validly owns; anything else that another member claims is
        // held back until that member has revoked it.
        var assignment: [String: [TopicPartition]] = [:]
        for (index, member) in members.enumerated() {
            let valid = Set(kept[index])
            assignment[member.memberId] = target[index]
                .filter { tp in valid.contains(tp) || (claimants[tp] ?? []).allSatisfy { $0 == index } }
                .sorted()
        }
        return assignment
    }

    /// All members subscribe to the same topics: keep owned partitions up to the quota, deal
    /// the rest so that every member ends with `minQuota` or `maxQuota` partitions.
    static func constrained(kept: [[TopicPartition]], allPartitions: [TopicPartition]) -> [[TopicPartition]] {
        let memberCount = kept.count
        let minQuota = allPartitions.count / memberCount
        let maxQuota = minQuota + (allPartitions.count % memberCount == 0 ? 0 : 1)
        let expectedOverMin = allPartitions.count % memberCount
        var overMin = 0
        var target = Array(repeating: [TopicPartition](), count: memberCount)
        var taken = Set<TopicPartition>()
        for (index, owned) in kept.enumerated() {
            // Java keeps the lowest partition numbers first, across topics.
            let owned = owned.sorted { ($0.partition, $0.topic) < ($1.partition, $1.topic) }
            let keep: Int
            if owned.count < minQuota {
                keep = owned.count
            } else if owned.count >= maxQuota, overMin < expectedOverMin {
                keep = maxQuota
                if maxQuota > minQuota { overMin += 1 }
            } else {
                keep = minQuota
            }
            target[index] = Array(owned.prefix(keep))
            taken.formUnion(target[index])
        }
        var free = allPartitions.filter { !taken.contains($0) }[...]

        // Round robin up to minQuota, then one more each to members at minQuota.
        var under = (0..<memberCount).filter { target[$0].count < minQuota }
        while !under.isEmpty, !free.isEmpty {
            var stillUnder: [Int] = []
            for index in under {
                guard let tp = free.popFirst() else { break }
                target[index].append(tp)
                if target[index].count < minQuota { stillUnder.append(index) }
            }
            under = stillUnder
        }
        for index in 0..<memberCount where !free.isEmpty && overMin < expectedOverMin && target[index].count == minQuota {
            target[index].append(free.removeFirst())
            overMin += 1
        }
        // Not reached when the quotas add up; kept so a bug cannot lose a partition.
        while let tp = free.popFirst() {
            let index = (0..<memberCount).min { target[$0].count < target[$1].count }!
            target[index].append(tp)
        }
        return target
    }

    /// Members subscribe to different topics: keep every valid claim, place free partitions on
    /// the least loaded eligible member, then move partitions from a member to an eligible one
    /// holding at least two fewer until none can move (each move lowers the sum of squared
    /// counts, so this ends).
    static func general(kept: [[TopicPartition]], allPartitions: [TopicPartition], topicsOf: [Set<String>]) -> [[TopicPartition]] {
        let memberCount = kept.count
        var eligibleByTopic: [String: [Int]] = [:]
        for index in 0..<memberCount {
            for topic in topicsOf[index] { eligibleByTopic[topic, default: []].append(index) }
        }
        var target = kept
        var counts = kept.map(\.count)
        let taken = Set(kept.joined())
        var fresh = Set<TopicPartition>()
        let free = allPartitions.filter { !taken.contains($0) }
            .sorted { (eligibleByTopic[$0.topic]!.count, $0) < (eligibleByTopic[$1.topic]!.count, $1) }
        func leastLoaded(_ candidates: [Int]) -> Int {
            candidates.min { (counts[$0], $0) < (counts[$1], $1) }!
        }
        for tp in free {
            let index = leastLoaded(eligibleByTopic[tp.topic]!)
            target[index].append(tp)
            counts[index] += 1
            fresh.insert(tp)
        }

        var moved = true
        while moved {
            moved = false
            let byLoad = (0..<memberCount).sorted { (counts[$0], $1) > (counts[$1], $0) }
            search: for owner in byLoad {
                // Prefer moving what this round placed, so owned partitions stay put.
                let candidates = target[owner].enumerated().sorted { lhs, rhs in
                    (fresh.contains(lhs.element) ? 0 : 1, lhs.element) < (fresh.contains(rhs.element) ? 0 : 1, rhs.element)
                }
                for (position, tp) in candidates {
                    let receiver = leastLoaded(eligibleByTopic[tp.topic]!)
                    if counts[owner] > counts[receiver] + 1 {
                        target[owner].remove(at: position)
                        target[receiver].append(tp)
                        counts[owner] -= 1
                        counts[receiver] += 1
                        moved = true
                        break search
                    }
                }
            }
        }
        return target
    }
}

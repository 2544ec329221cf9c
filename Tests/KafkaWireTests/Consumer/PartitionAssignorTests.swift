import PropertyBased
import Testing
@testable import KafkaWire

private func tp(_ topic: String, _ partition: Int32) -> TopicPartition { TopicPartition(topic: topic, partition: partition) }

private func member(
    _ id: String, _ topics: [String], instance: String? = nil, owned: [TopicPartition] = [], generation: Int32 = -1
) -> AssignorMember {
    AssignorMember(
        memberId: id, groupInstanceId: instance,
        subscription: ConsumerProtocolSubscription(topics: topics, ownedPartitions: owned, generationId: generation)
    )
}

@Suite("Partition assignors")
struct PartitionAssignorTests {
    @Test("names and rebalance protocols match the Java client and librdkafka")
    func names() {
        #expect(RangeAssignor().name == "range")
        #expect(RoundRobinAssignor().name == "roundrobin")
        #expect(CooperativeStickyAssignor().name == "cooperative-sticky")
        #expect(RangeAssignor().rebalanceProtocol == .eager)
        #expect(RoundRobinAssignor().rebalanceProtocol == .eager)
        #expect(CooperativeStickyAssignor().rebalanceProtocol == .cooperative)
        #expect(tp("topic", 3).description == "topic-3")
        #expect(tp("a", 9) < tp("b", 0) && tp("a", 1) < tp("a", 2))
    }

    @Test("range: the RangeAssignor javadoc example")
    func rangeJavadoc() {
        let result = RangeAssignor().assign(
            members: [member("C1", ["t0", "t1"]), member("C0", ["t0", "t1"])], partitionsPerTopic: ["t0": 3, "t1": 3]
        )
        #expect(result == ["C0": [tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)], "C1": [tp("t0", 2), tp("t1", 2)]])
    }

    @Test("range: static members sort first by instance id, then dynamic ones by member id; unknown topics and idle members")
    func rangeOrder() {
        let result = RangeAssignor().assign(
            members: [member("a", ["t"]), member("z", ["t"], instance: "i1"), member("y", ["t"], instance: "i0"), member("b", ["gone"])],
            partitionsPerTopic: ["t": 4]
        )
        #expect(result == ["y": [tp("t", 0), tp("t", 1)], "z": [tp("t", 2)], "a": [tp("t", 3)], "b": []])
    }

    @Test("roundrobin: the RoundRobinAssignor javadoc examples")
    func roundRobinJavadoc() {
        let rr = RoundRobinAssignor()
        #expect(rr.assign(members: [member("C0", ["t0", "t1"]), member("C1", ["t0", "t1"])], partitionsPerTopic: ["t0": 3, "t1": 3])
            == ["C0": [tp("t0", 0), tp("t0", 2), tp("t1", 1)], "C1": [tp("t0", 1), tp("t1", 0), tp("t1", 2)]])
        #expect(rr.assign(
            members: [member("C2", ["t0", "t1", "t2"]), member("C0", ["t0"]), member("C1", ["t0", "t1"])],
            partitionsPerTopic: ["t0": 1, "t1": 2, "t2": 3]
        ) == ["C0": [tp("t0", 0)], "C1": [tp("t1", 0)], "C2": [tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)]])
        // Static members keep their share across new member ids.
        let statics = rr.assign(
            members: [member("C5", ["t0", "t1"], instance: "I0"), member("C3", ["t0", "t1"], instance: "I1"), member("C4", ["t0", "t1"], instance: "I2")],
            partitionsPerTopic: ["t0": 3, "t1": 3]
        )
        #expect(statics == ["C5": [tp("t0", 0), tp("t1", 0)], "C3": [tp("t0", 1), tp("t1", 1)], "C4": [tp("t0", 2), tp("t1", 2)]])
    }

    @Test("cooperative-sticky: a new group is balanced and complete in one round")
    func stickyFresh() {
        let result = CooperativeStickyAssignor().assign(
            members: [member("C0", ["t0", "t1"]), member("C1", ["t0", "t1"])], partitionsPerTopic: ["t0": 3, "t1": 3]
        )
        #expect(result["C0"]!.count == 3 && result["C1"]!.count == 3)
        #expect(Set(result.values.joined()).count == 6)
    }

    @Test("cooperative-sticky: a joining member's partitions are revoked first and handed over in the follow-up round")
    func stickyJoin() {
        let sticky = CooperativeStickyAssignor()
        let all = (0..<6).map { tp("t", Int32($0)) }
        let first = sticky.assign(
            members: [member("A", ["t"], owned: Array(all.prefix(3)), generation: 1), member("B", ["t"], owned: Array(all.suffix(3)), generation: 1),
                      member("C", ["t"])],
            partitionsPerTopic: ["t": 6]
        )
        // A and B each give one up; C gets nothing yet.
        #expect(first["A"]!.count == 2 && first["B"]!.count == 2 && first["C"] == [])
        let second = sticky.assign(
            members: [member("A", ["t"], owned: first["A"]!, generation: 2), member("B", ["t"], owned: first["B"]!, generation: 2),
                      member("C", ["t"], owned: [], generation: 2)],
            partitionsPerTopic: ["t": 6]
        )
        #expect(second["A"] == first["A"] && second["B"] == first["B"])
        #expect(second["C"]!.count == 2 && Set(second.values.joined()) == Set(all))
    }

    @Test("cooperative-sticky: claims resolve to the highest generation; equal-generation double claims are held back")
    func stickyGenerations() {
        let sticky = CooperativeStickyAssignor()
        // B's stale claim on t-0 loses to A's newer one; A keeps t-0 this round.
        let stale = sticky.assign(
            members: [member("A", ["t"], owned: [tp("t", 0)], generation: 5), member("B", ["t"], owned: [tp("t", 0), tp("t", 1)], generation: 3)],
            partitionsPerTopic: ["t": 2]
        )
        #expect(stale == ["A": [tp("t", 0)], "B": [tp("t", 1)]])
        // Two claims at one generation: nobody keeps t-0 this round.
        let double = sticky.assign(
            members: [member("A", ["t"], owned: [tp("t", 0)], generation: 4), member("B", ["t"], owned: [tp("t", 0)], generation: 4)],
            partitionsPerTopic: ["t": 2]
        )
        #expect(!double.values.joined().contains(tp("t", 0)))
        // v0/v1 subscriptions carry the generation in the Java assignor's user data.
        var legacy = member("B", ["t"], owned: [tp("t", 0)])
        legacy.subscription.userData = CooperativeStickyAssignor.subscriptionUserData(generation: 7)
        #expect(CooperativeStickyAssignor.generation(of: legacy.subscription) == 7)
        let fromUserData = sticky.assign(
            members: [member("A", ["t"], owned: [tp("t", 0)], generation: 6), legacy], partitionsPerTopic: ["t": 2]
        )
        #expect(fromUserData == ["A": [tp("t", 1)], "B": [tp("t", 0)]])
    }

    // MARK: properties over random groups

    @Test("range and roundrobin: every subscribed partition exactly once, to a subscriber; roundrobin balanced for equal subscriptions")
    func eagerProperties() async {
        await propertyCheck(count: 300, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            let group = RandomGroup(rng: &rng)
            for assignor in [RangeAssignor() as any PartitionAssignor, RoundRobinAssignor()] {
                let result = assignor.assign(members: group.members, partitionsPerTopic: group.partitionsPerTopic)
                group.checkExactlyOnce(result, assignor: assignor.name)
                if group.equalSubscriptions, assignor is RoundRobinAssignor { group.checkBalanced(result) }
            }
        }
    }

    @Test("cooperative-sticky: at most once, never straight from one owner to another, complete after the follow-up round, balanced, sticky")
    func stickyProperties() async {
        await propertyCheck(count: 500, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            var group = RandomGroup(rng: &rng)
            // Converge from nothing, checking every round.
            group.settle()
            if group.equalSubscriptions { group.checkBalanced(group.owned) } else { group.checkNoImprovingMove(group.owned) }

            // A member joins: the others give up only what the newcomer needs.
            var joined = group
            let newcomer = "m-new"
            joined.add(memberId: newcomer, topics: joined.equalSubscriptions ? group.topicsOf[group.members[0].memberId]! : Set(group.randomTopics(rng: &rng)))
            let joinRound = joined.round()
            if joined.equalSubscriptions {
                let revoked = joined.owned.reduce(0) { sum, entry in sum + Set(entry.value).subtracting(joinRound[entry.key] ?? []).count }
                let total = joined.partitionsPerTopic.filter { joined.subscribedTopics.contains($0.key) }.values.reduce(0) { $0 + Int($1) }
                let maxQuota = (total + joined.members.count - 1) / joined.members.count
                #expect(revoked <= maxQuota, "\(revoked) revoked for a newcomer whose quota is \(maxQuota)")
                joined.apply(joinRound)
                joined.checkExactlyOnce(joined.round(), assignor: "cooperative-sticky follow-up")
            }

            // A member leaves: everyone else keeps what they own.
            if group.members.count > 1 {
                var left = group
                left.remove(memberId: group.members[Int(rng.next() % UInt64(group.members.count))].memberId)
                let leaveRound = left.round()
                if left.equalSubscriptions {
                    for (memberId, owned) in left.owned {
                        #expect(Set(owned).isSubset(of: leaveRound[memberId]!), "\(memberId) lost partitions when another member left")
                    }
                    left.checkExactlyOnce(leaveRound, assignor: "cooperative-sticky after a leave")
                }
                left.apply(leaveRound)
                left.settle()
                if left.equalSubscriptions { left.checkBalanced(left.owned) }
            }
        }
    }
}

/// A random group: 1-8 members, 1-4 topics of 1-16 partitions, random subscriptions (equal for
/// about half the groups), and each member's owned partitions for the cooperative rounds.
private struct RandomGroup {
    var members: [AssignorMember] = []
    var partitionsPerTopic: [String: Int32] = [:]
    var topicsOf: [String: Set<String>] = [:]
    var owned: [String: [TopicPartition]] = [:]
    var generation: Int32 = -1

    init(rng: inout KafkaTestRandom) {
        let topicCount = 1 + Int(rng.next() % 4)
        for index in 0..<topicCount { partitionsPerTopic["t\(index)"] = Int32(1 + rng.next() % 16) }
        let equal = rng.bool()
        let shared = randomTopics(rng: &rng)
        for index in 0..<(1 + Int(rng.next() % 8)) {
            add(memberId: "m\(rng.next() % 1000)-\(index)", topics: equal ? Set(shared) : Set(randomTopics(rng: &rng)),
                instance: rng.chance(3) ? "i\(rng.next() % 100)" : nil)
        }
    }

    func randomTopics(rng: inout KafkaTestRandom) -> [String] {
        let topics = partitionsPerTopic.keys.sorted()
        let chosen = topics.filter { _ in rng.bool() }
        return chosen.isEmpty ? [topics[Int(rng.next() % UInt64(topics.count))]] : chosen
    }

    var equalSubscriptions: Bool { Set(topicsOf.values).count <= 1 }
    var subscribedTopics: Set<String> { topicsOf.values.reduce(into: Set()) { $0.formUnion($1) } }
    var allPartitions: Set<TopicPartition> {
        Set(subscribedTopics.flatMap { topic in (0..<partitionsPerTopic[topic]!).map { TopicPartition(topic: topic, partition: $0) } })
    }

    mutating func add(memberId: String, topics: Set<String>, instance: String? = nil) {
        topicsOf[memberId] = topics
        owned[memberId] = []
        members.append(AssignorMember(memberId: memberId, groupInstanceId: instance, subscription: ConsumerProtocolSubscription(topics: topics.sorted())))
    }

    mutating func remove(memberId: String) {
        members.removeAll { $0.memberId == memberId }
        topicsOf[memberId] = nil
        owned[memberId] = nil
    }

    /// One cooperative round from the current ownership, with its per-round invariants checked.
    func round() -> [String: [TopicPartition]] {
        let input = members.map { member in
            var member = member
            member.subscription.ownedPartitions = owned[member.memberId]!
            member.subscription.generationId = generation
            return member
        }
        let result = CooperativeStickyAssignor().assign(members: input, partitionsPerTopic: partitionsPerTopic)
        #expect(Set(result.keys) == Set(owned.keys))
        var seen = Set<TopicPartition>()
        for (memberId, partitions) in result {
            #expect(partitions == partitions.sorted())
            for partition in partitions {
                #expect(seen.insert(partition).inserted, "\(partition) assigned twice")
                #expect(topicsOf[memberId]!.contains(partition.topic), "\(partition) given to \(memberId), not subscribed")
                for (other, theirs) in owned where other != memberId {
                    #expect(!theirs.contains(partition), "\(partition) moves from \(other) to \(memberId) in one round")
                }
            }
        }
        return result
    }

    /// Members revoke what they lost and take what they got; the generation advances.
    mutating func apply(_ result: [String: [TopicPartition]]) {
        owned = result
        generation += 1
    }

    /// Rounds until one changes nothing and leaves nothing out (at most 8).
    mutating func settle() {
        for _ in 0..<8 {
            let result = round()
            let complete = Set(result.values.joined()) == allPartitions
            let unchanged = result == owned
            apply(result)
            if complete && unchanged { return }
        }
        Issue.record("cooperative-sticky did not settle in 8 rounds: \(members.map(\.memberId)) \(topicsOf) \(partitionsPerTopic)")
    }

    func checkExactlyOnce(_ result: [String: [TopicPartition]], assignor: String) {
        #expect(Set(result.keys) == Set(topicsOf.keys), "\(assignor): members missing")
        var count: [TopicPartition: Int] = [:]
        for (memberId, partitions) in result {
            #expect(partitions == partitions.sorted(), "\(assignor): unsorted")
            for partition in partitions {
                count[partition, default: 0] += 1
                #expect(topicsOf[memberId]!.contains(partition.topic), "\(assignor): \(partition) given to \(memberId), not subscribed")
            }
        }
        #expect(Set(count.keys) == allPartitions, "\(assignor): not every subscribed partition assigned")
        #expect(count.values.allSatisfy { $0 == 1 }, "\(assignor): a partition assigned more than once")
    }

    /// Unequal subscriptions: no partition could go to a member subscribed to its topic that
    /// holds at least two fewer partitions than its owner.
    func checkNoImprovingMove(_ result: [String: [TopicPartition]]) {
        for (owner, partitions) in result {
            for partition in partitions {
                for (other, theirs) in result where topicsOf[other]!.contains(partition.topic) {
                    #expect(partitions.count <= theirs.count + 1, "\(partition) could move from \(owner) to \(other): \(result.mapValues(\.count))")
                }
            }
        }
    }

    func checkBalanced(_ result: [String: [TopicPartition]]) {
        let counts = result.values.map(\.count)
        #expect((counts.max() ?? 0) - (counts.min() ?? 0) <= 1, "unbalanced: \(result.mapValues(\.count))")
    }
}

import Foundation
import KafkaWire
import LabTestSupport
import Synchronization
import Testing

/// Records each rebalance callback, to check revoke → commit ordering and ownership.
final class RebalanceLog: ConsumerRebalanceListener {
    private let events = Mutex<[String]>([])
    let commitOnRevoke: Bool

    init(commitOnRevoke: Bool = true) { self.commitOnRevoke = commitOnRevoke }

    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
        events.withLock { $0.append("revoked \(partitions.count)") }
        if commitOnRevoke { try? await consumer.commit() }
    }

    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
        events.withLock { $0.append("assigned \(partitions.count)") }
    }

    func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
        events.withLock { $0.append("lost \(partitions.count)") }
    }

    var all: [String] { events.withLock { $0 } }
}

/// A group member polling in the background, committing after each poll (at-least-once).
final class GroupMemberLoop: Sendable {
    let consumer: KafkaConsumer
    let listener: RebalanceLog
    private let records = Mutex<[ConsumerRecord]>([])
    private let failures = Mutex<[String]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(consumer: KafkaConsumer, listener: RebalanceLog) {
        self.consumer = consumer
        self.listener = listener
    }

    func start(topic: String) async throws {
        try await consumer.subscribe([topic], listener: listener)
        let started = Task { [self] in
            while !Task.isCancelled {
                do {
                    let batch = try await consumer.poll(timeout: .milliseconds(200))
                    if !batch.isEmpty {
                        self.records.withLock { $0 += batch }
                        try await consumer.commit()
                    }
                } catch KafkaConsumerError.commitFailed {
                    // The group moved on; the next poll rejoins and the records come again.
                } catch {
                    self.failures.withLock { $0.append("\(error)") }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        task.withLock { $0 = started }
    }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
        await consumer.close()
    }

    var consumed: [ConsumerRecord] { records.withLock { $0 } }
    var errors: [String] { failures.withLock { $0 } }
}

extension KafkaClientIntegrationSuites {
    @Suite("KafkaConsumer groups against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaConsumerGroupTests {
        static let cases: [(KafkaTestCluster, String)] = KafkaTestCluster.all.flatMap { cluster in
            [(cluster, "range"), (cluster, "roundrobin"), (cluster, "cooperative-sticky")]
        }

        static func assignor(_ name: String) -> any PartitionAssignor {
            switch name {
            case "roundrobin": return RoundRobinAssignor()
            case "cooperative-sticky": return CooperativeStickyAssignor()
            default: return RangeAssignor()
            }
        }

        /// How long a membership change may take to settle on `cluster`. librdkafka's mock
        /// coordinator holds every join round for the session timeout less a second (9 s here),
        /// and answers a follower's SyncGroup that arrives after the leader's with
        /// REBALANCE_IN_PROGRESS (a real broker hands it its assignment), so the follower must
        /// join again: when the leader's SyncGroup wins that race several rounds in a row, a
        /// change takes several 9-second rounds there.
        static func settleTimeout(on cluster: KafkaTestCluster) -> Duration {
            cluster.isMock ? .seconds(120) : .seconds(40)
        }

        /// Waits until the members' assignments are disjoint, cover every partition, and each
        /// member holds some; returns them.
        static func settle(_ members: [GroupMemberLoop], partitions: Int, timeout: Duration) async -> [[TopicPartition]] {
            let deadline = ContinuousClock.now + timeout
            var assignments: [[TopicPartition]] = []
            while ContinuousClock.now < deadline {
                assignments = []
                for member in members { assignments.append(await member.consumer.assignment) }
                let all = assignments.flatMap { $0 }
                if all.count == partitions, Set(all).count == partitions, assignments.allSatisfy({ !$0.isEmpty }) { return assignments }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return assignments
        }

        @Test("three members share the partitions as they join and leave; every partition owned once; commits honoured", arguments: cases)
        func threeMemberRebalance(cluster: KafkaTestCluster, assignorName: String) async throws {
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-group-\(assignorName)")
            let group = KafkaTestCluster.uniqueTopic("lab-group-\(assignorName)")
            let partitionCount = 6
            try await cluster.createTopic(admin, topic, partitions: Int32(partitionCount))
            try await cluster.produce((0..<600).map { ProducerRecord(topic: topic, partition: Int32($0 % partitionCount), key: nil, value: "v\($0)") })

            func member() -> GroupMemberLoop {
                GroupMemberLoop(consumer: cluster.makeConsumer(group: group, assignors: [Self.assignor(assignorName)]), listener: RebalanceLog())
            }
            let a = member(), b = member(), c = member()
            let settleTimeout = Self.settleTimeout(on: cluster)
            try await a.start(topic: topic)
            var settled = await Self.settle([a], partitions: partitionCount, timeout: settleTimeout)
            #expect(settled.map(\.count) == [6], "one member owns everything: \(settled)")

            try await b.start(topic: topic)
            settled = await Self.settle([a, b], partitions: partitionCount, timeout: settleTimeout)
            #expect(settled.map(\.count).sorted() == [3, 3], "two members split 3/3: \(settled)")

            try await c.start(topic: topic)
            settled = await Self.settle([a, b, c], partitions: partitionCount, timeout: settleTimeout)
            #expect(settled.map(\.count) == [2, 2, 2], "three members split 2/2/2: \(settled)")

            await c.stop()
            settled = await Self.settle([a, b], partitions: partitionCount, timeout: settleTimeout)
            #expect(settled.map(\.count).sorted() == [3, 3], "after one leaves, 3/3 again: \(settled)")

            // Everything produced was consumed by someone (at least once).
            let deadline = ContinuousClock.now + .seconds(20)
            var values: Set<String> = []
            while ContinuousClock.now < deadline {
                values = Set((a.consumed + b.consumed + c.consumed).compactMap(\.valueString))
                if values.count == 600 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(values.count == 600)
            #expect(a.errors.isEmpty && b.errors.isEmpty && c.errors.isEmpty, "\(a.errors.prefix(2)) \(b.errors.prefix(2)) \(c.errors.prefix(2))")
            await a.stop()
            await b.stop()
            #expect(a.listener.all.contains { $0.hasPrefix("revoked") } || b.listener.all.contains { $0.hasPrefix("revoked") })

            // The group committed every partition's end: a newcomer finds nothing left.
            let checker = cluster.makeConsumer(group: group)
            let committed = try await checker.committed((0..<Int32(partitionCount)).map { TopicPartition(topic, $0) })
            #expect(committed.count == partitionCount)
            #expect(committed.values.allSatisfy { $0 == 100 }, "\(committed)")
            await checker.close()
        }
    }
}

extension KafkaClientIntegrationSuites.KafkaConsumerGroupTests {
    /// A member with a client of its own and the range assignor, heartbeating every 300 ms.
    static func member(of group: String, on cluster: KafkaTestCluster, sessionTimeout: Duration, maxPollInterval: Duration) -> KafkaConsumer {
        KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
            groupID: group, autoOffsetReset: .earliest, enableAutoCommit: false, sessionTimeout: sessionTimeout,
            heartbeatInterval: .milliseconds(300), maxPollInterval: maxPollInterval, fetchMaxWait: .milliseconds(100),
            assignors: [RangeAssignor()]))
    }

    @Test("a member that stops polling past max.poll.interval leaves; its partitions go to the others; it rejoins at its next poll",
          arguments: KafkaTestCluster.all)
    func maxPollIntervalLeave(cluster: KafkaTestCluster) async throws {
        let admin = cluster.makeClient()
        defer { Task { await admin.close() } }
        let topic = KafkaTestCluster.uniqueTopic("lab-group-maxpoll")
        let group = KafkaTestCluster.uniqueTopic("lab-group-maxpoll")
        try await cluster.createTopic(admin, topic, partitions: 4)
        let slow = Self.member(of: group, on: cluster, sessionTimeout: .seconds(10), maxPollInterval: .seconds(3))
        let steady = GroupMemberLoop(consumer: cluster.makeConsumer(group: group, assignors: [RangeAssignor()]), listener: RebalanceLog())
        let slowListener = RebalanceLog(commitOnRevoke: false)
        try await slow.subscribe([topic], listener: slowListener)
        // The slow member joins and polls for a while, then the steady one joins.
        for _ in 0..<10 { _ = try await slow.poll(timeout: .milliseconds(200)) }
        try await steady.start(topic: topic)
        let deadline = ContinuousClock.now + .seconds(40)
        var split = false
        while !split, ContinuousClock.now < deadline {
            _ = try await slow.poll(timeout: .milliseconds(200))
            let mine = await slow.assignment.count
            let theirs = await steady.consumer.assignment.count
            split = mine == 2 && theirs == 2
        }
        #expect(split, "the two members never split the 4 partitions 2/2")
        // Stop polling the slow member: after max.poll.interval it leaves and the steady one takes all.
        var tookOver = false
        let takeOverDeadline = ContinuousClock.now + .seconds(30)
        while !tookOver, ContinuousClock.now < takeOverDeadline {
            try await Task.sleep(for: .milliseconds(300))
            tookOver = await steady.consumer.assignment.count == 4
        }
        #expect(tookOver, "the steady member did not take over the stalled member's partitions")
        #expect(await slow.groupMember.generation == -1, "the stalled member still thinks it is in the group")
        #expect(await slow.assignment.isEmpty, "the stalled member still holds partitions")
        // Its listener hears of the loss in its next poll, in the application's task, not before.
        #expect(!slowListener.all.contains { $0.hasPrefix("lost") }, "callbacks ran outside poll: \(slowListener.all)")
        // Polling again rejoins.
        var back = false
        let rejoinDeadline = ContinuousClock.now + .seconds(40)
        while !back, ContinuousClock.now < rejoinDeadline {
            _ = try await slow.poll(timeout: .milliseconds(200))
            back = await slow.assignment.count == 2
        }
        #expect(back, "the stalled member did not get partitions back after polling again")
        let events = slowListener.all
        let lostAt = events.firstIndex(of: "lost 2"), reassignedAt = events.lastIndex(of: "assigned 2")
        #expect(lostAt != nil && reassignedAt != nil && lostAt! < reassignedAt!, "callbacks: \(events)")
        await steady.stop()
        await slow.close()
    }

    @Test("a member whose application keeps every cooperative thread busy past session.timeout stays in the group: heartbeats do not wait for the pool",
          .enabled(if: CooperativePoolBlocker.isSerialRun, Comment(rawValue: CooperativePoolBlocker.serialRunOnlyReason)),
          arguments: KafkaTestCluster.all)
    func heartbeatsOutliveABusyPool(cluster: KafkaTestCluster) async throws {
        let admin = cluster.makeClient()
        defer { Task { await admin.close() } }
        let topic = KafkaTestCluster.uniqueTopic("lab-group-busy")
        let group = KafkaTestCluster.uniqueTopic("lab-group-busy")
        try await cluster.createTopic(admin, topic, partitions: 2)
        let sessionTimeout = Duration.seconds(6)
        let consumer = Self.member(of: group, on: cluster, sessionTimeout: sessionTimeout, maxPollInterval: .seconds(60))
        let listener = RebalanceLog(commitOnRevoke: false)
        try await consumer.subscribe([topic], listener: listener)
        let joinDeadline = ContinuousClock.now + .seconds(30)
        while await consumer.assignment.count < 2, ContinuousClock.now < joinDeadline {
            _ = try await consumer.poll(timeout: .milliseconds(200))
        }
        #expect(await consumer.assignment.count == 2, "the member never got both partitions")
        let before = await consumer.groupMember

        // The application's own work keeps every cooperative thread busy for the session
        // timeout and 3 s more.
        await CooperativePoolBlocker.block(until: ContinuousClock.now + sessionTimeout + .seconds(3))
        // Back to polling: a member the coordinator dropped learns it at its next heartbeat.
        let pollUntil = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < pollUntil { _ = try await consumer.poll(timeout: .milliseconds(200)) }
        let after = await consumer.groupMember
        #expect(after.memberID == before.memberID && after.generation == before.generation,
                "the member was dropped and rejoined: \(before) -> \(after)")
        #expect(listener.all == ["assigned 2"], "rebalance callbacks: \(listener.all)")
        await consumer.close()
    }
}

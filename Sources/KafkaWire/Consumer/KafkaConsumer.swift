import DequeModule
import Metrics
import WireCore

/// A Kafka consumer: `assign` partitions, or `subscribe` to topics as a member of a group
/// (JoinGroup/SyncGroup with the configured assignors, heartbeats in the background, rebalance
/// callbacks from inside `poll`); `poll` returns records from the current positions,
/// fetching ahead from every leader at once; offsets are committed explicitly or every
/// `autoCommitInterval` from `poll` (at-least-once).
///
/// Positions, watermarks and the lag metric are per partition. Errors are `KafkaConsumerError`.
public actor KafkaConsumer {
    public nonisolated let configuration: KafkaConsumerConfiguration
    public nonisolated let client: KafkaClient
    private let ownsClient: Bool

    struct PartitionState {
        /// The next offset to hand out; nil until known (committed offset or reset).
        var position: Int64?
        /// The position fell out of the log (OFFSET_OUT_OF_RANGE): reset by policy, not to the
        /// committed offset, which may be the very offset that is gone.
        var outOfRange = false
        var watermarks = PartitionWatermarks()
        var paused = false
    }

    private var partitions: [TopicPartition: PartitionState] = [:]
    private var subscription: [String] = []
    private var listener: (any ConsumerRebalanceListener)?
    private var membership = ConsumerGroupMembership()
    private var rebalanceProtocol: RebalanceProtocol = .eager

    /// One fetch's decoded records of one partition; those before `next` were handed out.
    struct BufferedRecords {
        let topicPartition: TopicPartition
        let records: [ConsumerRecord]
        var next = 0
    }

    /// Decoded records not yet handed out, oldest first, per partition in fetch order (never
    /// an exhausted entry).
    private var buffered = Deque<BufferedRecords>()
    /// Per node, the fetch on the wire and the positions it asked for.
    private var fetchesInFlight: [Int32: [TopicPartition: Int64]] = [:]
    private var fetchFailure: KafkaConsumerError?
    private let wakeup = AsyncWakeup()
    var heartbeatTask: Task<Void, Never>?
    /// Partitions the heartbeats found lost (fenced, session or poll timeout), for the
    /// listener at the next poll.
    var lostAwaitingListener: Set<TopicPartition> = []
    private var lastPoll = ContinuousClock.now
    private var nextAutoCommit = ContinuousClock.now
    private var closed = false
    private var polling = false

    private let consumedCounter: Counter
    private let lagGauge: Gauge

    /// `metricsFactory` receives `kafka_consumer_records_consumed_total` and
    /// `kafka_consumer_records_lag_max` (labels `client_id`, `group`).
    public init(client: KafkaClient, configuration: KafkaConsumerConfiguration, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.client = client
        self.configuration = configuration
        ownsClient = false
        let dimensions = [("client_id", client.configuration.clientID), ("group", configuration.groupID ?? "")]
        consumedCounter = Counter(label: "kafka_consumer_records_consumed_total", dimensions: dimensions, factory: metricsFactory)
        lagGauge = Gauge(label: "kafka_consumer_records_lag_max", dimensions: dimensions, factory: metricsFactory)
    }

    /// A consumer with its own client for `bootstrapServers` (closed with the consumer).
    public init(bootstrapServers: String, clientID: String = "reliability-lab-consumer",
                configuration: KafkaConsumerConfiguration, metricsFactory: any MetricsFactory = MetricsSystem.factory) throws(KafkaConsumerError) {
        let client: KafkaClient
        do {
            client = try KafkaClient(bootstrapServers: bootstrapServers, clientID: clientID, requestTimeout: configuration.requestTimeout)
        } catch {
            throw .client(error)
        }
        self.client = client
        self.configuration = configuration
        ownsClient = true
        let dimensions = [("client_id", clientID), ("group", configuration.groupID ?? "")]
        consumedCounter = Counter(label: "kafka_consumer_records_consumed_total", dimensions: dimensions, factory: metricsFactory)
        lagGauge = Gauge(label: "kafka_consumer_records_lag_max", dimensions: dimensions, factory: metricsFactory)
    }

    // MARK: Assignment

    /// Consumes exactly these partitions, outside any group membership. Positions start at
    /// the group's committed offsets (with a `groupID`) or by `autoOffsetReset`.
    public func assign(_ assignment: [TopicPartition]) throws(KafkaConsumerError) {
        guard subscription.isEmpty else { throw .invalidConfiguration("assign after subscribe: unsubscribe first") }
        let wanted = Set(assignment)
        for topicPartition in partitions.keys where !wanted.contains(topicPartition) { drop(topicPartition) }
        for topicPartition in wanted where partitions[topicPartition] == nil { partitions[topicPartition] = PartitionState() }
    }

    /// Joins the group (`groupID` required) for `topics`; the partitions come from the group's
    /// assignment at the next `poll`, and `listener` hears of every change.
    public func subscribe(_ topics: [String], listener: (any ConsumerRebalanceListener)? = nil) throws(KafkaConsumerError) {
        guard configuration.groupID != nil else { throw .invalidConfiguration("subscribe needs a group id") }
        guard !topics.isEmpty else { throw .invalidConfiguration("subscribe needs at least one topic") }
        guard !configuration.assignors.isEmpty else { throw .invalidConfiguration("no partition assignor configured") }
        if subscription.isEmpty { for topicPartition in partitions.keys { drop(topicPartition) } }
        subscription = Array(Set(topics)).sorted()
        self.listener = listener
        membership.rejoinNeeded = true
    }

    /// The partitions currently assigned.
    public var assignment: [TopicPartition] { partitions.keys.sorted() }

    /// The member id and generation in the group ("" and -1 outside one).
    public var groupMember: (memberID: String, generation: Int32) { (membership.memberID, membership.generation) }

    /// What a transactional producer needs to commit this consumer's offsets in its
    /// transaction (`KafkaProducer.sendOffsetsToTransaction`): the group, and the generation
    /// and member id, so that a member the group has moved on from cannot commit.
    public var groupMetadata: ConsumerGroupMetadata {
        ConsumerGroupMetadata(
            groupID: configuration.groupID ?? "", generationID: membership.generation, memberID: membership.memberID,
            groupInstanceID: configuration.groupInstanceID)
    }

    /// The next offset `poll` hands out for the partition (nil until known).
    public func position(_ topicPartition: TopicPartition) -> Int64? { partitions[topicPartition]?.position }

    /// High watermark, last stable offset and log start offset as the last fetch reported.
    public func watermarks(_ topicPartition: TopicPartition) -> PartitionWatermarks? { partitions[topicPartition]?.watermarks }

    /// Moves the position; records already fetched for the partition are dropped.
    public func seek(_ topicPartition: TopicPartition, to offset: Int64) throws(KafkaConsumerError) {
        guard partitions[topicPartition] != nil else { throw .notAssigned(topicPartition) }
        partitions[topicPartition]!.position = offset
        buffered.removeAll { $0.topicPartition == topicPartition }
    }

    public func seekToBeginning(_ topicPartitions: [TopicPartition]) async throws(KafkaConsumerError) {
        try await reset(topicPartitions, to: .earliest)
    }

    public func seekToEnd(_ topicPartitions: [TopicPartition]) async throws(KafkaConsumerError) {
        try await reset(topicPartitions, to: .latest)
    }

    public func pause(_ topicPartitions: [TopicPartition]) {
        for tp in topicPartitions where partitions[tp] != nil { partitions[tp]!.paused = true }
        buffered.removeAll { topicPartitions.contains($0.topicPartition) }
    }

    public func resume(_ topicPartitions: [TopicPartition]) {
        for tp in topicPartitions where partitions[tp] != nil { partitions[tp]!.paused = false }
    }

    private func drop(_ topicPartition: TopicPartition) {
        partitions[topicPartition] = nil
        buffered.removeAll { $0.topicPartition == topicPartition }
    }

    // MARK: Membership state (for the group extension)

    var membershipCoordinator: Int32? { membership.coordinator }
    func setCoordinator(_ node: Int32?) { membership.coordinator = node }
    var needsRejoin: Bool { membership.rejoinNeeded }
    func requestRejoin() { membership.rejoinNeeded = true; wakeup.signal() }
    var currentRebalanceProtocol: RebalanceProtocol { rebalanceProtocol }
    var ownedPartitions: Set<TopicPartition> { membership.owned }
    var memberGeneration: Int32 { membership.generation }
    var currentMemberID: String { membership.memberID }
    var isStableMember: Bool { membership.isStable }
    var rebalanceListener: (any ConsumerRebalanceListener)? { listener }
    var subscribedTopics: [String] { subscription }
    var lastPollInstant: ContinuousClock.Instant { lastPoll }

    func resetMembership() -> Set<TopicPartition> { membership.reset() }

    func setJoined(memberID: String, generation: Int32, leader: String, protocolName: String, rebalance: RebalanceProtocol) {
        membership.memberID = memberID
        membership.generation = generation
        membership.leaderID = leader
        membership.protocolName = protocolName
        rebalanceProtocol = rebalance
    }

    /// Takes the new assignment: partitions that stay keep their positions; new ones start
    /// from their committed offsets at the next poll.
    func applyAssignment(_ assignment: Set<TopicPartition>) -> (revoked: [TopicPartition], added: [TopicPartition]) {
        let outcome = membership.apply(assignment: assignment, protocol: rebalanceProtocol)
        for topicPartition in outcome.added where partitions[topicPartition] == nil { partitions[topicPartition] = PartitionState() }
        // Eager: everything was revoked before joining; drop what is not assigned any more.
        for topicPartition in partitions.keys where !assignment.contains(topicPartition) && !outcome.revoked.contains(topicPartition) {
            drop(topicPartition)
        }
        return outcome
    }

    /// Positions of `topicPartitions` that can be committed.
    func committable(_ topicPartitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for topicPartition in topicPartitions { if let position = partitions[topicPartition]?.position { offsets[topicPartition] = position } }
        return offsets
    }

    /// Stops consuming partitions given back to the group.
    func revoke(_ topicPartitions: [TopicPartition]) {
        for topicPartition in topicPartitions { drop(topicPartition) }
        membership.owned.subtract(topicPartitions)
    }

    func forgetPartition(_ topicPartition: TopicPartition) {
        drop(topicPartition)
        membership.owned.remove(topicPartition)
    }

    // MARK: Polling

    /// Records from the current positions, at most `maxPollRecords`; waits up to `timeout`
    /// for some to arrive (an empty result means none came). Rejoins the group first when it
    /// rebalanced, running the listener's callbacks here.
    public func poll(timeout: Duration = .seconds(1)) async throws(KafkaConsumerError) -> [ConsumerRecord] {
        guard !closed else { throw .closed }
        guard !polling else { throw .concurrentPoll }
        polling = true
        defer { polling = false }
        lastPoll = .now
        let deadline = NanoTime.now() + timeout
        if !subscription.isEmpty {
            try await ensureGroupActive(until: deadline)
            if membership.rejoinNeeded { return [] }
            if configuration.enableAutoCommit, ContinuousClock.now >= nextAutoCommit {
                nextAutoCommit = .now + configuration.autoCommitInterval
                autoCommitInBackground()
            }
        }
        try await ensurePositionsOrRetryLater()
        while true {
            if let failure = fetchFailure {
                fetchFailure = nil
                throw failure
            }
            if !buffered.isEmpty {
                let records = takeBuffered()
                startFetches()
                return records
            }
            startFetches()
            if NanoTime.now() >= deadline { return [] }
            let missingPositions = partitions.values.contains { $0.position == nil }
            await wakeup.wait(until: missingPositions ? min(deadline, NanoTime.now() + configuration.retryBackoff) : deadline)
            if membership.rejoinNeeded && !subscription.isEmpty { return [] }
            if partitions.values.contains(where: { $0.position == nil }) { try await ensurePositionsOrRetryLater() }
        }
    }

    private func takeBuffered() -> [ConsumerRecord] {
        var budget = configuration.maxPollRecords
        var available = 0
        for entry in buffered {
            available += entry.records.count - entry.next
            if available >= budget { break }
        }
        let total = min(budget, available)
        var records: [ConsumerRecord] = []
        while budget > 0, let entry = buffered.first {
            let end = min(entry.records.count, entry.next + budget)
            budget -= end - entry.next
            // Records of a partition revoked since they were fetched are stale (seek and pause
            // drop the partition's buffered records). Offsets only increase within an entry and
            // may jump past transaction markers and aborted batches, so a record counts when it
            // is at or after the position.
            if var position = partitions[entry.topicPartition]?.position {
                let start = position
                // A whole entry that continues the position: its array becomes the result as
                // it is, without a copy per record.
                if records.isEmpty, entry.next == 0, end == entry.records.count, entry.records[0].offset >= position {
                    buffered.removeFirst()
                    records = entry.records
                    partitions[entry.topicPartition]!.position = entry.records[end - 1].offset + 1
                    continue
                }
                records.reserveCapacity(total)
                for index in entry.next..<end where entry.records[index].offset >= position {
                    records.append(entry.records[index])
                    position = entry.records[index].offset + 1
                }
                if position != start { partitions[entry.topicPartition]!.position = position }
            }
            if end == entry.records.count {
                buffered.removeFirst()
            } else {
                buffered[buffered.startIndex].next = end
            }
        }
        consumedCounter.increment(by: records.count)
        updateLag()
        return records
    }

    /// End offset − position for a partition whose both are known: the end is the LSO under
    /// read_committed (once a fetch reported one), else the high watermark.
    private func lag(of state: PartitionState) -> Int64? {
        guard let position = state.position else { return nil }
        let end = configuration.isolation == .readCommitted && state.watermarks.lastStableOffset >= 0
            ? state.watermarks.lastStableOffset : state.watermarks.highWatermark
        return end >= 0 ? end - position : nil
    }

    private func updateLag() {
        lagGauge.record(max(0, maxLag))
    }

    /// The largest lag (end offset − position) among the assigned partitions, as the metric reports.
    public var maxLag: Int64 {
        partitions.values.compactMap(lag(of:)).max() ?? 0
    }

    /// Starts a fetch to every leader that has none on the wire, for its fetchable partitions
    /// without buffered records.
    private func startFetches() {
        let withBuffered = Set(buffered.lazy.map(\.topicPartition))
        let metadata = client.metadataSnapshot
        var perNode: [Int32: [TopicPartition: Int64]] = [:]
        var leaderless = false
        for (topicPartition, state) in partitions {
            guard let position = state.position, !state.paused, !withBuffered.contains(topicPartition) else { continue }
            guard let leader = metadata.topics[topicPartition.topic]?.partitions[topicPartition.partition]?.leaderID, leader >= 0 else {
                leaderless = true
                continue
            }
            guard fetchesInFlight[leader] == nil else { continue }
            perNode[leader, default: [:]][topicPartition] = position
        }
        if leaderless { refreshMetadataInBackground() }
        // A fetch of only caught-up partitions waits fetch.max.wait on the broker, and the
        // node takes no other fetch meanwhile: while the node's other partitions still have
        // records buffered (their fetch comes when those are handed out), hold it back so
        // that it goes out with them — records it brings would be handed out after the
        // buffered ones anyway.
        if !withBuffered.isEmpty {
            for (node, positions) in perNode where positions.allSatisfy({ isCaughtUp($0.key, at: $0.value) }) {
                let nodeHasBuffered = withBuffered.contains {
                    metadata.topics[$0.topic]?.partitions[$0.partition]?.leaderID == node
                }
                if nodeHasBuffered { perNode[node] = nil }
            }
        }
        for (node, positions) in perNode {
            fetchesInFlight[node] = positions
            let request = fetchRequest(positions)
            Task { await self.runFetch(request, positions: positions, node: node) }
        }
    }

    /// Whether the last fetch said the partition has nothing past `position` (high watermark,
    /// or the last stable offset under read_committed).
    private func isCaughtUp(_ topicPartition: TopicPartition, at position: Int64) -> Bool {
        guard let watermarks = partitions[topicPartition]?.watermarks, watermarks.highWatermark >= 0 else { return false }
        let end = configuration.isolation == .readCommitted && watermarks.lastStableOffset >= 0
            ? watermarks.lastStableOffset : watermarks.highWatermark
        return position >= end
    }

    private func fetchRequest(_ positions: [TopicPartition: Int64]) -> FetchRequest {
        let byTopic = Dictionary(grouping: positions.keys, by: \.topic)
        return FetchRequest(
            replicaId: -1,
            maxWaitMs: configuration.fetchMaxWait.kafkaMilliseconds,
            minBytes: configuration.fetchMinBytes, maxBytes: configuration.fetchMaxBytes,
            isolationLevel: configuration.isolation.rawValue,
            topics: byTopic.keys.sorted().map { topic in
                FetchRequest.FetchTopic(topic: topic, partitions: byTopic[topic]!.sorted().map { tp in
                    FetchRequest.FetchPartition(
                        partition: tp.partition, currentLeaderEpoch: -1, fetchOffset: positions[tp]!, logStartOffset: -1,
                        partitionMaxBytes: configuration.maxPartitionFetchBytes)
                })
            })
    }

    private nonisolated func runFetch(_ request: FetchRequest, positions: [TopicPartition: Int64], node: Int32) async {
        let timeout = configuration.requestTimeout + configuration.fetchMaxWait
        do {
            // v13+ names topics by id only; v4…12 carry names.
            let response: FetchResponse = try await client.send(to: .node(node), versions: 4...12, timeout: timeout) { _ in request }
            await fetchCompleted(node: node, positions: positions, response: response)
        } catch {
            await fetchFailed(node: node, error: error)
        }
    }

    private func fetchFailed(node: Int32, error: KafkaClientError) async {
        fetchesInFlight[node] = nil
        if error.retryDisposition == .fail { fetchFailure = .client(error) }
        refreshMetadataInBackground()
        // Not at once: a broker that is down would be asked in a tight loop.
        Task {
            try? await Task.sleep(for: configuration.retryBackoff)
            wakeup.signal()
        }
    }

    private func fetchCompleted(node: Int32, positions: [TopicPartition: Int64], response: FetchResponse) {
        fetchesInFlight[node] = nil
        defer { wakeup.signal() }
        let topLevel = KafkaErrorCode(response.errorCode)
        if topLevel.isError {
            if topLevel.retryDisposition == .fail { fetchFailure = .group(topLevel, "Fetch from node \(node)") }
            return
        }
        var refresh = false
        for topic in response.responses {
            for data in topic.partitions {
                let topicPartition = TopicPartition(topic.topic, data.partitionIndex)
                // Sought, paused or revoked while the fetch was out: its answer is stale.
                guard let requested = positions[topicPartition], var state = partitions[topicPartition],
                      state.position == requested, !state.paused else { continue }
                let code = KafkaErrorCode(data.errorCode)
                switch code {
                case .none:
                    break
                case .offsetOutOfRange:
                    state.position = nil
                    state.outOfRange = true
                    partitions[topicPartition] = state
                    continue
                default:
                    if KafkaErrorCode.metadataInvalidating.contains(code) || code.isRetriable {
                        refresh = true
                    } else {
                        fetchFailure = .group(code, "Fetch \(topicPartition) from node \(node)")
                    }
                    continue
                }
                state.watermarks = PartitionWatermarks(
                    highWatermark: data.highWatermark, lastStableOffset: data.lastStableOffset, logStartOffset: data.logStartOffset)
                if let bytes = data.records, !bytes.isEmpty {
                    do {
                        let decoded = try FetchedRecordsDecoder.decode(
                            bytes, topicPartition: topicPartition, fetchOffset: requested, isolation: configuration.isolation,
                            abortedTransactions: data.abortedTransactions)
                        if !decoded.records.isEmpty {
                            buffered.append(BufferedRecords(topicPartition: topicPartition, records: decoded.records))
                        }
                        // Past markers and aborted batches that deliver nothing; records move
                        // the position as they are handed out.
                        if decoded.records.isEmpty { state.position = decoded.nextOffset }
                    } catch {
                        fetchFailure = error
                    }
                }
                partitions[topicPartition] = state
            }
        }
        updateLag()
        if refresh { refreshMetadataInBackground() }
    }

    private var metadataRefreshRunning = false

    private func refreshMetadataInBackground() {
        guard !metadataRefreshRunning else { return }
        metadataRefreshRunning = true
        let topics = Array(Set(partitions.keys.map(\.topic)).union(subscription))
        Task {
            _ = try? await self.client.refreshMetadata(topics: topics)
            self.metadataRefreshed()
        }
    }

    private func metadataRefreshed() {
        metadataRefreshRunning = false
        wakeup.signal()
    }

    // MARK: Positions

    /// `ensurePositions`, except that failures a retry may fix (a topic not yet in metadata,
    /// a coordinator moving) leave the positions unknown for the next round instead of failing `poll`.
    private func ensurePositionsOrRetryLater() async throws(KafkaConsumerError) {
        do {
            try await ensurePositions()
        } catch {
            switch error {
            case let .client(failure) where failure.retryDisposition != .fail: return
            case let .group(code, _) where ConsumerGroupMembership.reaction(to: code) != .fail: return
            default: throw error
            }
        }
    }

    /// Gives every partition without a position one: the committed offset, else the reset policy.
    private func ensurePositions() async throws(KafkaConsumerError) {
        let missing = partitions.filter { $0.value.position == nil }.map(\.key).sorted()
        guard !missing.isEmpty else { return }
        if client.metadataSnapshot.topics.isEmpty || missing.contains(where: { client.metadataSnapshot.topics[$0.topic] == nil }) {
            do {
                try await client.refreshMetadata(topics: Array(Set(missing.map(\.topic))))
            } catch {
                throw .client(error)
            }
        }
        var needReset = missing.filter { partitions[$0]?.outOfRange == true }
        let toLookUp = missing.filter { partitions[$0]?.outOfRange != true }
        if configuration.groupID != nil, !toLookUp.isEmpty {
            let committed = try await committed(toLookUp)
            for topicPartition in toLookUp {
                // The partition may have been revoked while the offsets were asked for.
                guard let state = partitions[topicPartition], state.position == nil else { continue }
                if let offset = committed[topicPartition], offset >= 0 {
                    partitions[topicPartition]!.position = offset
                } else {
                    needReset.append(topicPartition)
                }
            }
        } else if configuration.groupID == nil {
            needReset = missing
        }
        if !needReset.isEmpty { try await reset(needReset, to: configuration.autoOffsetReset) }
    }

    private func reset(_ topicPartitions: [TopicPartition], to strategy: OffsetResetStrategy) async throws(KafkaConsumerError) {
        guard strategy != .none else {
            if let first = topicPartitions.first { throw .noOffset(first) }
            return
        }
        let admin = KafkaAdmin(client: client)
        for (topic, entries) in Dictionary(grouping: topicPartitions, by: \.topic) {
            let offsets: [Int32: KafkaAdmin.PartitionOffset]
            do {
                offsets = try await admin.listOffsets(
                    topic: topic, partitions: entries.map(\.partition), spec: strategy == .earliest ? .earliest : .latest,
                    isolation: configuration.isolation == .readCommitted ? .readCommitted : .readUncommitted)
            } catch {
                throw .client(error)
            }
            for entry in entries {
                guard partitions[entry] != nil, let offset = offsets[entry.partition]?.offset else { continue }
                partitions[entry]!.position = offset
                partitions[entry]!.outOfRange = false
                buffered.removeAll { $0.topicPartition == entry }
            }
        }
    }

    // MARK: Offsets

    /// The group's committed offsets for `topicPartitions` (absent: none committed).
    public func committed(_ topicPartitions: [TopicPartition]) async throws(KafkaConsumerError) -> [TopicPartition: Int64] {
        guard let group = configuration.groupID else { throw .invalidConfiguration("committed offsets need a group id") }
        let byTopic = Dictionary(grouping: topicPartitions, by: \.topic)
        let attempts = retryAttempts
        for attempt in 1...attempts {
            let coordinator = try await findCoordinator()
            let response: OffsetFetchResponse
            do throws(KafkaClientError) {
                response = try await client.send(to: .node(coordinator)) { version in
                    let topics = byTopic.keys.sorted()
                    if version >= 8 {
                        return OffsetFetchRequest(
                            groups: [.init(groupId: group, topics: topics.map { .init(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition)) })],
                            requireStable: true)
                    }
                    return OffsetFetchRequest(
                        groupId: group, topics: topics.map { .init(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition)) },
                        requireStable: version >= 7)
                }
            } catch {
                if attempt < attempts, error.retryDisposition != .fail { membership.coordinator = nil; await backoff(); continue }
                throw .client(error)
            }
            var result: [TopicPartition: Int64] = [:]
            var failure: KafkaErrorCode = KafkaErrorCode(response.errorCode)
            if let groupResponse = response.groups.first {
                failure = KafkaErrorCode(groupResponse.errorCode)
                for topic in groupResponse.topics {
                    for partition in topic.partitions {
                        let code = KafkaErrorCode(partition.errorCode)
                        if code.isError { failure = code }
                        result[TopicPartition(topic.name, partition.partitionIndex)] = partition.committedOffset
                    }
                }
            } else {
                for topic in response.topics {
                    for partition in topic.partitions {
                        let code = KafkaErrorCode(partition.errorCode)
                        if code.isError { failure = code }
                        result[TopicPartition(topic.name, partition.partitionIndex)] = partition.committedOffset
                    }
                }
            }
            if failure.isError {
                // UNSTABLE_OFFSET_COMMIT (88): a transaction holds offsets; wait for it to end.
                let reaction = ConsumerGroupMembership.reaction(to: failure)
                if attempt < attempts, reaction == .retry || reaction == .findCoordinator || failure == KafkaErrorCode(88) {
                    if reaction == .findCoordinator { membership.coordinator = nil }
                    await backoff()
                    continue
                }
                throw .group(failure, "OffsetFetch for group \(group)")
            }
            return result.filter { $0.value >= 0 }
        }
        throw .group(.coordinatorNotAvailable, "OffsetFetch for group \(group)")
    }

    /// Commits the current positions of every assigned partition (or `offsets`), waiting for
    /// the coordinator's answer. In a group, a commit after the group rebalanced away from
    /// this member fails with `commitFailed`.
    public func commit(_ offsets: [TopicPartition: Int64]? = nil) async throws(KafkaConsumerError) {
        guard let group = configuration.groupID else { throw .invalidConfiguration("commit needs a group id") }
        let toCommit = offsets ?? partitions.compactMapValues(\.position)
        guard !toCommit.isEmpty else { return }
        let byTopic = Dictionary(grouping: toCommit.keys, by: \.topic)
        let attempts = retryAttempts
        for attempt in 1...attempts {
            let coordinator = try await findCoordinator()
            let inGroup = !subscription.isEmpty
            let (memberID, generation) = inGroup ? (membership.memberID, membership.generation) : ("", -1)
            let response: OffsetCommitResponse
            do throws(KafkaClientError) {
                let request = OffsetCommitRequest(
                    groupId: group, generationIdOrMemberEpoch: generation, memberId: memberID,
                    groupInstanceId: configuration.groupInstanceID, retentionTimeMs: -1,
                    topics: byTopic.keys.sorted().map { topic in
                        .init(name: topic, partitions: byTopic[topic]!.sorted().map {
                            .init(partitionIndex: $0.partition, committedOffset: toCommit[$0]!, committedLeaderEpoch: -1, committedMetadata: "")
                        })
                    })
                response = try await client.send(request, to: .node(coordinator))
            } catch {
                if attempt < attempts, error.retryDisposition != .fail { membership.coordinator = nil; await backoff(); continue }
                throw .client(error)
            }
            var failure = KafkaErrorCode.none
            for topic in response.topics {
                for partition in topic.partitions where KafkaErrorCode(partition.errorCode).isError {
                    failure = KafkaErrorCode(partition.errorCode)
                }
            }
            guard failure.isError else { return }
            switch ConsumerGroupMembership.reaction(to: failure) {
            case .retry where attempt < attempts:
                await backoff()
            case .findCoordinator where attempt < attempts:
                membership.coordinator = nil
                await backoff()
            case .rejoin:
                membership.rejoinNeeded = true
                throw .commitFailed("the group is rebalancing (\(failure.name)); poll again to rejoin")
            case .resetAndRejoin:
                membership.rejoinNeeded = true
                throw .commitFailed("this member is no longer in generation \(generation) of group \(group) (\(failure.name))")
            default:
                throw .group(failure, "OffsetCommit for group \(group)")
            }
        }
        throw .group(.coordinatorNotAvailable, "OffsetCommit for group \(group)")
    }

    /// Commits in the background; `completion` hears the outcome.
    public func commitAsync(_ offsets: [TopicPartition: Int64]? = nil,
                            completion: (@Sendable (KafkaConsumerError?) -> Void)? = nil) {
        let snapshot = offsets ?? partitions.compactMapValues(\.position)
        Task {
            do throws(KafkaConsumerError) {
                try await self.commit(snapshot)
                completion?(nil)
            } catch {
                completion?(error)
            }
        }
    }

    private func autoCommitInBackground() {
        let snapshot = partitions.compactMapValues(\.position)
        guard !snapshot.isEmpty else { return }
        Task { try? await self.commit(snapshot) }
    }

    /// Attempts for coordinator requests: enough, at the backoff, to span the request timeout
    /// (a coordinator moving or loading answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for a while).
    private var retryAttempts: Int {
        max(3, Int(configuration.requestTimeout / max(configuration.retryBackoff, .milliseconds(10))) / 4)
    }

    private func backoff() async {
        try? await Task.sleep(for: configuration.retryBackoff * 2)
    }

    // MARK: Closing

    /// Commits (with auto-commit on), tells the listener the partitions are revoked, leaves
    /// the group, and stops. Records not yet polled are dropped.
    public func close() async {
        guard !closed else { return }
        if !subscription.isEmpty, membership.isStable {
            if configuration.enableAutoCommit { try? await commit() }
            let owned = partitions.keys.sorted()
            if !owned.isEmpty, let listener { await listener.partitionsRevoked(owned, consumer: self) }
            await leaveGroup(reason: "the consumer is closing")
        } else if configuration.enableAutoCommit, configuration.groupID != nil, !partitions.isEmpty {
            try? await commit()
        }
        closed = true
        heartbeatTask?.cancel()
        heartbeatTask = nil
        partitions = [:]
        buffered = []
        if ownsClient { await client.close() }
    }
}

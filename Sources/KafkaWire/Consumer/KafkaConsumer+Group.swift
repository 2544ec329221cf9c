import WireCore

/// Group membership: finding the coordinator, JoinGroup/SyncGroup (computing the assignment
/// when this member leads), heartbeats, leaving, and the rebalance callbacks. The rules for
/// coordinator answers are in `ConsumerGroupMembership`.
extension KafkaConsumer {
    static let consumerProtocolType = "consumer"

    /// The group's coordinator node, looked up once and again after it moved.
    func findCoordinator() async throws(KafkaConsumerError) -> Int32 {
        if let coordinator = membershipCoordinator { return coordinator }
        guard let group = configuration.groupID else { throw .invalidConfiguration("no group id") }
        do {
            let node = try await KafkaAdmin(client: client).coordinator(forGroup: group)
            setCoordinator(node)
            return node
        } catch {
            throw .client(error)
        }
    }

    /// Joins (or rejoins) until this member holds a stable assignment, or `deadline` passed
    /// (the poll's timeout): then the rebalance goes on at the next poll, as in the Java
    /// consumer, where a poll returns empty-handed while its group is still rebalancing.
    func ensureGroupActive(until deadline: NanoTime) async throws(KafkaConsumerError) {
        await reportLostInBackground()
        var first = true
        while needsRejoin {
            if !first, NanoTime.now() >= deadline { return }
            first = false
            try await revokeBeforeJoiningIfEager()
            do throws(KafkaConsumerError) {
                try await joinAndSync()
            } catch {
                // An answer that cannot be read (librdkafka's mock sends a null assignment with
                // SyncGroup errors) ends this round only: join again.
                if case .client(.decoding) = error {
                    try? await Task.sleep(for: configuration.retryBackoff)
                    continue
                }
                guard case let .group(code, _) = error else { throw error }
                switch ConsumerGroupMembership.reaction(to: code) {
                case .retry, .rejoin:
                    try? await Task.sleep(for: configuration.retryBackoff)
                case .findCoordinator:
                    setCoordinator(nil)
                    try? await Task.sleep(for: configuration.retryBackoff)
                case .resetAndRejoin:
                    await lose()
                case .fail:
                    throw error
                }
            }
        }
        startHeartbeats()
    }

    /// Eager protocols give everything back before joining: commit, tell the listener, forget.
    private func revokeBeforeJoiningIfEager() async throws(KafkaConsumerError) {
        guard currentRebalanceProtocol == .eager, !ownedPartitions.isEmpty, memberGeneration >= 0 else { return }
        let owned = ownedPartitions.sorted()
        if configuration.enableAutoCommit { try? await commit() }
        if let listener = rebalanceListener { await listener.partitionsRevoked(owned, consumer: self) }
        revoke(owned)
    }

    /// The partitions are someone else's already (fenced, session expired): no commit.
    func lose() async {
        loseInBackground(resetMembership())
        await reportLostInBackground()
    }

    /// The same, found out by the heartbeats: the partitions are forgotten at once (nothing
    /// more is fetched or committed for them) and the listener hears of it at the next poll,
    /// in the application's task, as in the Java consumer, whose callbacks run inside poll.
    /// (The heartbeat task prefers an event loop, which a listener's code must not hold.)
    func loseInBackground(_ lost: Set<TopicPartition>) {
        for topicPartition in lost { forgetPartition(topicPartition) }
        lostAwaitingListener.formUnion(lost)
    }

    private func reportLostInBackground() async {
        guard !lostAwaitingListener.isEmpty else { return }
        let lost = lostAwaitingListener.sorted()
        lostAwaitingListener = []
        if let listener = rebalanceListener { await listener.partitionsLost(lost, consumer: self) }
    }

    private func joinAndSync() async throws(KafkaConsumerError) {
        guard let group = configuration.groupID else { throw .invalidConfiguration("no group id") }
        let coordinator = try await findCoordinator()
        let topics = subscribedTopics
        let owned = ownedPartitions.sorted()
        let generation = memberGeneration
        var protocols: [JoinGroupRequest.JoinGroupRequestProtocol] = []
        for assignor in configuration.assignors {
            let subscription = ConsumerProtocolSubscription(
                topics: topics, userData: assignor.rebalanceProtocol == .cooperative ? CooperativeStickyAssignor.subscriptionUserData(generation: generation) : nil,
                ownedPartitions: owned, generationId: generation)
            do {
                protocols.append(.init(name: assignor.name, metadata: try subscription.encoded()))
            } catch {
                throw .invalidConfiguration("cannot encode the subscription: \(error)")
            }
        }
        let sessionTimeoutMs = configuration.sessionTimeout.kafkaMilliseconds
        let rebalanceTimeoutMs = configuration.maxPollInterval.kafkaMilliseconds
        // JoinGroup waits for every member up to the rebalance timeout.
        let joinTimeout = configuration.maxPollInterval + configuration.requestTimeout
        var memberID = currentMemberID
        var joined: JoinGroupResponse?
        for _ in 0..<3 {
            let request = JoinGroupRequest(
                groupId: group, sessionTimeoutMs: sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeoutMs, memberId: memberID,
                groupInstanceId: configuration.groupInstanceID, protocolType: Self.consumerProtocolType, protocols: protocols)
            let response: JoinGroupResponse
            do {
                response = try await client.send(request, to: .node(coordinator), timeout: joinTimeout)
            } catch {
                throw Self.groupError(error, "JoinGroup")
            }
            let code = KafkaErrorCode(response.errorCode)
            if code == KafkaErrorCode(79) {  // MEMBER_ID_REQUIRED: join again with the id given
                memberID = response.memberId
                continue
            }
            if code.isError {
                if code == .unknownMemberId { _ = resetMembership() }
                throw .group(code, "JoinGroup for group \(group)")
            }
            joined = response
            break
        }
        guard let joined else { throw .group(.unknownServerError, "JoinGroup for group \(group) kept asking for a member id") }
        let protocolName = joined.protocolName ?? ""
        guard let assignor = configuration.assignors.first(where: { $0.name == protocolName }) else {
            throw .group(.inconsistentGroupProtocol, "the coordinator chose assignor '\(protocolName)', which this consumer does not have")
        }
        setJoined(memberID: joined.memberId, generation: joined.generationId, leader: joined.leader, protocolName: protocolName,
                  rebalance: assignor.rebalanceProtocol)

        var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
        if joined.leader == joined.memberId && !joined.skipAssignment {
            assignments = try await computeAssignments(joined.members, assignor: assignor)
        }
        let sync = SyncGroupRequest(
            groupId: group, generationId: joined.generationId, memberId: joined.memberId,
            groupInstanceId: configuration.groupInstanceID, protocolType: Self.consumerProtocolType, protocolName: protocolName,
            assignments: assignments)
        let synced: SyncGroupResponse
        do {
            synced = try await client.send(sync, to: .node(coordinator), timeout: joinTimeout)
        } catch {
            throw Self.groupError(error, "SyncGroup")
        }
        let code = KafkaErrorCode(synced.errorCode)
        if code.isError { throw .group(code, "SyncGroup for group \(group)") }
        let assignment: ConsumerProtocolAssignment
        do {
            assignment = synced.assignment.isEmpty ? ConsumerProtocolAssignment() : try ConsumerProtocolAssignment.decode(synced.assignment)
        } catch {
            throw .group(.inconsistentGroupProtocol, "undecodable assignment from the group leader: \(error)")
        }
        let subscribed = Set(topics)
        let (revoked, added) = applyAssignment(Set(assignment.assignedPartitions.filter { subscribed.contains($0.topic) }))
        if !revoked.isEmpty {
            if configuration.enableAutoCommit { try? await commit(committable(revoked)) }
            if let listener = rebalanceListener { await listener.partitionsRevoked(revoked, consumer: self) }
            revoke(revoked)
        }
        if let listener = rebalanceListener { await listener.partitionsAssigned(added, consumer: self) }
    }

    /// The leader's job: every member's subscription in, one assignment per member out.
    private func computeAssignments(
        _ members: [JoinGroupResponse.JoinGroupResponseMember], assignor: any PartitionAssignor
    ) async throws(KafkaConsumerError) -> [SyncGroupRequest.SyncGroupRequestAssignment] {
        var assignorMembers: [AssignorMember] = []
        var allTopics: Set<String> = []
        for member in members {
            let subscription: ConsumerProtocolSubscription
            do {
                subscription = try ConsumerProtocolSubscription.decode(member.metadata)
            } catch {
                throw .group(.inconsistentGroupProtocol, "undecodable subscription of member \(member.memberId): \(error)")
            }
            allTopics.formUnion(subscription.topics)
            assignorMembers.append(AssignorMember(memberId: member.memberId, groupInstanceId: member.groupInstanceId, subscription: subscription))
        }
        let metadata: KafkaMetadataCache
        do {
            metadata = try await client.refreshMetadata(topics: allTopics.sorted())
        } catch {
            throw .client(error)
        }
        var partitionsPerTopic: [String: Int32] = [:]
        for topic in allTopics {
            if let entry = metadata.topics[topic], !entry.partitions.isEmpty { partitionsPerTopic[topic] = Int32(entry.partitions.count) }
        }
        let plan = assignor.assign(members: assignorMembers, partitionsPerTopic: partitionsPerTopic)
        var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
        for member in assignorMembers {
            let assignment = ConsumerProtocolAssignment(assignedPartitions: plan[member.memberId] ?? [])
            do {
                assignments.append(.init(memberId: member.memberId, assignment: try assignment.encoded()))
            } catch {
                throw .group(.inconsistentGroupProtocol, "cannot encode an assignment: \(error)")
            }
        }
        return assignments
    }

    /// Sends LeaveGroup so the group rebalances now rather than after the session timeout,
    /// and leaves the membership either way (also when the request cannot be sent); returns
    /// the partitions this member held.
    @discardableResult
    func leaveGroup(reason: String) async -> Set<TopicPartition> {
        if let group = configuration.groupID, !currentMemberID.isEmpty, let coordinator = membershipCoordinator {
            let memberID = currentMemberID
            let instanceID = configuration.groupInstanceID
            _ = try? await client.send(to: .node(coordinator), as: LeaveGroupResponse.self) { version -> LeaveGroupRequest in
                version >= 3
                    ? LeaveGroupRequest(groupId: group, members: [.init(memberId: memberID, groupInstanceId: instanceID, reason: reason)])
                    : LeaveGroupRequest(groupId: group, memberId: memberID)
            }
        }
        return resetMembership()
    }

    // MARK: Heartbeats

    /// The heartbeats run in a task that prefers an event loop, and so does this actor's code
    /// while that task runs it: they do not wait for a turn on the cooperative pool, which
    /// the application's own work may keep busy past `sessionTimeout` (the Java client sends
    /// them from a thread of its own for the same reason). Only `maxPollInterval` bounds how
    /// long the application may go without polling.
    func startHeartbeats() {
        guard heartbeatTask == nil else { return }
        let interval = configuration.heartbeatInterval
        heartbeatTask = Task(executorPreference: EventLoopGroup.shared.next()) { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.heartbeatOnce()
            }
        }
    }

    /// One heartbeat, or leaving the group when `poll` has not been called within
    /// `maxPollInterval` (the application is stuck: its partitions should go to others).
    func heartbeatOnce() async {
        guard let group = configuration.groupID, isStableMember, let coordinator = membershipCoordinator else { return }
        if ContinuousClock.now - lastPollInstant > configuration.maxPollInterval {
            loseInBackground(await leaveGroup(reason: "consumer poll timeout has expired (max.poll.interval)"))
            return
        }
        let request = HeartbeatRequest(
            groupId: group, generationId: memberGeneration, memberId: currentMemberID, groupInstanceId: configuration.groupInstanceID)
        let response: HeartbeatResponse
        do {
            response = try await client.send(request, to: .node(coordinator))
        } catch {
            if error.retryDisposition != .fail { setCoordinator(nil) }
            return
        }
        let code = KafkaErrorCode(response.errorCode)
        guard code.isError else { return }
        switch ConsumerGroupMembership.reaction(to: code) {
        case .rejoin: requestRejoin()
        case .resetAndRejoin: loseInBackground(resetMembership())
        case .findCoordinator: setCoordinator(nil)
        case .retry, .fail: break
        }
    }

    static func groupError(_ error: KafkaClientError, _ api: String) -> KafkaConsumerError {
        if let code = error.errorCode { return .group(code, api) }
        if error.retryDisposition != .fail { return .group(.coordinatorNotAvailable, "\(api): \(error)") }
        return .client(error)
    }
}


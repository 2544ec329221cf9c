import Foundation
import KafkaWire
import Testing
import WireCore

extension KafkaClientIntegrationSuites {
    @Suite("KafkaAdmin against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaAdminTests {
        /// Produces `count` records to one partition at its leader, acks=all.
        static func produce(_ client: KafkaClient, topic: String, partition: Int32, count: Int) async throws {
            let leader = try await client.leader(for: topic, partition: partition)
            let topicID = await client.metadata.topics[topic]?.topicID ?? .zero
            var builder = RecordBatchBuilder()
            for index in 0..<count {
                builder.append(key: Array("k\(index)".utf8), value: Array("v\(index)".utf8), timestamp: 1_700_000_000_000 + Int64(index))
            }
            let batch = try builder.build()
            let response: ProduceResponse = try await client.send(to: .node(leader.nodeID)) { version in
                ProduceRequest(acks: -1, timeoutMs: 10_000, topicData: [
                    .init(name: version <= 12 ? topic : "", topicId: version >= 13 ? topicID : .zero,
                          partitionData: [.init(index: partition, records: batch)]),
                ])
            }
            #expect(response.responses.first?.partitionResponses.first?.errorCode == 0)
        }

        @Test("describe the cluster and list topics", arguments: KafkaTestCluster.all)
        func describeClusterAndListTopics(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let admin = KafkaAdmin(client: client)
            let description = try await admin.describeCluster()
            #expect(!description.brokers.isEmpty)
            if cluster.isMock { #expect(description.brokers.count == 3) }
            let topic = KafkaTestCluster.uniqueTopic("lab-admin-list")
            try await cluster.createTopic(client, topic, partitions: 1)
            #expect(try await admin.listTopics().contains(topic))
            if !cluster.isMock { try await admin.deleteTopics([topic]) }
        }

        @Test("earliest and latest offsets per partition; latest moves with produced records", arguments: KafkaTestCluster.all)
        func listOffsets(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let admin = KafkaAdmin(client: client)
            let topic = KafkaTestCluster.uniqueTopic("lab-admin-offsets")
            try await cluster.createTopic(client, topic, partitions: 2)

            let earliest = try await admin.listOffsets(topic: topic, spec: .earliest)
            let latest = try await admin.listOffsets(topic: topic, spec: .latest)
            #expect(earliest.keys.sorted() == [0, 1])
            #expect(latest.keys.sorted() == [0, 1])
            #expect(earliest[0]?.offset == 0)

            try await Self.produce(client, topic: topic, partition: 0, count: 3)
            try await Self.produce(client, topic: topic, partition: 0, count: 2)
            let moved = try await admin.listOffsets(topic: topic, spec: .latest)
            let untouched = try #require(moved[1]?.offset)
            let latestAfter = try #require(moved[0]?.offset)
            let latestBefore = try #require(latest[0]?.offset)
            // Kafka and the mock answer the high watermark (the offset after the last record).
            // Tansu's watermarks are off (design.md): after 5 records on a fresh partition it
            // answers 4, the offset of the last record, so for Tansu only the move is asserted.
            if cluster.isTansu {
                #expect(latestAfter > latestBefore, "latest before \(latestBefore) after \(latestAfter)")
            } else {
                #expect(latestAfter - latestBefore == 5, "latest before \(latestBefore) after \(latestAfter)")
            }
            #expect(untouched == latest[1]?.offset)
            let stillEarliest = try await admin.listOffsets(topic: topic, partitions: [0], spec: .earliest)
            #expect(stillEarliest[0]?.offset == earliest[0]?.offset)
            // read_committed: with no open transaction the LSO equals the high watermark (neither
            // peer models aborted transactions, so nothing stronger is asserted here).
            let committed = try await admin.listOffsets(topic: topic, partitions: [0], spec: .latest, isolation: .readCommitted)
            #expect(committed[0]?.offset == latestAfter)

            await #expect(throws: KafkaClientError.self) {
                _ = try await admin.listOffsets(topic: topic, partitions: [9], spec: .latest)
            }
            if !cluster.isMock { try await admin.deleteTopics([topic]) }
        }

        @Test("NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH are retried after a metadata refresh",
              .enabled(if: KafkaMockControl.baseURL != nil, "needs librdkafka's mock control API (LAB_KAFKA_MOCK_CONTROL)"),
              arguments: KafkaTestCluster.all.filter(\.isMock))
        func retriesInjectedErrors(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let admin = KafkaAdmin(client: client)
            let topic = KafkaTestCluster.uniqueTopic("lab-admin-retry")
            try await cluster.createTopic(client, topic, partitions: 1)
            // The mock fails the next ListOffsets requests with these codes, then answers normally.
            try KafkaMockControl.post("/errors?api=\(ApiKey.listOffsets.rawValue)&codes=6,74")
            let offsets = try await admin.listOffsets(topic: topic, spec: .latest)
            #expect(offsets[0]?.offset == 0)
            // A non-retriable code is not retried and is named.
            try KafkaMockControl.post("/errors?api=\(ApiKey.listOffsets.rawValue)&codes=29")
            do {
                _ = try await admin.listOffsets(topic: topic, spec: .latest)
                Issue.record("TOPIC_AUTHORIZATION_FAILED was not reported")
            } catch {
                #expect(error.errorCode == KafkaErrorCode(29), "\(error)")
                #expect(error.description.contains("TOPIC_AUTHORIZATION_FAILED") && error.description.contains(topic), "\(error)")
            }
        }

        @Test("create with configs, describe configs, delete (not the mock: no CreateTopics/DeleteTopics there)",
              arguments: KafkaTestCluster.all.filter { !$0.isMock })
        func createDescribeDelete(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let admin = KafkaAdmin(client: client)
            let topic = KafkaTestCluster.uniqueTopic("lab-admin-create")
            let created = try await admin.createTopic(topic, partitions: 2, replicationFactor: 1, configs: ["retention.ms": "3600000"])
            #expect(created.name == topic)
            // A second create is a typed error naming the topic and TOPIC_ALREADY_EXISTS.
            do {
                try await admin.createTopic(topic, partitions: 2, replicationFactor: 1)
                Issue.record("second create succeeded")
            } catch {
                #expect(error.errorCode == .topicAlreadyExists, "\(error)")
                #expect(error.description.contains(topic))
            }
            let configs = try await admin.describeConfigs(topic: topic)
            if let retention = configs["retention.ms"] {
                #expect(retention.value == "3600000")
            }
            try await admin.deleteTopics([topic])
            var gone = false
            for _ in 0..<30 where !gone {
                gone = try await !admin.listTopics().contains(topic)
                if !gone { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(gone)
        }

        @Test("list groups and describe an unknown group", arguments: KafkaTestCluster.all)
        func groups(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let admin = KafkaAdmin(client: client)
            do {
                _ = try await admin.listGroups()
            } catch {
                // librdkafka's mock does not implement ListGroups: a typed error says so.
                guard cluster.isMock, case .unsupportedApi(.listGroups, _) = error else { throw error }
            }
            let group = "lab-admin-group-\(UInt32.random(in: 0...UInt32.max))"
            do {
                let described = try await admin.describeGroups([group])
                // Kafka answers an unknown group as Dead with no members.
                #expect(described.first?.members.isEmpty == true)
            } catch {
                if cluster.isMock, case .unsupportedApi(.describeGroups, _) = error {
                    return  // librdkafka's mock does not implement DescribeGroups either.
                }
                // Some peers answer GROUP_ID_NOT_FOUND (69) for a group that never existed.
                #expect(error.errorCode != nil, "\(error)")
            }
        }
    }
}

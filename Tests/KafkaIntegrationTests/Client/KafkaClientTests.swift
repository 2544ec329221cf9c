import Foundation
import KafkaWire
import Testing
import WireCore

extension KafkaClientIntegrationSuites {
    @Suite("KafkaClient against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
    struct KafkaClientTests {
        @Test("bootstrap and metadata list the brokers", arguments: KafkaTestCluster.all)
        func bootstrapListsBrokers(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let metadata = try await client.bootstrap()
            #expect(!metadata.brokers.isEmpty)
            if cluster.isMock { #expect(metadata.brokers.count == 3) }
            // Every broker the cluster names is reachable and negotiates on its own connection.
            for id in metadata.brokers.keys.sorted() {
                let versions = try await client.versions(for: .node(id))
                #expect(versions.version(for: .metadata) != nil, "node \(id)")
            }
        }

        @Test("a created topic shows its partitions with leaders; unknown topics are typed errors", arguments: KafkaTestCluster.all)
        func createdTopicHasLeaders(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-client-meta")
            try await cluster.createTopic(client, topic, partitions: 3)
            let partitions = try await client.partitions(of: topic)
            #expect(partitions.map(\.index) == [0, 1, 2])
            let brokers = await client.metadata.brokers
            for partition in partitions {
                let leader = try await client.leader(for: topic, partition: partition.index)
                #expect(brokers[leader.nodeID] != nil)
                #expect(partition.replicas.contains(partition.leaderID) || partition.replicas.isEmpty)
            }
            if cluster.isTansu || cluster.name == "kafka" {
                try await KafkaAdmin(client: client).deleteTopics([topic])
            }
            let missing = KafkaTestCluster.uniqueTopic("lab-client-missing")
            await #expect(throws: KafkaClientError.self) { _ = try await client.leader(for: missing, partition: 0) }
        }

        @Test("a broker taken down fails with a typed connection error and metadata refresh recovers",
              .enabled(if: KafkaMockControl.baseURL != nil, "needs librdkafka's mock control API (LAB_KAFKA_MOCK_CONTROL)"),
              arguments: KafkaTestCluster.all.filter(\.isMock))
        func brokerDownAndUp(cluster: KafkaTestCluster) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            try await client.bootstrap()
            let before: MetadataResponse = try await client.send(to: .node(2)) { version in
                MetadataRequest(topics: [], allowAutoTopicCreation: version < 4)
            }
            #expect(before.brokers.count == 3)

            try KafkaMockControl.post("/brokers/2/down")
            var upAgain = false
            defer { if !upAgain { _ = try? KafkaMockControl.post("/brokers/2/up") } }
            // The broker may need a moment to drop the open connection.
            var failure: KafkaClientError?
            for _ in 0..<20 where failure == nil {
                do {
                    let _: MetadataResponse = try await client.send(to: .node(2), timeout: .seconds(2)) { version in
                        MetadataRequest(topics: [], allowAutoTopicCreation: version < 4)
                    }
                } catch {
                    failure = error
                }
                if failure == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let error = try #require(failure)
            #expect(error.isConnectionError, "\(error)")
            #expect(error.description.contains("node 2") || error.description.contains(":"), "\(error)")
            // Other brokers still serve; metadata can be refreshed while node 2 is down.
            let during = try await client.withRetries { try await client.refreshMetadata(topics: nil) }
            #expect(!during.brokers.isEmpty)

            try KafkaMockControl.post("/brokers/2/up")
            upAgain = true
            let after: MetadataResponse = try await client.withRetries(refreshing: []) {
                try await client.send(to: .node(2)) { version in MetadataRequest(topics: [], allowAutoTopicCreation: version < 4) }
            }
            #expect(after.brokers.count == 3)
            let metadata = try await client.refreshMetadata(topics: nil)
            #expect(metadata.brokers.count == 3)
        }

        @Test("metadata is refreshed periodically at the max age", arguments: KafkaTestCluster.all)
        func periodicRefresh(cluster: KafkaTestCluster) async throws {
            let client = KafkaClient(configuration: .init(
                bootstrapServers: cluster.bootstrap.map { KafkaBootstrapServer(host: $0.host, port: $0.port) },
                requestTimeout: .seconds(10), metadataMaxAge: .milliseconds(200)))
            defer { Task { await client.close() } }
            let first = try #require(try await client.bootstrap().updatedAt)
            await client.startPeriodicMetadataRefresh()
            var refreshed = false
            for _ in 0..<30 where !refreshed {
                try await Task.sleep(for: .milliseconds(100))
                if let updated = await client.metadata.updatedAt, updated > first { refreshed = true }
            }
            #expect(refreshed)
        }

        @Test("an unreachable bootstrap list is a typed error naming each server")
        func unreachableBootstrap() async throws {
            let client = KafkaClient(configuration: .init(
                bootstrapServers: [.init(host: "127.0.0.1", port: 1), .init(host: "127.0.0.1", port: 2)],
                requestTimeout: .seconds(2), retry: .init(maxAttempts: 1)))
            do {
                try await client.bootstrap()
                Issue.record("bootstrap to closed ports succeeded")
            } catch {
                guard case let .noBootstrapServerReachable(reasons) = error else { Issue.record("\(error)"); return }
                #expect(reasons.count == 2)
                #expect(error.isConnectionError)
            }
        }
    }
}

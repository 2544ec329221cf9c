import Foundation
import KafkaWire
import Testing
import WireCore

/// The generated codecs against real brokers: every response decodes consuming all its bytes,
/// and what it decodes to survives our own encode/decode (re-encoded bytes may be shorter: a
/// broker may send tagged fields at their default values, which we omit).
@Suite("Kafka codecs against real brokers", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
struct KafkaCodecInteropTests {
    struct Broker {
        let connection: KafkaBrokerConnection
        let versions: KafkaApiVersionTable

        static func connect(_ cluster: KafkaTestCluster) async throws -> Broker {
            try await connect(host: cluster.bootstrap[0].host, port: cluster.bootstrap[0].port)
        }

        static func connect(host: String, port: Int) async throws -> Broker {
            let connection = try await KafkaBrokerConnection.connect(.init(host: host, port: port))
            let outcome = try await ApiVersionsNegotiation.negotiate(connection, clientSoftwareName: "reliability-lab-tests")
            let response = outcome.response
            #expect(response.errorCode == 0)
            return Broker(connection: connection, versions: KafkaApiVersionTable(broker: response.apiKeys))
        }

        func send<Request: KafkaTestRequest, Response: KafkaTestResponse>(
            _ key: ApiKey, _ request: Request, as: Response.Type, version: Int16? = nil
        ) async throws -> Response? {
            guard let version = version ?? versions.version(for: key) else { return nil }
            return try await Broker.send(connection, key, version, request, as: Response.self)
        }

        static func send<Request: KafkaTestRequest, Response: KafkaTestResponse>(
            _ connection: KafkaBrokerConnection, _ key: ApiKey, _ version: Int16, _ request: Request, as: Response.Type,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws -> Response {
            let body = try await connection.send(
                apiKey: key.rawValue, apiVersion: version, apiName: "\(key)", flexible: key.isFlexible(version)
            ) { writer in try request.encode(into: &writer, version: version) }
            let response = try Response.decode(body, version: version)
            let again = try Response.decode(try response.encoded(version: version, capacity: body.count), version: version)
            #expect(again == response, "\(key) v\(version)", sourceLocation: sourceLocation)
            return response
        }
    }

    @Test("ApiVersions negotiation and Metadata at every version both sides speak", arguments: KafkaTestCluster.all)
    func metadataAtEveryVersion(cluster: KafkaTestCluster) async throws {
        let broker = try await Broker.connect(cluster)
        defer { broker.connection.close() }
        let highest = try #require(broker.versions.version(for: .metadata))
        for version in ApiKey.metadata.supportedVersions where version <= highest {
            let request = MetadataRequest(topics: version >= 1 ? nil : [])
            let response = try #require(try await broker.send(.metadata, request, as: MetadataResponse.self, version: version))
            #expect(!response.brokers.isEmpty, "v\(version)")
        }
    }

    @Test("cluster, coordinator, groups and producer-id requests", arguments: KafkaTestCluster.all)
    func adminRequests(cluster: KafkaTestCluster) async throws {
        let broker = try await Broker.connect(cluster)
        defer { broker.connection.close() }
        _ = try await broker.send(.describeCluster, DescribeClusterRequest(), as: DescribeClusterResponse.self)
        if let version = broker.versions.version(for: .findCoordinator) {
            let request = version >= 4
                ? FindCoordinatorRequest(keyType: 0, coordinatorKeys: ["lab-codec-interop"])
                : FindCoordinatorRequest(key: "lab-codec-interop", keyType: 0)
            _ = try await broker.send(.findCoordinator, request, as: FindCoordinatorResponse.self)
        }
        _ = try await broker.send(.listGroups, ListGroupsRequest(), as: ListGroupsResponse.self)
        if let response = try await broker.send(
            .initProducerId, InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: 60_000), as: InitProducerIdResponse.self
        ) {
            #expect(response.errorCode == 0 && response.producerId >= 0)
        }
    }

    @Test("create a topic, produce, list offsets, fetch the records back, delete it", arguments: KafkaTestCluster.all)
    func produceAndFetch(cluster: KafkaTestCluster) async throws {
        let broker = try await Broker.connect(cluster)
        defer { broker.connection.close() }
        let topic = "lab-codec-interop-\(UInt32.random(in: 0...UInt32.max))"
        guard let created = try await broker.send(
            .createTopics, CreateTopicsRequest(topics: [.init(name: topic, numPartitions: 1, replicationFactor: 1)], timeoutMs: 10_000),
            as: CreateTopicsResponse.self
        ) else { return }
        guard created.topics.first?.errorCode == 0 else {
            // librdkafka's mock has no CreateTopics; the codecs were still exercised.
            return
        }
        var topicId = created.topics.first?.topicId ?? .zero
        if topicId == .zero, let metadata = try await broker.send(.metadata, MetadataRequest(topics: [.init(name: topic)]), as: MetadataResponse.self) {
            topicId = metadata.topics.first?.topicId ?? .zero
        }

        // Produce, ListOffsets and Fetch go to the partition's leader (on a multi-broker
        // cluster it need not be the bootstrap server).
        var leader: Broker?
        for _ in 0..<50 where leader == nil {
            if let metadata = try await broker.send(.metadata, MetadataRequest(topics: [.init(name: topic)]), as: MetadataResponse.self),
               let id = metadata.topics.first?.partitions.first?.leaderId, id >= 0,
               let node = metadata.brokers.first(where: { $0.nodeId == id }) {
                leader = try await Broker.connect(host: node.host, port: Int(node.port))
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let partitionLeader = try #require(leader, "no leader for \(topic)")
        defer { partitionLeader.connection.close() }

        var builder = RecordBatchBuilder()
        for index in 0..<3 { builder.append(key: Array("k\(index)".utf8), value: Array("value-\(index)".utf8), timestamp: 1_700_000_000_000) }
        let batch = try builder.build()
        let produceVersion = try #require(partitionLeader.versions.version(for: .produce))
        let produce = ProduceRequest(acks: -1, timeoutMs: 10_000, topicData: [
            .init(name: produceVersion <= 12 ? topic : "", topicId: produceVersion >= 13 ? topicId : .zero,
                  partitionData: [.init(index: 0, records: batch)]),
        ])
        let produced = try #require(try await partitionLeader.send(.produce, produce, as: ProduceResponse.self))
        #expect(produced.responses.first?.partitionResponses.first?.errorCode == 0)

        let offsets = try await partitionLeader.send(.listOffsets, ListOffsetsRequest(replicaId: -1, topics: [
            .init(name: topic, partitions: [.init(partitionIndex: 0, timestamp: -2)]),
        ]), as: ListOffsetsResponse.self)
        #expect(offsets?.topics.first?.partitions.first?.errorCode == 0)

        let fetch = FetchRequest(maxWaitMs: 200, minBytes: 1, maxBytes: 1 << 20, sessionEpoch: -1, topics: [
            .init(topic: topic, topicId: topicId, partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
        ])
        let fetched = try #require(try await partitionLeader.send(.fetch, fetch, as: FetchResponse.self))
        let partition = try #require(fetched.responses.first?.partitions.first)
        #expect(partition.errorCode == 0)
        var reader = RecordBatchReader(partition.records ?? [])
        var values: [String] = []
        for view in try reader.batches() {
            for record in try view.records() { values.append(String(decoding: record.value ?? [], as: UTF8.self)) }
        }
        #expect(values == ["value-0", "value-1", "value-2"])

        let deleteVersion = broker.versions.version(for: .deleteTopics) ?? 0
        let delete = DeleteTopicsRequest(
            topics: deleteVersion >= 6 ? [.init(name: topic, topicId: .zero)] : [], topicNames: [topic], timeoutMs: 10_000)
        let deleted = try await broker.send(.deleteTopics, delete, as: DeleteTopicsResponse.self)
        #expect(deleted?.responses.first?.errorCode == 0)
    }
}

/// The shape every generated request and response has, so the tests can be generic.
protocol KafkaTestRequest: Sendable {
    func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError)
}

protocol KafkaTestResponse: Sendable, Equatable {
    init(from reader: inout ByteReader, version: Int16) throws(KafkaDecodingError)
    func encoded(version: Int16, capacity: Int) throws(KafkaEncodingError) -> [UInt8]
}

extension KafkaTestResponse {
    /// Decodes a broker's response. Trailing bytes are tolerated only when they are zero:
    /// librdkafka's mock appends one zero byte to flexible Metadata responses (clients such as
    /// Java's and franz-go ignore trailing bytes); anything else left over is a decoding bug.
    static func decode(_ bytes: [UInt8], version: Int16) throws(KafkaDecodingError) -> Self {
        var reader = ByteReader(bytes)
        let value = try Self(from: &reader, version: version)
        let trailing = bytes[reader.readerIndex...]
        #expect(trailing.allSatisfy { $0 == 0 }, "\(Self.self) v\(version): \(trailing.count) non-zero bytes after the last field")
        return value
    }
}

extension ApiVersionsRequest: KafkaTestRequest {}
extension MetadataRequest: KafkaTestRequest {}
extension DescribeClusterRequest: KafkaTestRequest {}
extension FindCoordinatorRequest: KafkaTestRequest {}
extension ListGroupsRequest: KafkaTestRequest {}
extension InitProducerIdRequest: KafkaTestRequest {}
extension CreateTopicsRequest: KafkaTestRequest {}
extension ProduceRequest: KafkaTestRequest {}
extension ListOffsetsRequest: KafkaTestRequest {}
extension FetchRequest: KafkaTestRequest {}
extension DeleteTopicsRequest: KafkaTestRequest {}
extension ApiVersionsResponse: KafkaTestResponse {}
extension MetadataResponse: KafkaTestResponse {}
extension DescribeClusterResponse: KafkaTestResponse {}
extension FindCoordinatorResponse: KafkaTestResponse {}
extension ListGroupsResponse: KafkaTestResponse {}
extension InitProducerIdResponse: KafkaTestResponse {}
extension CreateTopicsResponse: KafkaTestResponse {}
extension ProduceResponse: KafkaTestResponse {}
extension ListOffsetsResponse: KafkaTestResponse {}
extension FetchResponse: KafkaTestResponse {}
extension DeleteTopicsResponse: KafkaTestResponse {}

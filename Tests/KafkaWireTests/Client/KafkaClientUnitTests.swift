import KafkaWire
import Synchronization
import Testing

@Suite("KafkaMetadataCache")
struct KafkaMetadataCacheTests {
    typealias Broker = MetadataResponse.MetadataResponseBroker
    typealias Topic = MetadataResponse.MetadataResponseTopic
    typealias Partition = MetadataResponse.MetadataResponsePartition

    static func response(brokers: [Int32] = [1, 2, 3], controller: Int32 = 1, topics: [Topic]) -> MetadataResponse {
        MetadataResponse(
            brokers: brokers.map { Broker(nodeId: $0, host: "127.0.0.1", port: 9000 + $0) },
            clusterId: "lab", controllerId: controller, topics: topics)
    }

    static func topic(_ name: String, error: KafkaErrorCode = .none, leaders: [Int32], epoch: Int32 = 0) -> Topic {
        Topic(errorCode: error.rawValue, name: name, partitions: leaders.enumerated().map { index, leader in
            Partition(partitionIndex: Int32(index), leaderId: leader, leaderEpoch: epoch, replicaNodes: [leader], isrNodes: [leader])
        })
    }

    @Test("brokers, controller and leaders come from the response")
    func apply() throws {
        var cache = KafkaMetadataCache()
        cache.apply(Self.response(topics: [Self.topic("orders", leaders: [1, 2, 3])]), allTopics: true)
        #expect(cache.brokers.keys.sorted() == [1, 2, 3])
        #expect(cache.controllerID == 1)
        #expect(cache.clusterID == "lab")
        #expect(try cache.leader(for: "orders", partition: 2).nodeID == 3)
        #expect(try cache.leader(for: "orders", partition: 2).port == 9003)
        #expect(cache.topics["orders"]?.sortedPartitions.map(\.index) == [0, 1, 2])
    }

    @Test("a partial refresh keeps other topics; a full one drops topics it does not name")
    func partialAndFull() {
        var cache = KafkaMetadataCache()
        cache.apply(Self.response(topics: [Self.topic("a", leaders: [1]), Self.topic("b", leaders: [2])]), allTopics: true)
        cache.apply(Self.response(topics: [Self.topic("a", leaders: [3], epoch: 1)]), allTopics: false)
        #expect(cache.topics.keys.sorted() == ["a", "b"])
        #expect(cache.topics["a"]?.partitions[0]?.leaderID == 3)
        cache.apply(Self.response(topics: [Self.topic("a", leaders: [3], epoch: 1)]), allTopics: true)
        #expect(cache.topics.keys.sorted() == ["a"])
    }

    @Test("an unknown topic is dropped; a stale leader epoch is ignored")
    func unknownAndStaleEpoch() {
        var cache = KafkaMetadataCache()
        cache.apply(Self.response(topics: [Self.topic("a", leaders: [2], epoch: 5)]), allTopics: true)
        cache.apply(Self.response(topics: [Self.topic("a", leaders: [1], epoch: 4)]), allTopics: false)
        #expect(cache.topics["a"]?.partitions[0]?.leaderID == 2)
        #expect(cache.topics["a"]?.partitions[0]?.leaderEpoch == 5)
        cache.apply(Self.response(topics: [Self.topic("a", error: .unknownTopicOrPartition, leaders: [])]), allTopics: false)
        #expect(cache.topics["a"] == nil)
    }

    @Test("leader lookup names what is missing")
    func leaderErrors() {
        var cache = KafkaMetadataCache()
        cache.apply(Self.response(brokers: [1], topics: [Self.topic("a", leaders: [-1, 7])]), allTopics: true)
        #expect(throws: KafkaClientError.unknownTopicOrPartition(topic: "b", partition: 0)) { try cache.leader(for: "b", partition: 0) }
        #expect(throws: KafkaClientError.leaderNotAvailable(topic: "a", partition: 0)) { try cache.leader(for: "a", partition: 0) }
        #expect(throws: KafkaClientError.unknownBroker(nodeID: 7)) { try cache.leader(for: "a", partition: 1) }
    }

    @Test("staleness follows the max age")
    func staleness() {
        var cache = KafkaMetadataCache()
        #expect(cache.isStale(maxAge: .seconds(60)))
        let now = ContinuousClock.now
        cache.apply(Self.response(topics: []), allTopics: true, at: now)
        #expect(!cache.isStale(maxAge: .seconds(60), now: now + .seconds(59)))
        #expect(cache.isStale(maxAge: .seconds(60), now: now + .seconds(60)))
        cache.invalidate()
        #expect(cache.isStale(maxAge: .seconds(60), now: now))
    }
}

@Suite("KafkaClient pure parts")
struct KafkaClientPureTests {
    @Test("the version is the negotiated one, limited to a window when asked")
    func versionChoice() {
        let table = KafkaApiVersionTable(versions: [.listOffsets: 7, .metadata: 12])
        #expect(KafkaVersionChoice.version(for: .metadata, in: table) == 12)
        #expect(KafkaVersionChoice.version(for: .fetch, in: table) == nil)
        #expect(KafkaVersionChoice.version(for: .listOffsets, in: table, within: 2...Int16.max) == 7)
        #expect(KafkaVersionChoice.version(for: .listOffsets, in: table, within: 1...3) == 3)
        #expect(KafkaVersionChoice.version(for: .listOffsets, in: table, within: 8...10) == nil)
    }

    @Test("retry classification", arguments: [
        (KafkaErrorCode.notLeaderOrFollower, KafkaRetryDisposition.refreshMetadataAndRetry),
        (.unknownTopicOrPartition, .refreshMetadataAndRetry),
        (.fencedLeaderEpoch, .refreshMetadataAndRetry),
        (KafkaErrorCode(75), .refreshMetadataAndRetry),
        (.requestTimedOut, .retry),
        (.topicAlreadyExists, .fail),
        (.corruptMessage, .retry),
        (KafkaErrorCode(-1), .fail),
        (KafkaErrorCode(9999), .fail),
    ])
    func classification(code: KafkaErrorCode, expected: KafkaRetryDisposition) {
        #expect(code.retryDisposition == expected, "\(code)")
        let error = KafkaClientError.broker(code, api: .produce, broker: "b:1", topic: "t", partition: 0, message: nil)
        #expect(error.retryDisposition == expected)
    }

    @Test("connection failures refresh metadata and retry; decoding failures do not")
    func clientErrorClassification() {
        let connection = KafkaClientError.connection(broker: "127.0.0.1:1", nodeID: 2, .connection(.closed(peer: "127.0.0.1:1")))
        #expect(connection.retryDisposition == .refreshMetadataAndRetry)
        #expect(connection.isConnectionError)
        #expect(KafkaClientError.retriesExhausted(attempts: 3, last: connection).isConnectionError)
        #expect(KafkaClientError.decoding(.metadata, version: 12, broker: "b", reason: "x").retryDisposition == .fail)
    }

    @Test("errors name the topic, partition, broker and code")
    func errorDescription() {
        let error = KafkaClientError.broker(.notLeaderOrFollower, api: .listOffsets, broker: "127.0.0.1:9092", topic: "orders", partition: 3, message: nil)
        #expect(error.description.contains("NOT_LEADER_OR_FOLLOWER"))
        #expect(error.description.contains("orders partition 3"))
        #expect(error.description.contains("127.0.0.1:9092"))
        #expect(error.errorCode == .notLeaderOrFollower)
    }

    @Test("backoff doubles up to the cap")
    func backoff() {
        let policy = KafkaRetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(350))
        #expect(policy.backoff(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.backoff(afterAttempt: 2) == .milliseconds(200))
        #expect(policy.backoff(afterAttempt: 3) == .milliseconds(350))
        #expect(policy.backoff(afterAttempt: 10) == .milliseconds(350))
        #expect(KafkaRetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }

    @Test("bootstrap lists parse")
    func bootstrapParsing() {
        #expect(KafkaBootstrapServer.parseList("127.0.0.1:19092, localhost:9093") == [
            KafkaBootstrapServer(host: "127.0.0.1", port: 19092), KafkaBootstrapServer(host: "localhost", port: 9093)])
        #expect(KafkaBootstrapServer.parseList("[::1]:9092") == [KafkaBootstrapServer(host: "::1", port: 9092)])
        #expect(KafkaBootstrapServer.parseList("nohost") == nil)
        #expect(KafkaBootstrapServer.parseList("h:0") == nil)
    }

    @Test("withRetries gives up after the bound with the last failure, and does not retry what is final")
    func retriesBounded() async {
        let client = KafkaClient(configuration: .init(
            bootstrapServers: [.init(host: "127.0.0.1", port: 1)],
            retry: .init(maxAttempts: 3, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(2))))
        let attempts = Counter()
        let retriable = KafkaClientError.broker(.requestTimedOut, api: .listOffsets, broker: nil, topic: "t", partition: 0, message: nil)
        await #expect(throws: KafkaClientError.retriesExhausted(attempts: 3, last: retriable)) {
            try await client.withRetries(refreshing: []) { () async throws -> Int in
                attempts.increment()
                throw retriable
            }
        }
        #expect(attempts.value == 3)
        let final = KafkaClientError.broker(.topicAlreadyExists, api: .createTopics, broker: nil, topic: "t", partition: nil, message: nil)
        await #expect(throws: final) {
            try await client.withRetries(refreshing: []) { () async throws -> Int in
                attempts.increment()
                throw final
            }
        }
        #expect(attempts.value == 4)
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

import KafkaWire
import LabProxy
import Testing
import WireCore

/// Kafka through the proxy: every broker behind its own proxy port (Metadata, FindCoordinator
/// rewritten), the Swift producer and consumer unchanged, the trace's per-API fields.
@Suite(.serialized)
struct ProxyKafkaTests {
    static func client(port: Int) -> KafkaClient {
        KafkaClient(configuration: .init(
            bootstrapServers: [KafkaBootstrapServer(host: "127.0.0.1", port: port)],
            clientID: "lab-proxy-tests", requestTimeout: .seconds(10),
            retry: .init(maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500))))
    }

    static func cluster(listen: Int, upstreams: [String]) throws -> (ProxyServer, TraceRecorder) {
        let trace = TraceRecorder()
        let proxy = ProxyServer(trace: try TraceSink(path: nil, observer: { trace.record($0) }))
        try proxy.addKafkaCluster(listenPort: listen, upstreams: upstreams.compactMap(Route.parseAddress))
        return (proxy, trace)
    }

    @Test(.enabled(if: Servers.tansuReachable, "Tansu not reachable at LAB_KAFKA_TANSU_BOOTSTRAP (default 127.0.0.1:19092); start it with `scripts/infra up kafka-tansu`"))
    func producerAndConsumerWorkThroughTheProxyOnTansu() async throws {
        let (proxy, trace) = try Self.cluster(listen: 18530, upstreams: [Servers.tansu])
        defer { proxy.stop() }
        let client = Self.client(port: 18530)
        let topic = "lab-proxy-\(UInt32.random(in: 0...UInt32.max))"
        try await KafkaAdmin(client: client).createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(acks: .all, idempotent: true, linger: .milliseconds(1)))
        for index in 0..<10 { _ = try await producer.send(ProducerRecord(topic: topic, key: "k\(index)", value: "v\(index)")) }
        await producer.close()

        let consumer = KafkaConsumer(client: client, configuration: KafkaConsumerConfiguration(autoOffsetReset: .earliest, enableAutoCommit: false))
        try await consumer.assign([TopicPartition(topic: topic, partition: 0)])
        var received = 0
        for _ in 0..<20 where received < 10 { received += try await consumer.poll(timeout: .milliseconds(500)).count }
        #expect(received == 10)
        await consumer.close()
        await client.close()

        // The single broker is fronted by the listen port itself: nothing bypassed the proxy.
        let metadata = try #require(await trace.wait { $0.name == "Metadata" && $0["rewritten"] == .bool(true) })
        let brokers = metadata["brokers"]?.arrayValue ?? []
        #expect(brokers.allSatisfy { $0["port"] == .int(18530) })
        let produce = try #require(await trace.wait { $0.name == "Produce" })
        #expect(produce["acks"] == .int(-1))
        let produced = produce["produced"]?.arrayValue?.first
        #expect(produced?["error"] == .string("NONE"))
        #expect(produced?["base_offset"]?.intValue != nil)
        let initPID = try #require(await trace.wait { $0.name == "InitProducerId" })
        #expect((initPID["producer_id"]?.intValue ?? -1) >= 0)
        let fetch = try #require(await trace.wait { event in
            event.name == "Fetch" && (event["partitions"]?.arrayValue?.contains { ($0["record_batches"]?.intValue ?? 0) > 0 } ?? false)
        })
        let partition = fetch["partitions"]?.arrayValue?.first { ($0["record_batches"]?.intValue ?? 0) > 0 }
        #expect(partition?["high_watermark"] == .int(10))
        #expect(partition?["last_stable_offset"] != nil)
        #expect(partition?["log_start_offset"] != nil)
        #expect(partition?["aborted_transactions"] != nil)
        #expect(fetch.correlationID != nil && fetch.version != nil)
    }

    /// A `fail` fault answers Produce with NOT_LEADER_OR_FOLLOWER in every partition: the
    /// producer sees the error, refreshes metadata and retries until the fault is cleared.
    @Test(.enabled(if: Servers.tansuReachable, "Tansu not reachable at LAB_KAFKA_TANSU_BOOTSTRAP (default 127.0.0.1:19092)"))
    func failFaultAnswersProduceWithTheErrorAndTheProducerRetriesUntilCleared() async throws {
        let (proxy, trace) = try Self.cluster(listen: 19510, upstreams: [Servers.tansu])
        defer { proxy.stop() }
        let client = Self.client(port: 19510)
        let topic = "lab-proxy-fail-\(UInt32.random(in: 0...UInt32.max))"
        try await KafkaAdmin(client: client).createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(
            acks: .all, idempotent: true, linger: .milliseconds(1), deliveryTimeout: .seconds(20),
            retryBackoff: .milliseconds(50), retryBackoffMax: .milliseconds(200)))
        let first = try await producer.send(ProducerRecord(topic: topic, key: "k", value: "before"))
        #expect(first.offset == 0)

        try proxy.setFault(route: "19510", Fault(.fail(command: "Produce", message: "NOT_LEADER_OR_FOLLOWER")))
        let send = Task { try await producer.send(ProducerRecord(topic: topic, key: "k", value: "during")) }
        // At least two attempts answered with the error: the producer retries it.
        var injected: [TraceEvent] = []
        for _ in 0..<500 where injected.count < 2 {
            injected = trace.named("Produce").filter { $0["injected"] == .bool(true) }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(injected.count >= 2)
        let partition = injected.first?["produced"]?.arrayValue?.first
        #expect(partition?["error"] == .string("NOT_LEADER_OR_FOLLOWER"))
        #expect(partition?["topic"] == .string(topic))
        #expect(injected.first?["error"] == .string("NOT_LEADER_OR_FOLLOWER"))
        // The connection stayed up: the retries came on it, with growing correlation ids.
        #expect(Set(injected.map(\.connection)).count == 1)

        try proxy.clearFaults(route: "19510")
        let after = try await send.value
        #expect(after.offset == 1)
        await producer.close()
        await client.close()
        let delivered = try #require(await trace.wait { event in
            event.name == "Produce" && event["injected"] == nil
                && (event["produced"]?.arrayValue?.contains { $0["base_offset"] == .int(1) && $0["error"] == .string("NONE") } ?? false)
        })
        #expect(delivered.correlationID! > injected.last!.correlationID!)
    }

    @Test(.enabled(if: Servers.kafkaClusterReachable, "Kafka cluster not reachable at LAB_KAFKA_BOOTSTRAP (default 127.0.0.1:29092-29094)"))
    func everyBrokerGetsItsOwnProxyPortAndReadCommittedFetchShowsAnOpenTransaction() async throws {
        let (proxy, trace) = try Self.cluster(listen: 18540, upstreams: Servers.kafkaCluster)
        defer { proxy.stop() }
        let client = Self.client(port: 18540)
        let topic = "lab-proxy-txn-\(UInt32.random(in: 0...UInt32.max))"
        try await KafkaAdmin(client: client).createTopic(topic, partitions: 1, replicationFactor: 3)
        for _ in 0..<50 {
            if let found = try? await client.refreshMetadata(topics: [topic]).topics[topic], found.partitions.count == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let metadata = try #require(await trace.wait { $0.name == "Metadata" && $0["rewritten"] == .bool(true) && ($0["brokers"]?.arrayValue?.count ?? 0) == 3 })
        let ports = Set((metadata["brokers"]?.arrayValue ?? []).compactMap { $0["port"]?.intValue })
        #expect(ports == [18541, 18542, 18543], "\(trace.all.filter { $0.name.hasPrefix("broker_route") }.map(\.jsonLine))")
        #expect(proxy.routes.count == 4)

        let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(
            acks: .all, idempotent: true, linger: .milliseconds(1), transactionalID: "lab-proxy-\(UInt32.random(in: 0...UInt32.max))"))
        try await producer.initTransactions()
        try producer.beginTransaction()
        for index in 0..<5 { _ = try await producer.send(ProducerRecord(topic: topic, key: "k", value: "open-\(index)")) }

        let consumer = KafkaConsumer(client: client, configuration: KafkaConsumerConfiguration(
            autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100), isolation: .readCommitted))
        try await consumer.assign([TopicPartition(topic: topic, partition: 0)])
        _ = try await consumer.poll(timeout: .milliseconds(500))
        let open = try #require(await trace.wait { event in
            event.name == "Fetch" && event["isolation_level"] == .string("read_committed")
                && (event["partitions"]?.arrayValue?.contains { ($0["high_watermark"]?.intValue ?? 0) > ($0["last_stable_offset"]?.intValue ?? 0) } ?? false)
        })
        #expect(open.route.hasPrefix("broker-"))
        try await producer.commitTransaction()
        await producer.close()
        await consumer.close()
        await client.close()

        let endTxn = try #require(await trace.wait { $0.name == "EndTxn" })
        #expect(endTxn["committed"] == .bool(true))
        #expect((endTxn["producer_id"]?.intValue ?? -1) >= 0)
        #expect(await trace.wait { $0.name == "FindCoordinator" && $0["rewritten"] == .bool(true) } != nil)
        #expect(await trace.wait { $0.name == "AddPartitionsToTxn" } != nil)
    }
}

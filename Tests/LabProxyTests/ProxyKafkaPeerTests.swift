import Foundation
import KafkaWire
import LabProxy
import LabTestSupport
import Testing

/// librdkafka (confluent-kafka from the .venv) through the proxy: a producer and a consumer
/// against Tansu, unchanged, and the trace shows their Produce and Fetch.
@Suite(.serialized)
struct ProxyKafkaPeerTests {
    /// $LAB_PYTHON, else .venv/bin/python in the current directory or a parent, or in a parent
    /// of this source file.
    static let python: String? = Servers.variable("LAB_PYTHON") ?? RepositoryFiles.executable(".venv/bin/python")

    /// Whether the python imports confluent_kafka (checked once, by a child process).
    @Sendable static func peerAvailable() async -> Bool {
        guard let python else { return false }
        return await ChildProcess.run(python, ["-c", "import confluent_kafka"]) == 0
    }

    /// Produces `count` records with acks=all, then reads them back from the beginning with an
    /// assigned consumer; writes {"delivered", "consumed", "errors"} as JSON to the last argument.
    static let script = """
    import json, sys, time
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
    bootstrap, topic, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    errors, delivered = [], []
    def report(err, msg):
        if err is not None: errors.append(str(err))
        else: delivered.append(msg.offset())
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 1,
                         "client.id": "lab-proxy-peer-producer"})
    for i in range(count):
        producer.produce(topic, key=b"k%d" % i, value=b"peer-%d" % i, partition=0, on_delivery=report)
    left = producer.flush(20)
    if left: errors.append("%d not delivered" % left)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lab-proxy-peer", "enable.auto.commit": False,
                         "client.id": "lab-proxy-peer-consumer"})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values, deadline = [], time.time() + 20
    while len(values) < count and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None: continue
        if msg.error(): errors.append(str(msg.error())); continue
        values.append(msg.value().decode())
    consumer.close()
    json.dump({"delivered": len(delivered), "consumed": values, "errors": errors}, open(out, "w"))
    """

    struct Output: Decodable {
        var delivered: Int
        var consumed: [String]
        var errors: [String]
    }

    @Test(.enabled(if: Servers.tansuReachable, "Tansu not reachable at LAB_KAFKA_TANSU_BOOTSTRAP (default 127.0.0.1:19092)"),
          .enabled("needs .venv/bin/python with confluent-kafka (scripts/setup) or LAB_PYTHON") { await peerAvailable() })
    func confluentKafkaProducerAndConsumerWorkThroughTheProxy() async throws {
        let python = try #require(Self.python)
        let trace = TraceRecorder()
        let proxy = ProxyServer(trace: try TraceSink(path: nil, observer: { trace.record($0) }))
        try proxy.addKafkaCluster(listenPort: 19520, upstreams: [Route.parseAddress(Servers.tansu)!], brokerPortBase: 19521)
        defer { proxy.stop() }
        let topic = "lab-proxy-peer-\(UInt32.random(in: 0...UInt32.max))"
        let client = KafkaClient(configuration: .init(bootstrapServers: [KafkaBootstrapServer(host: "127.0.0.1", port: 19520)],
                                                      clientID: "lab-proxy-tests", requestTimeout: .seconds(10)))
        try await KafkaAdmin(client: client).createTopic(topic, partitions: 1, replicationFactor: 1)
        await client.close()

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("lab-proxy-peer-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let status = await ChildProcess.run(python, ["-c", Self.script, "127.0.0.1:19520", topic, "20", output.path])
        #expect(status == 0)
        let result = try JSONDecoder().decode(Output.self, from: Data(contentsOf: output))
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.delivered == 20)
        #expect(result.consumed == (0..<20).map { "peer-\($0)" })

        // The peers' requests passed the proxy and were decoded.
        let produce = try #require(await trace.wait { $0.name == "Produce" && $0["client_id"] == .string("lab-proxy-peer-producer") })
        #expect(produce["acks"] == .int(-1))
        let produced = produce["produced"]?.arrayValue?.first
        #expect(produced?["topic"] == .string(topic))
        #expect(produced?["error"] == .string("NONE"))
        let fetch = try #require(await trace.wait { event in
            event.name == "Fetch" && event["client_id"] == .string("lab-proxy-peer-consumer")
                && (event["partitions"]?.arrayValue?.contains { ($0["record_batches"]?.intValue ?? 0) > 0 } ?? false)
        })
        let partition = fetch["partitions"]?.arrayValue?.first { ($0["record_batches"]?.intValue ?? 0) > 0 }
        #expect(partition?["high_watermark"] == .int(20))
        #expect(trace.all.contains { $0.name == "Metadata" && $0["rewritten"] == .bool(true) && $0["client_id"] == .string("lab-proxy-peer-consumer") })
        #expect(!trace.all.contains { $0.name == "unparsed" })
    }
}

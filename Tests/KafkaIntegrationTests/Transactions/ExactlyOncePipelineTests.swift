import Foundation
import KafkaWire
import LabTestSupport
import Testing

/// The `lab` executable built next to the tests (`swift build` builds it; `scripts/test` does).
enum LabBinary {
    static var path: String? { RepositoryFiles.executable(".build/debug/lab") }
}

extension KafkaClientIntegrationSuites {
    @Suite("Exactly-once consume-transform-produce")
    struct ExactlyOncePipelineTests {
        @Test("transform instances killed with -9 mid-way: output = input, no duplicate, no loss",
              .enabled(if: KafkaTestCluster.all.contains(where: \.isRealKafka),
                       "needs real Apache Kafka (LAB_KAFKA_BOOTSTRAP): only it filters aborted transactions for read_committed readers"),
              .enabled(if: LabBinary.path != nil, "needs the lab executable (swift build)"),
              arguments: KafkaTestCluster.all.filter(\.isRealKafka))
        func killedMidway(cluster: KafkaTestCluster) async throws {
            let lab = try #require(LabBinary.path)
            let admin = cluster.makeClient()
            defer { Task { await admin.close() } }
            let input = KafkaTestCluster.uniqueTopic("lab-eos-in")
            let output = KafkaTestCluster.uniqueTopic("lab-eos-out")
            let group = KafkaTestCluster.uniqueTopic("lab-eos-group")
            try await cluster.createTopic(admin, input, partitions: 4)
            try await cluster.createTopic(admin, output, partitions: 2)
            let count = 3000
            let bootstrap = cluster.bootstrap.map { "\($0.host):\($0.port)" }.joined(separator: ",")
            func transformer(_ instance: String) -> ChildProcess.Running? {
                ChildProcess.start(lab, ["kafka", "transform", "--bootstrap", bootstrap, "--from", input, "--to", output,
                                         "--group", group, "--transactional-id", "\(group)-\(instance)", "--session-timeout-ms", "6000"])
            }
            // Input produced while the transformers run, so kills land mid-stream.
            let first = try #require(transformer("a"))
            let second = try #require(transformer("b"))
            let producing = Task {
                for chunk in 0..<10 {
                    try await cluster.produce((0..<(count / 10)).map { index in
                        let n = chunk * (count / 10) + index
                        return ProducerRecord(topic: input, partition: Int32(n % 4), key: "k\(n)", value: "v\(n)")
                    })
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            try await Task.sleep(for: .seconds(2))
            first.kill(SIGKILL)
            _ = await first.wait()
            let third = try #require(transformer("c"))
            try await Task.sleep(for: .seconds(2))
            second.kill(SIGKILL)
            _ = await second.wait()
            try await producing.value

            let reader = KafkaConsumer(client: cluster.makeClient(), configuration: KafkaConsumerConfiguration(
                autoOffsetReset: .earliest, enableAutoCommit: false, fetchMaxWait: .milliseconds(100), isolation: .readCommitted))
            try await reader.assign([TopicPartition(output, 0), TopicPartition(output, 1)])
            var values: [String] = []
            let deadline = ContinuousClock.now + .seconds(90)
            while values.count < count, ContinuousClock.now < deadline {
                values += try await reader.poll(timeout: .milliseconds(500)).compactMap(\.valueString)
            }
            // A little longer: anything beyond `count` would be a duplicate.
            for _ in 0..<4 { values += try await reader.poll(timeout: .milliseconds(500)).compactMap(\.valueString) }
            third.kill(SIGTERM)
            _ = await third.wait()
            await reader.close()

            let expected = Set((0..<count).map { "v\($0)" })
            let duplicates = values.count - Set(values).count
            let missing = expected.subtracting(values).count
            #expect(duplicates == 0, "\(duplicates) duplicate records in the output")
            #expect(missing == 0, "\(missing) input records missing from the output")
            #expect(Set(values) == expected)
        }
    }
}

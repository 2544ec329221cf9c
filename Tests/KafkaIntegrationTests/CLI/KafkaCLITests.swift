import Foundation
import KafkaWire
@testable import LabCLI
import Synchronization
import Testing

/// Collects what a `lab kafka` command writes.
final class CapturedCLIOutput: Sendable {
    private let outText = Mutex("")
    private let errText = Mutex("")
    var out: String { outText.withLock { $0 } }
    var err: String { errText.withLock { $0 } }
    var io: KafkaCLIIO {
        KafkaCLIIO(out: { text in self.outText.withLock { $0 += text } }, err: { line in self.errText.withLock { $0 += line + "\n" } })
    }
}

extension KafkaTestCluster {
    var bootstrapList: String { bootstrap.map { "\($0.host):\($0.port)" }.joined(separator: ",") }
}

private func lines(_ values: [String]) -> AsyncStream<String> {
    AsyncStream { continuation in
        for value in values { continuation.yield(value) }
        continuation.finish()
    }
}

/// `partition offset key value headers` lines, split.
private func records(_ output: String) -> [[String]] {
    output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
}

@Suite("lab kafka produce|consume|groups", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
struct KafkaCLITests {
    private func makeTopic(_ cluster: KafkaTestCluster, partitions: Int32 = 3) async throws -> String {
        let topic = KafkaTestCluster.uniqueTopic("lab-cli")
        let client = cluster.makeClient()
        try await cluster.createTopic(client, topic, partitions: partitions)
        await client.close()
        return topic
    }

    private func produce(_ cluster: KafkaTestCluster, _ topic: String, _ input: [String]) async throws {
        let command = try KafkaProduceCommand.parse([
            topic, "--bootstrap", cluster.bootstrapList, "--key-separator", ":", "--header", "src=cli-test", "--linger-ms", "1",
        ])
        let output = CapturedCLIOutput()
        let summary = try await command.execute(input: lines(input), io: output.io)
        #expect(summary == .init(delivered: input.count, failed: 0))
        #expect(output.err == "produced \(input.count) records (0 failed)\n")
        #expect(output.out.isEmpty)
    }

    @Test("produce reads KEY:VALUE lines; consume --from beginning --to-end prints them back", arguments: KafkaTestCluster.all)
    func produceThenConsume(cluster: KafkaTestCluster) async throws {
        let topic = try await makeTopic(cluster)
        let input = (1...5).map { "key\($0):value \($0)" } + ["no-separator"]
        try await produce(cluster, topic, input)

        let consume = try KafkaConsumeCommand.parse([topic, "--bootstrap", cluster.bootstrapList, "--from", "beginning", "--to-end"])
        let output = CapturedCLIOutput()
        let summary = try await consume.execute(io: output.io, stop: KafkaCLIStop())
        #expect(summary.records == input.count)
        let printed = records(output.out)
        #expect(printed.count == input.count, "\(output.out)")
        // "partition offset key value… headers": the value "value N" holds a space.
        let seen = Set(printed.map { fields in fields.dropFirst(2).joined(separator: " ") })
        let expected = Set((1...5).map { "key\($0) value \($0) src=cli-test" } + [" no-separator src=cli-test"])
        #expect(seen == expected)
        // Per partition, offsets 0, 1, … in order.
        for (_, rows) in Dictionary(grouping: printed, by: { $0[0] }) {
            #expect(rows.map { Int($0[1]) } == Array(0..<rows.count))
        }

        // --partition, --from OFFSET, --count and --format.
        let partitionZero = printed.filter { $0[0] == "0" }.count
        if partitionZero > 0 {
            let one = try KafkaConsumeCommand.parse([
                topic, "--bootstrap", cluster.bootstrapList, "--partition", "0", "--from", "0", "--count", "1", "--format", "%t/%p@%o %k=%s [%h]",
            ])
            let formatted = CapturedCLIOutput()
            _ = try await one.execute(io: formatted.io, stop: KafkaCLIStop())
            let first = printed.first { $0[0] == "0" && $0[1] == "0" }!
            #expect(formatted.out == "\(topic)/0@0 \(first[2])=\(first.dropFirst(3).dropLast().joined(separator: " ")) [src=cli-test]\n")
        }
    }

    @Test("consume --group commits what it printed; groups shows the committed offsets and lag",
          arguments: KafkaTestCluster.all.filter { !$0.isMock })
    func groupConsumeAndDescribe(cluster: KafkaTestCluster) async throws {
        let topic = try await makeTopic(cluster)
        try await produce(cluster, topic, (1...5).map { "k\($0):v\($0)" })
        let group = "lab-cli-\(UInt32.random(in: 0...UInt32.max))"
        let arguments = [topic, "--bootstrap", cluster.bootstrapList, "--group", group, "--from", "beginning"]

        let first = CapturedCLIOutput()
        _ = try await KafkaConsumeCommand.parse(arguments + ["--count", "3"]).execute(io: first.io, stop: KafkaCLIStop())
        #expect(records(first.out).count == 3, "\(first.out)")

        let described = CapturedCLIOutput()
        try await KafkaGroupsCommand.parse(["--bootstrap", cluster.bootstrapList, group]).execute(io: described.io)
        let rows = records(described.out.replacingOccurrences(of: "\t", with: " ")).filter { $0.first == topic }
        // committed offsets sum to the records printed (every partition started at 0).
        #expect(rows.compactMap { Int($0[2]) }.reduce(0, +) == 3, "\(described.out)")
        if !cluster.isTansu {  // Tansu's ListOffsets(latest) counts batches, not records
            #expect(rows.compactMap { Int($0[3]) }.reduce(0, +) == 5, "\(described.out)")
        }
        for row in rows {  // lag = log end − committed, "-" without a committed offset
            let expectedLag = Int(row[2]).flatMap { committed in Int(row[3]).map { String(max(0, $0 - committed)) } } ?? "-"
            #expect(row[4] == expectedLag, "\(described.out)")
        }
        #expect(described.out.contains("state Empty"), "\(described.out)")

        let listed = CapturedCLIOutput()
        try await KafkaGroupsCommand.parse(["--bootstrap", cluster.bootstrapList]).execute(io: listed.io)
        #expect(listed.out.contains(group), "\(listed.out)")

        // The group goes on from its committed offsets: the other two records, then the end.
        let second = CapturedCLIOutput()
        _ = try await KafkaConsumeCommand.parse(arguments + ["--to-end"]).execute(io: second.io, stop: KafkaCLIStop())
        let all = (records(first.out) + records(second.out)).map { "\($0[2]) \($0[3])" }
        #expect(all.sorted() == (1...5).map { "k\($0) v\($0)" }, "\(first.out)\(second.out)")
    }

    @Test("the record formatter follows kcat's tokens")
    func formatter() {
        let record = ConsumerRecord(topic: "t", partition: 2, offset: 7, timestamp: 42, key: Array("k".utf8), value: nil,
                                    headers: [RecordHeader(key: "a", value: Array("1".utf8)), RecordHeader(key: "b", value: nil)])
        #expect(KafkaRecordFormatter(format: nil).format(record) == "2 7 k  a=1,b=\n")
        #expect(KafkaRecordFormatter(format: "%t\\t%p %o %K %S %T 100%%\\n").format(record) == "t\t2 7 1 -1 42 100%\n")
        #expect(KafkaRecordFormatter(format: "%s|%k").format(record) == "|k\n")
    }
}

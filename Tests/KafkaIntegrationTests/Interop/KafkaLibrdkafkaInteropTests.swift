import Foundation
import KafkaWire
import LabTestSupport
import Synchronization
import Testing

/// librdkafka (confluent-kafka in the .venv) as the other side: the script next to this file
/// (librdkafka_peer.py), run with ChildProcess; it writes its results as JSON to a file.
enum LibrdkafkaPeer {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("librdkafka_peer.py").path

    /// .venv/bin/python in the current directory or a parent, or in a parent of this source
    /// file (as `lab bench kafka` looks for it).
    static let python: String? = RepositoryFiles.executable(".venv/bin/python")

    /// Whether the python exists and imports confluent_kafka.
    @Sendable static func available() async -> Bool {
        guard let python else { return false }
        return await ChildProcess.run(python, ["-c", "import confluent_kafka"]) == 0
    }

    static let skipReason: Comment = "no .venv/bin/python with confluent-kafka found (run scripts/setup)"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `command` of the script with `arguments`; the last argument names the JSON output
    /// file (a fresh temporary path chosen here); returns it decoded.
    static func run<Output: Decodable>(_ command: String, _ arguments: [String], output: URL = temporaryFile(), as: Output.Type) async throws -> Output {
        guard let python else { throw Failure(description: "no python") }
        defer { try? FileManager.default.removeItem(at: output) }
        let status = await ChildProcess.run(python, [script, command] + arguments.map { $0 == outputPlaceholder ? output.path : $0 })
        guard status == 0 else { throw Failure(description: "librdkafka_peer.py \(command) exited with \(status)") }
        return try JSONDecoder().decode(Output.self, from: Data(contentsOf: output))
    }

    static let outputPlaceholder = "<output>"

    static func temporaryFile(_ suffix: String = ".json") -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("lab-librdkafka-\(UUID().uuidString)\(suffix)")
    }

    /// A record as the peer reads or writes it: bytes as hex, null as nil.
    struct Record: Codable, Equatable, CustomStringConvertible {
        var partition: Int32?
        var offset: Int64?
        var key: String?
        var value: String?
        var headers: [[String?]]

        init(partition: Int32? = nil, offset: Int64? = nil, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]) {
            self.partition = partition
            self.offset = offset
            self.key = key.map(hex)
            self.value = value.map(hex)
            self.headers = headers.map { [$0.key, $0.value.map(hex)] }
        }

        /// Key, value and headers only (where it is is compared separately).
        func sameContent(_ other: Record) -> Bool { key == other.key && value == other.value && headers == other.headers }

        var description: String { "p\(partition ?? -1)@\(offset ?? -1) key=\(key ?? "null") value=\(value ?? "null") headers=\(headers)" }
    }

    struct Consumed: Decodable {
        var records: [Record]
        var errors: [String]
    }

    struct Delivery: Decodable {
        var partition: Int32
        var offset: Int64
        var error: String?
    }

    struct Deliveries: Decodable {
        var deliveries: [Delivery?]
    }

    struct GroupState: Decodable {
        var assignment: [Int32]
        var values: [String?]
        var errors: [String]
        var closed: Bool
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func unhex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8).map { $0 <= 57 ? $0 - 48 : $0 - 87 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}

extension KafkaTestCluster {
    var bootstrapString: String { bootstrap.map { "\($0.host):\($0.port)" }.joined(separator: ",") }
}

extension KafkaClientIntegrationSuites {
    @Suite("Swift Kafka clients and librdkafka read each other's records and share a group",
           .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason),
           .enabled(LibrdkafkaPeer.skipReason, LibrdkafkaPeer.available))
    struct KafkaLibrdkafkaInteropTests {
        static let compressions: [(KafkaTestCluster, CompressionCodec)] = KafkaTestCluster.all.flatMap { cluster in
            CompressionCodec.allCases.map { (cluster, $0) }
        }

        /// Keys (some null), values (some null, some binary, some empty), headers (some with
        /// null values, some repeated keys).
        static func sampleRecords(count: Int) -> [(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader])] {
            (0..<count).map { index in
                let key: [UInt8]? = index % 7 == 0 ? nil : Array("key-\(index % 40)".utf8)
                let value: [UInt8]? = index % 11 == 0 ? nil
                    : index % 13 == 0 ? []
                    : Array("value-\(index)-".utf8) + (0..<(index % 50)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ index) }
                let headers: [RecordHeader] = index % 5 == 0
                    ? [RecordHeader(key: "h", value: Array("\(index)".utf8)), RecordHeader(key: "null", value: nil),
                       RecordHeader(key: "h", value: [0, 255, UInt8(index % 256)]), RecordHeader(key: "empty", value: [])]
                    : index % 3 == 0 ? [RecordHeader(key: "only", value: nil)] : []
                return (key, value, headers)
            }
        }

        @Test("what the Swift producer writes, a librdkafka consumer reads identically", arguments: compressions)
        func swiftProducesLibrdkafkaConsumes(cluster: KafkaTestCluster, compression: CompressionCodec) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-interop-s2r-\(compression)")
            let partitions = 3
            try await cluster.createTopic(client, topic, partitions: Int32(partitions))
            let samples = Self.sampleRecords(count: 400)
            let producer = try KafkaProducer(client: client, configuration: KafkaProducerConfiguration(
                linger: .milliseconds(2), batchSize: 4096, compression: compression))
            let log = DeliveryLog()
            for (index, sample) in samples.enumerated() {
                try await producer.produce(
                    ProducerRecord(topic: topic, key: sample.key, value: sample.value, headers: sample.headers), onDelivery: log.handler(for: index))
            }
            await producer.flush()
            await producer.close()
            #expect(log.failures.isEmpty, "produce failures: \(log.failures.prefix(3))")
            let delivered = log.delivered
            try #require(delivered.count == samples.count)

            // Where each record went, by the Swift producer's acknowledgements.
            var expected: [String: LibrdkafkaPeer.Record] = [:]
            for (index, sample) in samples.enumerated() {
                let metadata = delivered[index]!
                if let key = sample.key {
                    #expect(metadata.partition == DefaultPartitioner.partition(forKey: key, partitionCount: partitions))
                }
                expected["\(metadata.partition)@\(metadata.offset)"] = LibrdkafkaPeer.Record(
                    partition: metadata.partition, offset: metadata.offset, key: sample.key, value: sample.value, headers: sample.headers)
            }

            let read = try await LibrdkafkaPeer.run("consume", [
                cluster.bootstrapString, topic, "\(partitions)", "\(samples.count)", LibrdkafkaPeer.outputPlaceholder, "30",
            ], as: LibrdkafkaPeer.Consumed.self)
            #expect(read.errors.isEmpty, "librdkafka consumer errors: \(read.errors.prefix(3))")
            #expect(read.records.count == samples.count)
            var mismatches: [String] = []
            for record in read.records {
                let position = "\(record.partition!)@\(record.offset!)"
                if let sent = expected[position], sent.sameContent(record) { continue }
                mismatches.append("read \(record), sent \(expected[position].map(\.description) ?? "nothing there")")
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) records differ, first: \(mismatches.prefix(3))")
            for partition in Int32(0)..<Int32(partitions) {
                let offsets = read.records.filter { $0.partition == partition }.map { $0.offset! }
                let sentOffsets = delivered.values.filter { $0.partition == partition }.map(\.offset).sorted()
                #expect(offsets == sentOffsets, "partition \(partition): librdkafka read offsets in another order or set than written")
            }
        }

        @Test("what a librdkafka producer writes, the Swift consumer reads identically, keyed records where DefaultPartitioner puts them",
              arguments: compressions)
        func librdkafkaProducesSwiftConsumes(cluster: KafkaTestCluster, compression: CompressionCodec) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-interop-r2s-\(compression)")
            let partitions = 3
            try await cluster.createTopic(client, topic, partitions: Int32(partitions))
            let samples = Self.sampleRecords(count: 400)
            let input = LibrdkafkaPeer.temporaryFile()
            defer { try? FileManager.default.removeItem(at: input) }
            struct Input: Encodable { var records: [LibrdkafkaPeer.Record] }
            try JSONEncoder().encode(Input(records: samples.map { LibrdkafkaPeer.Record(key: $0.key, value: $0.value, headers: $0.headers) }))
                .write(to: input)
            let report = try await LibrdkafkaPeer.run("produce", [
                cluster.bootstrapString, topic, "\(compression)", input.path, LibrdkafkaPeer.outputPlaceholder,
            ], as: LibrdkafkaPeer.Deliveries.self)
            try #require(report.deliveries.count == samples.count)
            let failures = report.deliveries.enumerated().filter { $0.element == nil || $0.element?.error != nil }
            try #require(failures.isEmpty, "librdkafka delivery failures: \(failures.prefix(3).map { "\($0.offset): \($0.element?.error ?? "no report")" })")

            var expected: [String: LibrdkafkaPeer.Record] = [:]
            for (index, sample) in samples.enumerated() {
                let delivery = report.deliveries[index]!
                if let key = sample.key {
                    #expect(delivery.partition == DefaultPartitioner.partition(forKey: key, partitionCount: partitions),
                            "librdkafka (murmur2_random) put key \(String(decoding: key, as: UTF8.self)) elsewhere")
                }
                expected["\(delivery.partition)@\(delivery.offset)"] = LibrdkafkaPeer.Record(
                    partition: delivery.partition, offset: delivery.offset, key: sample.key, value: sample.value, headers: sample.headers)
            }

            let consumer = cluster.makeConsumer()
            try await consumer.assign((0..<Int32(partitions)).map { TopicPartition(topic, $0) })
            let records = try await pollRecords(consumer, count: samples.count, timeout: .seconds(30))
            await consumer.close()
            #expect(records.count == samples.count)
            var mismatches: [String] = []
            for record in records {
                let got = LibrdkafkaPeer.Record(
                    partition: record.partition, offset: record.offset, key: record.key, value: record.value, headers: record.headers)
                let position = "\(record.partition)@\(record.offset)"
                if let sent = expected[position], sent.sameContent(got) { continue }
                mismatches.append("read \(got), sent \(expected[position].map(\.description) ?? "nothing there")")
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) records differ, first: \(mismatches.prefix(3))")
            for partition in Int32(0)..<Int32(partitions) {
                let offsets = records.filter { $0.partition == partition }.map(\.offset)
                let sentOffsets = report.deliveries.compactMap { $0 }.filter { $0.partition == partition }.map(\.offset).sorted()
                #expect(offsets == sentOffsets, "partition \(partition): Swift read offsets in another order or set than librdkafka wrote")
            }
        }

        static let groupCases: [(KafkaTestCluster, String)] = KafkaTestCluster.all.flatMap { cluster in
            [(cluster, "range"), (cluster, "roundrobin")]
        }

        @Test("two Swift consumers and one librdkafka consumer share a 6-partition topic in one group", arguments: groupCases)
        func mixedGroup(cluster: KafkaTestCluster, assignorName: String) async throws {
            let client = cluster.makeClient()
            defer { Task { await client.close() } }
            let topic = KafkaTestCluster.uniqueTopic("lab-interop-group-\(assignorName)")
            let group = KafkaTestCluster.uniqueTopic("lab-interop-group-\(assignorName)")
            let partitionCount = 6, recordCount = 600
            try await cluster.createTopic(client, topic, partitions: Int32(partitionCount))
            let started = ContinuousClock.now
            func note(_ text: String) { print("mixedGroup \(cluster.name) \(assignorName) +\(ContinuousClock.now - started): \(text)") }

            let assignor: any PartitionAssignor = assignorName == "roundrobin" ? RoundRobinAssignor() : RangeAssignor()
            let swiftMembers = (0..<2).map { _ in
                GroupMemberLoop(consumer: cluster.makeConsumer(group: group, assignors: [assignor]), listener: RebalanceLog())
            }
            let stateFile = LibrdkafkaPeer.temporaryFile()
            let stopFile = LibrdkafkaPeer.temporaryFile(".stop")
            defer {
                try? FileManager.default.removeItem(at: stateFile)
                try? FileManager.default.removeItem(at: stopFile)
            }
            let python = try #require(LibrdkafkaPeer.python)
            let peer = Task {
                await ChildProcess.run(python, [
                    LibrdkafkaPeer.script, "group", cluster.bootstrapString, topic, group, assignorName, stateFile.path, stopFile.path, "120",
                ])
            }
            func peerState() -> LibrdkafkaPeer.GroupState? {
                (try? Data(contentsOf: stateFile)).flatMap { try? JSONDecoder().decode(LibrdkafkaPeer.GroupState.self, from: $0) }
            }
            for member in swiftMembers { try await member.start(topic: topic) }

            // Settled: the three assignments are disjoint, cover all six, each member holds two.
            var assignments: [[Int32]] = []
            var deadline = ContinuousClock.now + .seconds(60)
            var settled = false
            while ContinuousClock.now < deadline {
                assignments = []
                for member in swiftMembers {
                    assignments.append(await member.consumer.assignment.filter { $0.topic == topic }.map(\.partition).sorted())
                }
                assignments.append(peerState()?.assignment ?? [])
                let all = assignments.flatMap { $0 }
                if all.count == partitionCount, Set(all).count == partitionCount, assignments.allSatisfy({ $0.count == 2 }) {
                    // Still the same a moment later (not a snapshot in the middle of a rebalance).
                    try await Task.sleep(for: .seconds(1))
                    var again: [[Int32]] = []
                    for member in swiftMembers {
                        again.append(await member.consumer.assignment.filter { $0.topic == topic }.map(\.partition).sorted())
                    }
                    again.append(peerState()?.assignment ?? [])
                    if again == assignments { settled = true; break }
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(settled, "the group did not settle to 2/2/2 disjoint partitions (Swift, Swift, librdkafka): \(assignments)")
            if settled, assignorName == "range" {
                // Range over one topic gives each member a contiguous run of partitions.
                #expect(Set(assignments) == [[0, 1], [2, 3], [4, 5]], "\(assignments)")
            }

            note("settled: \(settled) \(assignments)")

            // Produced once the group is settled (before, the first member to join could read
            // everything alone); together they consume it all (at least once).
            try await cluster.produce((0..<recordCount).map {
                ProducerRecord(topic: topic, partition: Int32($0 % partitionCount), key: nil, value: "v\($0)")
            })
            let wanted = Set((0..<recordCount).map { "v\($0)" })
            var values: Set<String> = []
            var swiftShare = 0, peerShare = 0
            deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let swiftValues = swiftMembers.flatMap(\.consumed).compactMap(\.valueString)
                let peerValues = (peerState()?.values ?? []).compactMap { $0.map { String(decoding: LibrdkafkaPeer.unhex($0), as: UTF8.self) } }
                swiftShare = swiftValues.count
                peerShare = peerValues.count
                values = Set(swiftValues).union(peerValues)
                if values == wanted { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(values == wanted, "consumed \(values.count) of \(recordCount) distinct records (Swift \(swiftShare), librdkafka \(peerShare))")
            #expect(peerShare > 0, "the librdkafka member consumed nothing")

            note("consumed: Swift \(swiftShare), librdkafka \(peerShare)")
            try Data().write(to: stopFile)
            let status = await peer.value
            note("librdkafka member exited")
            for member in swiftMembers { await member.stop() }
            note("Swift members stopped")
            #expect(status == 0, "librdkafka_peer.py group exited with \(status)")
            let final = peerState()
            #expect(final?.closed == true, "the librdkafka member did not close")
            let swiftErrors = swiftMembers.flatMap(\.errors)
            #expect(swiftErrors.isEmpty, "Swift member errors: \(swiftErrors.prefix(3))")
            let peerErrors = (final?.errors ?? []).filter { !$0.hasPrefix("commit:") }
            #expect(peerErrors.isEmpty, "librdkafka member errors: \(peerErrors.prefix(3))")
        }
    }
}

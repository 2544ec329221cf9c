import ArgumentParser
import Foundation
import KafkaWire
import Synchronization
import WireCore

/// `lab bench kafka`: produce throughput of the Swift `KafkaProducer` and of librdkafka (a
/// Python peer over confluent-kafka, run with the .venv python) against the same broker, with
/// the same producer settings, each side into a fresh topic with the same partitions and
/// replication. Per case and side: MESSAGES keyless records of SIZE bytes, timed from the
/// first produce until flush returns; only records acknowledged without error count, and the
/// case fails unless both sides got all of them acknowledged.
///
/// Cases: `acks1` (acks=1, no idempotence), `acksall` (acks=all, no idempotence),
/// `idempotent` (acks=all with idempotence).
///
/// `consume` (printed as `kafka-consume`): one topic pre-filled once with MESSAGES × SIZE by the
/// Swift producer (untimed), then read from the earliest offsets of all its partitions by the
/// Swift `KafkaConsumer` (assign, no group, `poll` loop) and by confluent-kafka's Consumer
/// (assign at OFFSET_BEGINNING, no group commits, `consume(num_messages:)` loop), each until
/// MESSAGES records; timed from the first poll until the last record; both sides must see
/// exactly MESSAGES records with SIZE-byte values and end at positions summing to MESSAGES.
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce throughput of the Swift KafkaProducer vs librdkafka (confluent-kafka), same broker and settings.",
        discussion: """
            Creates a topic per case and side (lab-bench-<case>-<side>-<id>) and deletes it \
            afterwards. The peer is a Python script embedded in this command, run with the \
            .venv python (scripts/setup installs confluent-kafka there). Both sides: linger \
            --linger-ms, batch.size --batch-size (librdkafka: batch.num.messages set high so \
            that batch.size decides), --max-in-flight requests per connection, --buffer-mb of \
            buffered records, max request 1 MiB, no compression. Peak memory: the Swift \
            process's VmHWM during its run (reset through /proc/self/clear_refs first); the \
            peer's VmHWM, which the script reads itself (not ru_maxrss: \
            Linux carries the parent's peak across fork+exec), the Python interpreter and \
            confluent-kafka included; base: each side's RSS before its producer exists.

            consume: both consumers use fetch.max.bytes --fetch-max-mb MiB, \
            max.partition.fetch.bytes 1 MiB, fetch.wait.max 500 ms, fetch.min.bytes 1, \
            CRC checks on (librdkafka check.crcs=true; the Swift decoder always checks), \
            read_uncommitted, up to --max-poll-records records per poll (Swift maxPollRecords, \
            confluent-kafka consume(num_messages=)); librdkafka prefetches in its own threads \
            as it always does (queued.min.messages default), with fetch.queue.backoff.ms \
            --peer-fetch-queue-backoff-ms (0: no idle second when its queue is full).
            """
    )

    static let cases = ["acks1", "acksall", "idempotent", "consume"]

    @Option(help: "Bootstrap servers (default: $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP, else 127.0.0.1:19092).")
    var bootstrap = ProcessInfo.processInfo.environment["LAB_KAFKA_BOOTSTRAP"]
        ?? ProcessInfo.processInfo.environment["LAB_KAFKA_TANSU_BOOTSTRAP"] ?? "127.0.0.1:19092"

    @Option(help: "Records per case and side.")
    var messages = 1_000_000

    @Option(help: "Value size in bytes (records are keyless).")
    var size = 100

    @Option(help: "Partitions of each topic.")
    var partitions: Int32 = 6

    @Option(help: "Replication factor of each topic (default: 3 when the cluster has 3 or more brokers, else 1).")
    var replication: Int16?

    @Option(help: "Comma-separated cases (\(cases.joined(separator: ","))).")
    var cases = cases.joined(separator: ",")

    @Option(help: "linger.ms on both sides.")
    var lingerMs = 5

    @Option(help: "batch.size in bytes on both sides.")
    var batchSize = 1_000_000

    @Option(help: "max.in.flight.requests.per.connection on both sides.")
    var maxInFlight = 5

    @Option(help: "Buffered record bytes before produce waits (Swift buffer.memory, librdkafka queue.buffering.max.kbytes), MiB.")
    var bufferMb = 32

    @Option(help: "Alternate the Swift producer and the peer this many times per case (each round: all the messages, fresh topics).")
    var rounds = 1

    @Option(help: "consume: records per poll on both sides (Swift maxPollRecords, confluent-kafka consume(num_messages=)).")
    var maxPollRecords = 10_000

    @Option(help: "consume: librdkafka fetch.queue.backoff.ms (its default, 1000, idles a partition's fetching for a second whenever its local queue passes queued.min.messages; the Swift consumer has no such pause).")
    var peerFetchQueueBackoffMs = 0

    @Option(help: "consume: fetch.max.bytes on both sides, MiB.")
    var fetchMaxMb = 50

    @Option(help: "Python with confluent-kafka (default: .venv/bin/python in the current directory or a parent, or of the source tree).")
    var python: String?

    static let maxRequestBytes = 1_048_576

    func validate() throws {
        guard messages > 0, size >= 0, partitions > 0, lingerMs >= 0, batchSize > 0, maxInFlight > 0, bufferMb > 0, rounds > 0,
              maxPollRecords > 0, fetchMaxMb > 0 else {
            throw ValidationError("--messages, --partitions, --batch-size, --max-in-flight, --buffer-mb and --rounds must be positive")
        }
        let unknown = Set(selected).subtracting(Self.cases)
        guard unknown.isEmpty else { throw ValidationError("unknown case(s) \(unknown.sorted()); known: \(Self.cases.joined(separator: ","))") }
        if selected.contains("idempotent") && maxInFlight > 5 { throw ValidationError("idempotence allows at most 5 requests in flight") }
    }

    var selected: [String] {
        cases.split(separator: ",").map { $0 == "kafka-consume" ? "consume" : String($0) }
    }

    func run() async throws {
        let pythonPath = try locatePython()
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("lab-kafka-peer-\(UUID().uuidString).py")
        try Data(kafkaPeerSource.utf8).write(to: script)
        defer { try? FileManager.default.removeItem(at: script) }

        let admin: KafkaAdmin
        let brokers: Int
        do {
            admin = KafkaAdmin(client: try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-bench-admin"))
            brokers = try await admin.client.bootstrap().brokers.count
        } catch {
            throw ValidationError("cannot reach Kafka at \(bootstrap): \(error) — start it with `scripts/infra up`")
        }
        defer { Task { [client = admin.client] in await client.close() } }
        let replicationFactor = replication ?? (brokers >= 3 ? 3 : 1)

        print("lab bench kafka: \(bootstrap) (\(brokers) brokers), \(messages) keyless records × \(size) B per case and side, "
            + "\(partitions) partitions, replication \(replicationFactor), \(rounds) round(s)")
        print("  both sides: linger.ms=\(lingerMs) batch.size=\(batchSize) (librdkafka batch.num.messages=1000000) "
            + "max.in.flight=\(maxInFlight) buffer=\(bufferMb) MiB max.request=\(Self.maxRequestBytes) compression=none; "
            + "peer: confluent-kafka via \(pythonPath), poll(0) per produce, flush at the end")
        var failures = 0
        for name in selected {
            if name == "consume" {
                if try await !runConsumeCase(admin: admin, replicationFactor: replicationFactor, python: pythonPath, script: script.path) {
                    failures += 1
                }
                continue
            }
            if try await !runCase(name, admin: admin, replicationFactor: replicationFactor, python: pythonPath, script: script.path) {
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    // MARK: Cases

    struct Tally {
        var delivered = 0
        var failed = 0
        var seconds = 0.0
        var cpuSeconds = 0.0
        var peakKB = 0
        var baseKB = 0
        var error: String?
        var rate: Double { seconds > 0 ? Double(delivered) / seconds : 0 }
        var cpuNanosecondsPerMessage: Double { delivered > 0 ? cpuSeconds * 1e9 / Double(delivered) : 0 }

        mutating func add(_ other: Tally) {
            delivered += other.delivered
            failed += other.failed
            seconds += other.seconds
            cpuSeconds += other.cpuSeconds
            peakKB = max(peakKB, other.peakKB)
            baseKB = max(baseKB, other.baseKB)
            error = error ?? other.error
        }
    }

    /// Runs one case (all rounds); prints its RESULT line; returns whether it passed.
    func runCase(_ name: String, admin: KafkaAdmin, replicationFactor: Int16, python: String, script: String) async throws -> Bool {
        let acks: KafkaAcks = name == "acks1" ? .leader : .all
        let idempotent = name == "idempotent"
        var swift = Tally()
        var peer = Tally()
        for _ in 0..<rounds {
            let swiftTopic = try await createTopic(name, side: "swift", admin: admin, replicationFactor: replicationFactor)
            var round: Tally
            do {
                round = try await produceSwift(topic: swiftTopic, acks: acks, idempotent: idempotent)
            } catch {
                round = Tally(error: "\(error)")
            }
            swift.add(round)
            await deleteTopic(swiftTopic, admin: admin)

            let peerTopic = try await createTopic(name, side: "peer", admin: admin, replicationFactor: replicationFactor)
            do {
                round = try producePeer(python: python, script: script, topic: peerTopic, acks: acks, idempotent: idempotent)
            } catch {
                round = Tally(error: "\(error)")
            }
            peer.add(round)
            await deleteTopic(peerTopic, admin: admin)
        }
        let expected = messages * rounds
        var problems: [String] = []
        for (side, tally) in [("swift", swift), ("peer", peer)] {
            if tally.delivered != expected || tally.failed > 0 || tally.error != nil {
                problems.append("\(side) acknowledged \(tally.delivered)/\(expected), failed \(tally.failed)"
                    + (tally.error.map { " (\($0))" } ?? ""))
            }
        }
        let memory = "peak_rss_mb=\(megabytes(swift.peakKB))/\(megabytes(peer.peakKB)) (base \(megabytes(swift.baseKB))/\(megabytes(peer.baseKB)))"
        let cpu = String(format: "cpu_ns_per_msg=%.0f/%.0f", swift.cpuNanosecondsPerMessage, peer.cpuNanosecondsPerMessage)
        let status = problems.isEmpty ? "ok" : "FAILED: " + problems.joined(separator: "; ")
        printResult("kafka-produce-\(name)", swift: swift.rate, peer: peer.rate, unit: "msg/s",
                    extra: "messages=\(expected) size=\(size) \(cpu) \(memory) status=\(status)")
        return problems.isEmpty
    }

    func megabytes(_ kilobytes: Int) -> String { String(format: "%.1f", Double(kilobytes) / 1024) }

    func createTopic(_ name: String, side: String, admin: KafkaAdmin, replicationFactor: Int16) async throws -> String {
        let topic = "lab-bench-\(name)-\(side)-\(UUID().uuidString.prefix(8).lowercased())"
        try await admin.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
        // Leaders elected everywhere before either side starts its clock.
        let deadline = NanoTime.now() + .seconds(30)
        while true {
            let metadata = try? await admin.client.refreshMetadata(topics: [topic])
            if let entry = metadata?.topics[topic], entry.partitions.count == Int(partitions),
               entry.partitions.values.allSatisfy({ $0.leaderID >= 0 }) {
                return topic
            }
            guard NanoTime.now() < deadline else { throw ValidationError("topic \(topic): no leaders after 30 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func deleteTopic(_ topic: String, admin: KafkaAdmin) async {
        do {
            try await admin.deleteTopics([topic])
            await admin.client.forgetTopic(topic)
        } catch {
            print("  (could not delete \(topic): \(error))")
        }
    }

    /// The Swift producer's run: MESSAGES records through `produce` with a delivery handler
    /// that counts successes, then `flush`.
    func produceSwift(topic: String, acks: KafkaAcks, idempotent: Bool) async throws -> Tally {
        let configuration = KafkaProducerConfiguration(
            acks: acks, idempotent: idempotent, linger: .milliseconds(lingerMs), batchSize: batchSize,
            maxRequestSize: Self.maxRequestBytes, bufferMemory: bufferMb * 1_048_576,
            maxInFlightRequestsPerConnection: maxInFlight)
        let producer = try KafkaProducer(bootstrapServers: bootstrap, clientID: "lab-bench-swift", configuration: configuration)
        // The same metadata round trip as the peer's list_topics before its clock starts.
        _ = try await producer.client.partitions(of: topic)
        let counts = Counts()
        let handler: KafkaDeliveryHandler = { result in
            switch result {
            case .success: counts.delivered.add(1, ordering: .relaxed)
            case let .failure(error):
                if counts.failed.add(1, ordering: .relaxed).oldValue == 0 { counts.firstError.withLock { $0 = "\(error)" } }
            }
        }
        let record = ProducerRecord(topic: topic, key: nil, value: [UInt8](repeating: UInt8(ascii: "x"), count: size))
        let messages = self.messages
        let baseKB = MemoryUsage.resetPeak()
        let cpuStart = processCPUSeconds()
        let start = NanoTime.now()
        let outcome: Result<Void, KafkaProducerError> = await Task.detached {
            do throws(KafkaProducerError) {
                for _ in 0..<messages { try await producer.produce(record, onDelivery: handler) }
                await producer.flush()
                return .success(())
            } catch {
                return .failure(error)
            }
        }.value
        let elapsed = (NanoTime.now() - start).seconds
        let cpu = processCPUSeconds() - cpuStart
        let peakKB = MemoryUsage.peakKB()
        let statistics = producer.statistics
        await producer.close()
        var tally = Tally(
            delivered: counts.delivered.load(ordering: .relaxed), failed: counts.failed.load(ordering: .relaxed),
            seconds: elapsed, cpuSeconds: cpu, peakKB: peakKB, baseKB: baseKB, error: counts.firstError.withLock { $0 })
        if case let .failure(error) = outcome { tally.error = tally.error ?? "\(error)" }
        if statistics.recordsDelivered != tally.delivered {
            tally.error = tally.error ?? "statistics say \(statistics.recordsDelivered) delivered, handlers \(tally.delivered)"
        }
        return tally
    }

    final class Counts: Sendable {
        let delivered = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let firstError = Mutex<String?>(nil)
    }

    func producePeer(python: String, script: String, topic: String, acks: KafkaAcks, idempotent: Bool) throws -> Tally {
        let output = try PeerProcess.run(python, [
            script, bootstrap, topic, String(messages), String(size), acks == .all ? "all" : "1", idempotent ? "1" : "0",
            String(lingerMs), String(batchSize), "1000000", String(maxInFlight), String(bufferMb * 1024), String(Self.maxRequestBytes),
        ])
        for fields in PeerProcess.reportFields(in: output, linesStartingWith: "PEER ") {
            if let delivered = fields["delivered"].flatMap({ Int($0) }), let failed = fields["failed"].flatMap({ Int($0) }),
               let seconds = fields["seconds"].flatMap({ Double($0) }), let cpu = fields["cpu_seconds"].flatMap({ Double($0) }),
               let peak = fields["maxrss_kb"].flatMap({ Int($0) }), let base = fields["baseline_kb"].flatMap({ Int($0) }) {
                return Tally(delivered: delivered, failed: failed, seconds: seconds, cpuSeconds: cpu, peakKB: peak, baseKB: base,
                             error: fields["error"].map(String.init))
            }
        }
        throw PeerProcess.Failure(description: "could not read the peer's output:\n\(output)")
    }

    func locatePython() throws -> String {
        if let python {
            guard FileManager.default.isExecutableFile(atPath: python) else { throw ValidationError("--python \(python) is not executable") }
            return python
        }
        for start in [FileManager.default.currentDirectoryPath, URL(fileURLWithPath: #filePath).deletingLastPathComponent().path] {
            var directory = URL(fileURLWithPath: start)
            while true {
                let candidate = directory.appendingPathComponent(".venv/bin/python").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        throw ValidationError("no .venv/bin/python found (run scripts/setup, or pass --python)")
    }
}

/// This process's resident memory from /proc/self/status.
enum MemoryUsage {
    /// Resets the peak (VmHWM) to the current RSS; returns the current RSS in KiB.
    static func resetPeak() -> Int {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
        return field("VmRSS")
    }

    /// The peak RSS (VmHWM) in KiB.
    static func peakKB() -> Int { field("VmHWM") }

    private static func field(_ name: String) -> Int {
        // procfs files report size 0: read to the end rather than by the stat size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status"),
              let data = try? handle.readToEnd() else { return 0 }
        try? handle.close()
        let status = String(decoding: data, as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
        }
        return 0
    }
}

// MARK: Consume

extension KafkaBench {
    static let maxPartitionFetchBytes: Int32 = 1_048_576
    static let fetchMaxWaitMs = 500
    static let fetchMinBytes: Int32 = 1

    /// `kafka-consume`: pre-fills one topic, then each round reads it all with the Swift
    /// consumer and with the peer's.
    func runConsumeCase(admin: KafkaAdmin, replicationFactor: Int16, python: String, script: String) async throws -> Bool {
        let topic = try await createTopic("consume", side: "shared", admin: admin, replicationFactor: replicationFactor)
        defer { Task { [admin] in await deleteTopic(topic, admin: admin) } }
        let fillStart = NanoTime.now()
        let filled = try await produceSwift(topic: topic, acks: .all, idempotent: false)
        guard filled.delivered == messages, filled.error == nil else {
            print("RESULT kafka-consume swift=0 peer=0 ratio=0 status=FAILED: pre-fill acknowledged \(filled.delivered)/\(messages) "
                + (filled.error ?? ""))
            return false
        }
        print(String(format: "  consume: pre-filled %@ with %d × %d B in %.1f s; both sides: fetch.max.bytes=%d max.partition.fetch.bytes=%d "
            + "fetch.wait.max=%d ms fetch.min.bytes=%d check.crcs=true records/poll=%d read_uncommitted, no group; "
            + "peer fetch.queue.backoff.ms=%d",
            topic, messages, size, (NanoTime.now() - fillStart).seconds, fetchMaxMb * 1_048_576, Self.maxPartitionFetchBytes,
            Self.fetchMaxWaitMs, Self.fetchMinBytes, maxPollRecords, peerFetchQueueBackoffMs))
        var swift = Tally()
        var peer = Tally()
        for _ in 0..<rounds {
            var round: Tally
            do { round = try await consumeSwift(topic: topic) } catch { round = Tally(error: "\(error)") }
            swift.add(round)
            do { round = try consumePeer(python: python, script: script, topic: topic) } catch { round = Tally(error: "\(error)") }
            peer.add(round)
        }
        let expected = messages * rounds
        var problems: [String] = []
        for (side, tally) in [("swift", swift), ("peer", peer)] where tally.delivered != expected || tally.failed > 0 || tally.error != nil {
            problems.append("\(side) consumed \(tally.delivered)/\(expected), bad \(tally.failed)" + (tally.error.map { " (\($0))" } ?? ""))
        }
        let memory = "peak_rss_mb=\(megabytes(swift.peakKB))/\(megabytes(peer.peakKB)) (base \(megabytes(swift.baseKB))/\(megabytes(peer.baseKB)))"
        let cpu = String(format: "cpu_ns_per_msg=%.0f/%.0f", swift.cpuNanosecondsPerMessage, peer.cpuNanosecondsPerMessage)
        let status = problems.isEmpty ? "ok" : "FAILED: " + problems.joined(separator: "; ")
        printResult("kafka-consume", swift: swift.rate, peer: peer.rate, unit: "msg/s",
                    extra: "messages=\(expected) size=\(size) partitions=\(partitions) \(cpu) \(memory) status=\(status)")
        return problems.isEmpty
    }

    /// The Swift consumer's run: assign every partition, earliest, `poll` until MESSAGES
    /// records; `failed` counts records with a value of the wrong size; the positions must
    /// end summing to MESSAGES (each record once).
    func consumeSwift(topic: String) async throws -> Tally {
        let configuration = KafkaConsumerConfiguration(
            groupID: nil, autoOffsetReset: .earliest, enableAutoCommit: false, maxPollRecords: maxPollRecords,
            fetchMinBytes: Self.fetchMinBytes, fetchMaxWait: .milliseconds(Self.fetchMaxWaitMs),
            fetchMaxBytes: Int32(fetchMaxMb * 1_048_576), maxPartitionFetchBytes: Self.maxPartitionFetchBytes)
        let consumer = try KafkaConsumer(bootstrapServers: bootstrap, clientID: "lab-bench-swift-consumer", configuration: configuration)
        let assignment = (0..<partitions).map { TopicPartition(topic, $0) }
        // The same metadata round trip as the peer's list_topics before its clock starts.
        _ = try await consumer.client.partitions(of: topic)
        try await consumer.assign(assignment)
        let messages = self.messages
        let size = self.size
        let baseKB = MemoryUsage.resetPeak()
        let cpuStart = processCPUSeconds()
        let start = NanoTime.now()
        let outcome: Result<(Int, Int), KafkaConsumerError> = await Task.detached {
            var count = 0
            var bad = 0
            var idle = 0
            do throws(KafkaConsumerError) {
                while count < messages {
                    let records = try await consumer.poll(timeout: .seconds(1))
                    if records.isEmpty {
                        idle += 1
                        if idle >= 30 { break }
                        continue
                    }
                    idle = 0
                    count += records.count
                    for record in records where record.value?.count != size { bad += 1 }
                }
                return .success((count, bad))
            } catch {
                return .failure(error)
            }
        }.value
        let elapsed = (NanoTime.now() - start).seconds
        let cpu = processCPUSeconds() - cpuStart
        let peakKB = MemoryUsage.peakKB()
        var positions: Int64 = 0
        for tp in assignment { positions += await consumer.position(tp) ?? 0 }
        await consumer.close()
        switch outcome {
        case let .success((count, bad)):
            var tally = Tally(delivered: count, failed: bad, seconds: elapsed, cpuSeconds: cpu, peakKB: peakKB, baseKB: baseKB)
            if count < messages { tally.error = "no records for 30 s after \(count)" }
            if positions != Int64(messages) { tally.error = tally.error ?? "positions sum to \(positions)" }
            return tally
        case let .failure(error):
            return Tally(seconds: elapsed, cpuSeconds: cpu, peakKB: peakKB, baseKB: baseKB, error: "\(error)")
        }
    }

    func consumePeer(python: String, script: String, topic: String) throws -> Tally {
        let output = try PeerProcess.run(python, [
            script, "consume", bootstrap, topic, String(messages), String(size), String(partitions),
            String(maxPollRecords), String(fetchMaxMb * 1_048_576), String(Self.maxPartitionFetchBytes),
            String(Self.fetchMaxWaitMs), String(Self.fetchMinBytes), String(peerFetchQueueBackoffMs),
        ])
        for fields in PeerProcess.reportFields(in: output, linesStartingWith: "PEER ") {
            if let consumed = fields["consumed"].flatMap({ Int($0) }), let bad = fields["bad"].flatMap({ Int($0) }),
               let seconds = fields["seconds"].flatMap({ Double($0) }), let cpu = fields["cpu_seconds"].flatMap({ Double($0) }),
               let peak = fields["maxrss_kb"].flatMap({ Int($0) }), let base = fields["baseline_kb"].flatMap({ Int($0) }) {
                return Tally(delivered: consumed, failed: bad, seconds: seconds, cpuSeconds: cpu, peakKB: peak, baseKB: base,
                             error: fields["error"].map(String.init))
            }
        }
        throw PeerProcess.Failure(description: "could not read the peer's output:\n\(output)")
    }
}

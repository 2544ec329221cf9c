import ArgumentParser
import KafkaWire
import Synchronization

struct KafkaProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce stdin, one record per line.",
        discussion: """
        Failed records are reported on stderr, one line each, then a summary
        "produced N records (M failed)" (N: delivered); the exit code is 1 when any failed.

        Examples:
          printf 'k1:v1\\nk2:v2\\n' | lab kafka produce orders --key-separator :
          seq 100 | lab kafka produce orders --acks 1 --compression zstd --header source=seq
        """
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(help: "acks: 0, 1 or all. Anything but all turns idempotence off.")
    var acks: String = "all"

    @Option(help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Flag(name: .customLong("no-idempotence"), help: "Produce without a producer id and sequence numbers.")
    var noIdempotence = false

    @Option(help: "Produce to this partition (default: by key, sticky for keyless records).")
    var partition: Int32?

    @Option(name: .customLong("key-separator"), help: "Each line is KEY<SEP>VALUE (a line without SEP has no key).")
    var keySeparator: String?

    @Option(name: .customLong("header"), help: "A header for every record, key=value (repeatable).")
    var headers: [String] = []

    @Option(name: .customLong("linger-ms"), help: "linger.ms (default 5).")
    var lingerMs: Int?

    @Option(name: .customLong("transactional-id"), help: "Write all input in one transaction with this transactional.id, then commit it.")
    var transactionalID: String?

    @Flag(help: "With --transactional-id: abort the transaction instead of committing it.")
    var abort = false

    @Argument(help: "The topic.")
    var topic: String

    struct Summary: Sendable, Equatable {
        var delivered: Int
        var failed: Int
    }

    func validate() throws {
        guard KafkaAcks(text: acks) != nil else { throw ValidationError("--acks: want 0, 1 or all, got '\(acks)'") }
        guard CompressionCodec.allCases.contains(where: { $0.description == compression.lowercased() }) else {
            throw ValidationError("--compression: want none, gzip, snappy, lz4 or zstd, got '\(compression)'")
        }
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator: must not be empty") }
        if let lingerMs, lingerMs < 0 { throw ValidationError("--linger-ms: must be ≥ 0") }
        if abort && transactionalID == nil { throw ValidationError("--abort needs --transactional-id") }
        if transactionalID != nil && (KafkaAcks(text: acks) != .all || noIdempotence) {
            throw ValidationError("--transactional-id needs acks=all and idempotence")
        }
        for entry in headers { _ = try splitKeyValue(entry, option: "--header") }
    }

    func producerConfiguration() -> KafkaProducerConfiguration {
        let acks = KafkaAcks(text: acks) ?? .all
        var configuration = KafkaProducerConfiguration(
            acks: acks, idempotent: !noIdempotence && acks == .all,
            compression: CompressionCodec.allCases.first { $0.description == compression.lowercased() } ?? .none)
        if let lingerMs { configuration.linger = .milliseconds(lingerMs) }
        configuration.transactionalID = transactionalID
        configuration.requestTimeout = .milliseconds(Int64(connection.timeout * 1000))
        return configuration
    }

    func record(for line: String, headers: [RecordHeader]) -> ProducerRecord {
        var key: String?
        var value = line
        if let keySeparator, let range = line.range(of: keySeparator) {
            key = String(line[..<range.lowerBound])
            value = String(line[range.upperBound...])
        }
        return ProducerRecord(topic: topic, partition: partition, key: key, value: value, headers: headers)
    }

    /// Produces every line of `input`; reports failures on `io.err`, one line each.
    func execute(input: AsyncStream<String>, io: KafkaCLIIO) async throws -> Summary {
        let headers = try headers.map { entry in
            let (key, value) = try splitKeyValue(entry, option: "--header")
            return RecordHeader(key: key, value: Array(value.utf8))
        }
        let client = try connection.makeClient()
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(client: client, configuration: producerConfiguration())
        } catch {
            await client.close()
            throw error
        }
        let counts = Mutex(Summary(delivered: 0, failed: 0))
        if transactionalID != nil {
            do {
                try await producer.initTransactions()
                try producer.beginTransaction()
            } catch {
                await producer.close()
                await client.close()
                throw error
            }
        }
        var lineNumber = 0
        for await line in input {
            lineNumber += 1
            let record = record(for: line, headers: headers)
            let number = lineNumber
            do {
                try await producer.produce(record) { result in
                    switch result {
                    case .success:
                        counts.withLock { $0.delivered += 1 }
                    case let .failure(error):
                        counts.withLock { $0.failed += 1 }
                        io.err("failed: line \(number) (key \(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-")): \(error)")
                    }
                }
            } catch {
                counts.withLock { $0.failed += 1 }
                io.err("failed: line \(number): \(error)")
                if case .closed = error { break }
            }
        }
        var transactionFailure: Error?
        if let transactionalID {
            do {
                if abort {
                    try await producer.abortTransaction()
                    io.err("transaction \(transactionalID) aborted")
                } else {
                    try await producer.commitTransaction()
                    io.err("transaction \(transactionalID) committed")
                }
            } catch {
                transactionFailure = error
                io.err("transaction \(transactionalID) failed: \(error)")
                try? await producer.abortTransaction()
            }
        }
        await producer.close()
        await client.close()
        var summary = counts.withLock { $0 }
        if transactionFailure != nil {
            // Nothing of an aborted transaction is visible to read_committed consumers.
            summary.failed += summary.delivered
            summary.delivered = 0
        }
        io.err("produced \(summary.delivered) records (\(summary.failed) failed)")
        return summary
    }

    func run() async throws {
        let summary: Summary
        do {
            summary = try await execute(input: KafkaCLIIO.standardInputLines(), io: .standard)
        } catch {
            KafkaCLIIO.standard.err("error: \(error)")
            throw ExitCode(1)
        }
        if summary.failed > 0 { throw ExitCode(1) }
    }
}

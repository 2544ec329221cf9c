import ArgumentParser
import KafkaWire

struct KafkaConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print records of a topic, one line each: partition offset key value headers.",
        discussion: """
        Without --group the partitions (all, or those given with --partition) are assigned and
        read from --from. With --group the consumer joins the group, starts at the committed
        offsets (--from beginning|end when there are none) and commits what it printed on exit.
        Stops after --count records, with --to-end once every partition reached the end offset
        it had at the start, else on SIGINT or SIGTERM.

        --format takes kcat's tokens: %t topic, %p partition, %o offset, %k key, %s value,
        %h headers (k=v,…), %T timestamp (ms), %K key length, %S value length, %% and the
        escapes \\n \\t \\\\. A newline ends each record unless the format ends with one.

        Examples:
          lab kafka consume orders --from beginning --to-end
          lab kafka consume orders --group audit --count 10
          lab kafka consume orders --partition 0 --from -5 --format '%o %s'
        """
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(help: "Consumer group: subscribe, start at its committed offsets, commit on exit.")
    var group: String?

    @Option(name: .customLong("partition"), help: "A partition to read (repeatable; default all). Not with --group.")
    var partitions: [Int32] = []

    @Option(help: "beginning, end, an offset, or -N (N before the end). With --group: where to start without a committed offset (beginning or end).")
    var from: String = "end"

    @Option(help: "Stop after this many records.")
    var count: Int?

    @Flag(name: .customLong("to-end"), help: "Stop when every partition reached the end offset it had at the start.")
    var toEnd = false

    @Option(help: "read_committed or read_uncommitted.")
    var isolation: String = "read_uncommitted"

    @Option(help: "Output format (kcat tokens, see above). Default: '%p %o %k %s' and the headers when there are any.")
    var format: String?

    @Argument(help: "The topic.")
    var topic: String

    enum StartPosition: Equatable {
        case beginning, end
        case offset(Int64)
        case fromEnd(Int64)
    }

    var startPosition: StartPosition? {
        switch from.lowercased() {
        case "beginning", "earliest", "start": return .beginning
        case "end", "latest": return .end
        default:
            guard let number = Int64(from) else { return nil }
            return number < 0 ? .fromEnd(-number) : .offset(number)
        }
    }

    func validate() throws {
        guard let start = startPosition else { throw ValidationError("--from: want beginning, end, an offset or -N, got '\(from)'") }
        guard ConsumerIsolation(text: isolation) != nil else {
            throw ValidationError("--isolation: want read_committed or read_uncommitted, got '\(isolation)'")
        }
        if let count, count < 1 { throw ValidationError("--count: must be ≥ 1") }
        if group != nil {
            if !partitions.isEmpty { throw ValidationError("--partition and --group exclude each other") }
            if start != .beginning && start != .end { throw ValidationError("with --group, --from is beginning or end") }
        }
    }

    struct Summary: Sendable, Equatable {
        var records: Int
    }

    /// Consumes until --count, --to-end or `stop`; writes each record to `io.out`.
    func execute(io: KafkaCLIIO, stop: KafkaCLIStop) async throws -> Summary {
        guard let start = startPosition, let isolation = ConsumerIsolation(text: isolation) else { throw KafkaCLIFailure("invalid options") }
        let formatter = KafkaRecordFormatter(format: format)
        let client = try connection.makeClient()
        let admin = KafkaAdmin(client: client)
        let timeout = Duration.milliseconds(Int64(connection.timeout * 1000))
        let consumer = KafkaConsumer(client: client, configuration: KafkaConsumerConfiguration(
            groupID: group, autoOffsetReset: start == .beginning ? .earliest : .latest,
            // Committed explicitly: only what was printed, which --count may cut short of what poll returned.
            enableAutoCommit: false, isolation: isolation, requestTimeout: timeout))
        var printed = 0
        var committable: [TopicPartition: Int64] = [:]
        do {
            // The end offsets at the start, for --to-end and -N.
            var ends: [Int32: Int64] = [:]
            if toEnd || { if case .fromEnd = start { return true } else { return false } }() {
                let latest = try await admin.listOffsets(
                    topic: topic, partitions: partitions.isEmpty ? nil : partitions, spec: .latest,
                    isolation: isolation == .readCommitted ? .readCommitted : .readUncommitted)
                ends = latest.mapValues(\.offset)
            }
            if group == nil {
                let wanted = partitions.isEmpty ? try await client.partitions(of: topic).map(\.index).sorted() : partitions
                let assignment = wanted.map { TopicPartition(topic, $0) }
                try await consumer.assign(assignment)
                switch start {
                case .beginning: try await consumer.seekToBeginning(assignment)
                case .end: try await consumer.seekToEnd(assignment)
                case let .offset(offset): for tp in assignment { try await consumer.seek(tp, to: offset) }
                case let .fromEnd(back):
                    let earliest = try await admin.listOffsets(topic: topic, partitions: wanted, spec: .earliest)
                    for tp in assignment {
                        let end = ends[tp.partition] ?? 0
                        try await consumer.seek(tp, to: max(earliest[tp.partition]?.offset ?? 0, end - back))
                    }
                }
            } else {
                try await consumer.subscribe([topic])
            }
            loop: while !stop.requested {
                if toEnd, try await reachedEnd(consumer: consumer, ends: ends) { break }
                let records = try await consumer.poll(timeout: .milliseconds(250))
                guard !records.isEmpty else { continue }
                var text = ""
                for record in records {
                    text += formatter.format(record)
                    printed += 1
                    committable[record.topicPartition] = record.offset + 1
                    if let count, printed >= count {
                        io.out(text)
                        break loop
                    }
                }
                io.out(text)
            }
        } catch {
            await finish(consumer: consumer, client: client, committable: committable, io: io)
            throw error
        }
        await finish(consumer: consumer, client: client, committable: committable, io: io)
        return Summary(records: printed)
    }

    /// Every assigned partition's position is at or past its end offset from the start.
    private func reachedEnd(consumer: KafkaConsumer, ends: [Int32: Int64]) async throws -> Bool {
        let assignment = await consumer.assignment
        guard !assignment.isEmpty else { return group == nil }
        for tp in assignment {
            let end = ends[tp.partition] ?? 0
            guard let position = await consumer.position(tp) else { return false }
            if position < end { return false }
        }
        return true
    }

    private func finish(consumer: KafkaConsumer, client: KafkaClient, committable: [TopicPartition: Int64], io: KafkaCLIIO) async {
        if group != nil, !committable.isEmpty {
            do {
                try await consumer.commit(committable)
            } catch {
                io.err("commit failed: \(error)")
            }
        }
        await consumer.close()
        await client.close()
    }

    func run() async throws {
        let stop = KafkaCLIStop()
        let sources = stop.installSignalHandlers()
        defer { sources.forEach { $0.cancel() } }
        do {
            _ = try await execute(io: .standard, stop: stop)
        } catch {
            KafkaCLIIO.standard.err("error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// kcat-style `-f` formatting of a consumed record.
struct KafkaRecordFormatter: Sendable {
    enum Piece: Sendable, Equatable {
        case literal(String)
        case topic, partition, offset, key, value, headers, timestamp, keyLength, valueLength
    }

    /// nil: the default, "%p %o %k %s" and " %h" when the record has headers.
    let pieces: [Piece]?

    init(format: String?) {
        guard let format else { pieces = nil; return }
        var pieces: [Piece] = []
        var literal = ""
        var iterator = format.makeIterator()
        func flush() { if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" } }
        while let character = iterator.next() {
            switch character {
            case "%":
                guard let token = iterator.next() else { literal.append("%"); break }
                let piece: Piece? = switch token {
                case "t": .topic
                case "p": .partition
                case "o": .offset
                case "k": .key
                case "s": .value
                case "h": .headers
                case "T": .timestamp
                case "K": .keyLength
                case "S": .valueLength
                default: nil
                }
                if let piece { flush(); pieces.append(piece) } else if token == "%" { literal.append("%") } else { literal += "%\(token)" }
            case "\\":
                guard let escaped = iterator.next() else { literal.append("\\"); break }
                switch escaped {
                case "n": literal.append("\n")
                case "t": literal.append("\t")
                case "\\": literal.append("\\")
                default: literal += "\\\(escaped)"
                }
            default:
                literal.append(character)
            }
        }
        flush()
        if case let .literal(last)? = pieces.last, last.hasSuffix("\n") {} else { pieces.append(.literal("\n")) }
        self.pieces = pieces
    }

    static func headersText(_ headers: [RecordHeader]) -> String {
        headers.map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "")" }.joined(separator: ",")
    }

    func format(_ record: ConsumerRecord) -> String {
        guard let pieces else {
            var line = "\(record.partition) \(record.offset) \(record.keyString ?? "") \(record.valueString ?? "")"
            if !record.headers.isEmpty { line += " " + Self.headersText(record.headers) }
            return line + "\n"
        }
        var text = ""
        for piece in pieces {
            switch piece {
            case let .literal(literal): text += literal
            case .topic: text += record.topic
            case .partition: text += "\(record.partition)"
            case .offset: text += "\(record.offset)"
            case .key: text += record.keyString ?? ""
            case .value: text += record.valueString ?? ""
            case .headers: text += Self.headersText(record.headers)
            case .timestamp: text += "\(record.timestamp)"
            case .keyLength: text += "\(record.key?.count ?? -1)"
            case .valueLength: text += "\(record.value?.count ?? -1)"
            }
        }
        return text
    }
}

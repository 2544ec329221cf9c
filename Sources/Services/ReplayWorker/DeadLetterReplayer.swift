import CoreMetrics
import KafkaWire
import Logging
import ServiceKit
import WireCore

/// Replays records of a dead-letter topic to where they came from, each event at most once
/// per `replay_log`: reads the topic from its beginning to the end offsets it has when the
/// replay starts (records that arrive later wait for the next replay), filters, and for
/// each record not replayed yet produces it (original key, value and headers, without the
/// retry/DLT headers, plus `lab-replayed-from`), waits for the acknowledgement, then
/// records the event in `replay_log`. Replays run one at a time.
public final class DeadLetterReplayer: Sendable {
    public static let replayedFromHeader = "lab-replayed-from"

    public let database: ServiceDatabase
    public let kafkaBootstrap: String
    public let defaultRatePerSecond: Double
    let producer: KafkaProducer
    let failpoints: Failpoints
    let logger: Logger
    private let gate = SerialGate()
    private let factory: any MetricsFactory

    /// How long a replay waits for the next record before it gives up on a partition that
    /// should still have records (the broker went away).
    let progressTimeout: Duration = .seconds(30)

    public init(database: ServiceDatabase, kafkaBootstrap: String, defaultRatePerSecond: Double = 200,
                failpoints: Failpoints = Failpoints(known: ReplayFailpoints.all),
                logger: Logger = Logger(label: "lab.replay-worker"), metricsFactory: any MetricsFactory = MetricsSystem.factory) throws {
        self.database = database
        self.kafkaBootstrap = kafkaBootstrap
        self.defaultRatePerSecond = defaultRatePerSecond
        self.failpoints = failpoints
        self.logger = logger
        factory = metricsFactory
        producer = try KafkaProducer(bootstrapServers: kafkaBootstrap, clientID: "replay-worker")
    }

    public func close() async {
        await producer.close()
    }

    /// Runs one replay to the end offsets taken at its start.
    public func replay(_ request: ReplayRequest) async throws -> ReplaySummary {
        try request.validate()
        return try await gate.run { try await self.replayAlone(request) }
    }

    private func replayAlone(_ request: ReplayRequest) async throws -> ReplaySummary {
        let client = try KafkaClient(bootstrapServers: kafkaBootstrap, clientID: "replay-worker-reader")
        let consumer = KafkaConsumer(
            client: client,
            configuration: KafkaConsumerConfiguration(autoOffsetReset: .earliest, enableAutoCommit: false, maxPollRecords: 500),
            metricsFactory: factory)
        do {
            let summary = try await read(request, consumer: consumer, admin: KafkaAdmin(client: client))
            await consumer.close()
            await client.close()
            return summary
        } catch {
            await consumer.close()
            await client.close()
            throw error
        }
    }

    private func read(_ request: ReplayRequest, consumer: KafkaConsumer, admin: KafkaAdmin) async throws -> ReplaySummary {
        let topic = request.dltTopic
        guard try await admin.listTopics().contains(topic) else { throw DeadLetterTopicNotFound(topic: topic) }
        let starts = try await admin.listOffsets(topic: topic, spec: .earliest)
        // Where each partition ends now, from Fetch (ListOffsets(latest) counts batches on
        // some Kafka-compatible brokers, which would end the replay early).
        let ends = try await admin.highWatermarks(topic: topic)
        var remaining: [TopicPartition: Int64] = [:]
        for (partition, end) in ends where end > (starts[partition]?.offset ?? 0) {
            remaining[TopicPartition(topic, partition)] = end
        }
        let endOffsets = remaining
        try await consumer.assign(Array(remaining.keys))
        for (partition, start) in starts where remaining[TopicPartition(topic, partition)] != nil {
            try await consumer.seek(TopicPartition(topic, partition), to: start.offset)
        }
        logger.info("replay started", metadata: [
            "dlt": "\(topic)", "records": "\(remaining.reduce(0) { $0 + $1.value - (starts[$1.key.partition]?.offset ?? 0) })",
            "rate": "\(request.ratePerSecond ?? defaultRatePerSecond)",
        ])
        let bucket = TokenBucket(ratePerSecond: request.ratePerSecond ?? defaultRatePerSecond)
        var summary = ReplaySummary()
        var lastProgress = ContinuousClock.now
        while !remaining.isEmpty {
            try Task.checkCancellation()
            let records = try await consumer.poll(timeout: .seconds(1))
            for record in records where record.offset < endOffsets[record.topicPartition] ?? 0 {
                summary.scanned += 1
                try await replay(record, request: request, bucket: bucket, summary: &summary)
            }
            for (topicPartition, end) in remaining {
                if let position = await consumer.position(topicPartition), position >= end {
                    remaining[topicPartition] = nil
                    await consumer.pause([topicPartition])
                }
            }
            if !records.isEmpty {
                lastProgress = .now
            } else if ContinuousClock.now - lastProgress > progressTimeout {
                throw ServiceError.dependency(
                    "replay of \(topic) got no records for \(progressTimeout) with \(remaining.count) partition(s) unfinished; \(summary)")
            }
        }
        logger.info("replay finished", metadata: [
            "dlt": "\(topic)", "scanned": "\(summary.scanned)", "replayed": "\(summary.replayed)",
            "skipped": "\(summary.skippedAlreadyReplayed)", "filtered_out": "\(summary.filteredOut)",
        ])
        return summary
    }

    private func replay(_ record: ConsumerRecord, request: ReplayRequest, bucket: TokenBucket, summary: inout ReplaySummary) async throws {
        guard request.matches(key: record.keyString, timestamp: record.timestamp) else {
            summary.filteredOut += 1
            count("filtered_out")
            return
        }
        guard let eventID = record.eventID, let target = request.targetTopic ?? record.headerString(EventHeaders.originalTopic) else {
            // Without an event id a replay could not be recognised as done; without a target
            // there is nowhere to send it. Left in the DLT for a person to look at.
            summary.filteredOut += 1
            count("unreplayable")
            logger.warning("record cannot be replayed", metadata: [
                "dlt": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                "why": "\(record.eventID == nil ? "no event id (no id header, no eventId in the value)" : "no target topic (no \(EventHeaders.originalTopic) header, no targetTopic)")",
            ])
            return
        }
        let logged = try await database.query("SELECT 1 FROM replay_log WHERE event_id = ?", [.string(eventID)])
        guard logged.rows.isEmpty else {
            summary.skippedAlreadyReplayed += 1
            count("skipped_already_replayed")
            return
        }
        try await bucket.acquire()
        var headers = record.headers.filter { !Self.strippedHeaders.contains($0.key) }
        headers.append(RecordHeader(key: Self.replayedFromHeader, value: EventHeaders.string("\(record.topic)@\(record.partition):\(record.offset)")))
        try await producer.send(ProducerRecord(topic: target, key: record.key, value: record.value, headers: headers))
        // Produce, then record. A crash in between replays this event again next time; the
        // consumer's processed_event absorbs the second copy. Recording first would instead
        // lose the event for good when the produce never happens.
        try await failpoints.hit(ReplayFailpoints.afterProduceBeforeRecord)
        try await database.query(
            "INSERT IGNORE INTO replay_log (event_id, dlt_topic, dlt_partition, dlt_offset, target_topic, replayed_at) VALUES (?, ?, ?, ?, ?, NOW(6))",
            [.string(eventID), .string(record.topic), .int(Int64(record.partition)), .int(record.offset), .string(target)])
        summary.replayed += 1
        count("replayed")
    }

    /// The retry and dead-letter bookkeeping: a replayed record starts afresh.
    static let strippedHeaders: Set<String> = [
        EventHeaders.originalTopic, EventHeaders.originalPartition, EventHeaders.originalOffset, EventHeaders.originalTimestamp,
        EventHeaders.exceptionMessage, EventHeaders.exceptionClass, EventHeaders.attempts, EventHeaders.backoffTimestamp,
        replayedFromHeader,
    ]

    /// `lab_replay_records_total{outcome}`: replayed | skipped_already_replayed | filtered_out | unreplayable.
    private func count(_ outcome: String) {
        Counter(label: "lab_replay_records_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }
}

/// The places where experiments inject faults into the replay worker.
public enum ReplayFailpoints {
    /// After a record's produce was acknowledged, before it is written to `replay_log`: a
    /// crash here makes the next replay publish the event again.
    public static let afterProduceBeforeRecord = "replay.after_produce_before_record"

    public static let all = [afterProduceBeforeRecord]
}

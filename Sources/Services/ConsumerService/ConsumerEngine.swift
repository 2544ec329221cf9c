import KafkaWire
import Logging
import RESP
import ServiceKit
import WireCore

/// The consumer-service's processing core, without the process around it: one listener
/// for the main topic and one per retry tier, all sharing one connection pool, one
/// idempotent producer (for retry and dead-letter records) and one record processor.
/// Tests construct and run it in-process; `ConsumerService` runs it under `ServiceRuntime`.
public final class ConsumerEngine: Sendable {
    public let options: ConsumerService.Options
    public let database: ServiceDatabase
    let producer: KafkaProducer
    let redis: RedisClient?
    let failpoints: Failpoints
    let logger: Logger
    let metrics: ConsumerMetrics
    let health = ListenerHealth()
    let processor: RecordProcessor

    public init(options: ConsumerService.Options, failpoints: Failpoints, logger: Logger = Logger(label: "lab.consumer-service")) throws {
        try options.validate()
        self.options = options
        self.failpoints = failpoints
        self.logger = logger
        metrics = ConsumerMetrics()
        database = try ServiceDatabase(url: options.mysqlURL, poolName: options.poolName, pool: options.pool, logger: logger)
        do {
            producer = try KafkaProducer(bootstrapServers: options.kafkaBootstrap, clientID: "\(ConsumerService.name)-retry-producer")
            if options.handler == .account, options.cacheInvalidation != .none {
                redis = RedisClient(try RedisConnectionConfiguration(url: options.redisURL))
            } else {
                redis = nil
            }
        } catch {
            database.shutdown()
            throw error
        }
        processor = RecordProcessor(
            handler: options.handler, mode: options.mode, group: options.group, database: database, failpoints: failpoints,
            invalidator: redis.map { AccountCacheInvalidator(redis: $0, mode: options.cacheInvalidation) },
            poisonRule: options.poisonRule, poisonHold: options.poisonHold, metrics: metrics, logger: logger)
    }

    /// Totals since the engine started.
    public var statistics: ConsumerStatistics { metrics.statistics }

    /// nil when every listener polls, else why not (the /health reason).
    public func healthProblem() -> String? { health.problem }

    /// Applies the migrations, creates the topics, and consumes until cancelled; then
    /// finishes the batches in hand and closes the consumers, the producer and the pool.
    public func run() async throws {
        do {
            try await Migrations.applyBundled(database)
            let topology = options.topology
            try await ServiceKafka.ensureTopics(
                bootstrap: options.kafkaBootstrap, topology.allTopics, partitions: options.topicPartitions, logger: logger)
            logger.info("consuming", metadata: [
                "topic": "\(options.topic)", "group": "\(options.group)", "handler": "\(options.handler.rawValue)",
                "mode": "\(options.mode.rawValue)", "workers": "\(options.workers)",
                "retry_tiers_ms": "\(options.retryTiers.map(\.milliseconds))", "poison_rule": "\(options.poisonRule.rawValue)",
            ])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for listener in listeners(topology) { group.addTask { try await listener.run() } }
                try await group.waitForAll()
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    func listeners(_ topology: RetryTopology) -> [TopicListener] {
        var listeners = [TopicListener(name: "main", topic: topology.topic, groupID: options.group, waitsForBackoff: false, engine: self)]
        for (index, topic) in topology.retryTopics.enumerated() {
            listeners.append(TopicListener(
                name: "retry-\(index + 1)", topic: topic, groupID: "\(options.group)-retry-\(index + 1)", waitsForBackoff: true,
                engine: self))
        }
        return listeners
    }

    private func close() async {
        await Task {
            await producer.close()
            redis?.close()
            database.shutdown()
        }.value
    }

    // MARK: Processing a batch

    /// Processes `records` on `workers` concurrent workers, each taking the next key group
    /// when it is free, and returns the positions that finished: applied, skipped as
    /// duplicates, or failed and acknowledged on their retry/dead-letter topic.
    func process(_ records: [ConsumerRecord], waitsForBackoff: Bool, stop: StopSignal) async -> Set<RecordPosition> {
        let groups = ConsumerLanes.keyGroups(records)
        let queue = KeyGroupQueue(groups)
        return await withTaskGroup(of: [RecordPosition].self) { group in
            for _ in 0..<min(max(1, options.workers), groups.count) {
                group.addTask {
                    var finished: [RecordPosition] = []
                    while let keyGroup = queue.take() {
                        finished += await self.runLane(keyGroup, waitsForBackoff: waitsForBackoff, stop: stop)
                    }
                    return finished
                }
            }
            var finished = Set<RecordPosition>()
            for await positions in group { finished.formUnion(positions) }
            return finished
        }
    }

    /// One key's records, in order. It stops at the first record that cannot be finished (the
    /// rest of that key must not overtake it) and when the service stops.
    private func runLane(_ lane: [ConsumerRecord], waitsForBackoff: Bool, stop: StopSignal) async -> [RecordPosition] {
        var finished: [RecordPosition] = []
        for record in lane {
            if stop.isSet { break }
            if waitsForBackoff, let due = record.headerString(EventHeaders.backoffTimestamp).flatMap({ Int64($0) }) {
                guard await wait(until: due, stop: stop) else { break }
            }
            guard await handle(record) else { break }
            finished.append(record.position)
        }
        return finished
    }

    /// Sleeps until `due` (ms since the epoch) in short steps, so a stop is noticed; false
    /// when stopped first.
    private func wait(until due: Int64, stop: StopSignal) async -> Bool {
        while true {
            if stop.isSet { return false }
            let remaining = due - WallClock.millisecondsSinceEpoch()
            if remaining <= 0 { return true }
            try? await Task.sleep(for: .milliseconds(min(remaining, 100)))
        }
    }

    /// Processes one record; a failure is sent to its next topic. True when the record is
    /// finished with (its offset may be committed).
    private func handle(_ record: ConsumerRecord) async -> Bool {
        let started = ContinuousClock.now
        do {
            let outcome = try await processor.process(record)
            metrics.processing.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            metrics.processed(topic: record.topic, outcome == .applied ? .applied : .duplicate)
            return true
        } catch {
            metrics.processing.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            metrics.processed(topic: record.topic, .failed)
            if let poison = error as? PoisonMessageError {
                logger.warning("😢 앗앗앗, [\(poison.randomValue)]", metadata: ["topic": "\(record.topic)", "offset": "\(record.offset)"])
            } else {
                logger.warning("record failed", metadata: [
                    "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)", "error": "\(error)",
                ])
            }
            return await sendOn(record, after: error)
        }
    }

    /// Produces the failed record to its next retry tier or the dead-letter topic and waits
    /// for the acknowledgement, so the offset is committed only once the record is safe there.
    private func sendOn(_ record: ConsumerRecord, after error: any Error) async -> Bool {
        let routed = RetryRouting.route(record, error: error, topology: options.topology, now: WallClock.millisecondsSinceEpoch())
        do {
            try await producer.send(routed.record)
        } catch {
            logger.error("could not send a failed record on; it will be read again", metadata: [
                "topic": "\(record.topic)", "offset": "\(record.offset)", "to": "\(routed.record.topic)", "error": "\(error)",
            ])
            return false
        }
        if let tier = routed.tier {
            metrics.retried(tier: tier)
            logger.info("Retry attempt \(routed.attempts) of \(options.retryTiers.count)", metadata: ["to": "\(routed.record.topic)"])
        } else {
            metrics.deadLettered(topic: routed.record.topic)
            logger.warning("Sending to DLT", metadata: [
                "to": "\(routed.record.topic)", "attempts": "\(routed.attempts)", "event": "\(record.eventID ?? "?")",
            ])
        }
        return true
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

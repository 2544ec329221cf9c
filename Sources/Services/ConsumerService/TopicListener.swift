import KafkaWire
import Logging
import Metrics
import ServiceKit
import WireCore

/// One consumer of one topic (the main topic, or one retry tier): poll a batch, process it
/// in lanes, send failures on, commit. Every listener of the engine shares its pool,
/// producer and processor.
struct TopicListener: Sendable {
    /// "main", or "retry-N".
    let name: String
    let topic: String
    let groupID: String
    /// A retry tier holds each record until its `retry_topic-backoff-timestamp`.
    let waitsForBackoff: Bool
    let engine: ConsumerEngine

    private var options: ConsumerService.Options { engine.options }
    private var logger: Logger { engine.logger }

    func run() async throws {
        let configuration = KafkaConsumerConfiguration(
            groupID: groupID, autoOffsetReset: options.autoOffsetReset, enableAutoCommit: false,
            sessionTimeout: options.sessionTimeout, heartbeatInterval: options.sessionTimeout / 10,
            maxPollRecords: options.maxPollRecords)
        let client = try ServiceKafka.client(
            bootstrap: options.kafkaBootstrap, clientID: "\(ConsumerService.name)-\(name)", requestTimeout: configuration.requestTimeout)
        let consumer = KafkaConsumer(client: client, configuration: configuration, metricsFactory: MetricsSystem.factory)
        engine.health.set(name, .starting)
        defer { engine.health.remove(name) }
        do {
            try await consumer.subscribe([topic])
            try await pollLoop(consumer)
        } catch {
            await closeUncancelled(consumer)
            throw error
        }
        await closeUncancelled(consumer)
        logger.info("listener stopped", metadata: ["listener": "\(name)", "topic": "\(topic)"])
    }

    private func pollLoop(_ consumer: KafkaConsumer) async throws {
        var failingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            let records: [ConsumerRecord]
            do {
                records = try await consumer.poll(timeout: options.pollTimeout)
                if failingSince != nil { logger.notice("listener polls again", metadata: ["listener": "\(name)"]) }
                failingSince = nil
                engine.health.set(name, .polling)
            } catch KafkaConsumerError.closed {
                return
            } catch {
                if Task.isCancelled { return }
                if failingSince == nil { failingSince = .now }
                engine.health.set(name, .failing("\(error)"))
                logger.warning("poll failed", metadata: ["listener": "\(name)", "topic": "\(topic)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            if records.isEmpty { continue }
            // The batch in hand is finished outside the loop's cancellation: a stop ends it
            // at a record boundary (no record is cut off half-way and sent to retry as a
            // failure), and what finished is committed before the consumer closes.
            let stop = StopSignal()
            let batch = Task { await self.finish(records, consumer: consumer, stop: stop) }
            await withTaskCancellationHandler { await batch.value } onCancel: { stop.set() }
        }
    }

    private func finish(_ records: [ConsumerRecord], consumer: KafkaConsumer, stop: StopSignal) async {
        if options.mode == .commitFirst {
            // At-most-once: from here on the batch counts as consumed whatever happens to it.
            await commit(BatchCommitPlan.afterBatch(records), consumer: consumer)
            do {
                try await engine.failpoints.hit(ConsumerFailpoints.afterOffsetCommit)
            } catch {
                logger.warning("batch dropped after its early offset commit", metadata: [
                    "listener": "\(name)", "records": "\(records.count)", "error": "\(error)",
                ])
                return
            }
        }
        let finished = await engine.process(records, waitsForBackoff: waitsForBackoff, stop: stop)
        let plan = BatchCommitPlan(records: records, finished: finished)
        if options.mode != .commitFirst { await commit(plan.commit, consumer: consumer) }
        guard !stop.isSet else { return }
        // A record that could not be sent on (the producer failed) is read again, with the
        // rest of its partition after it, rather than skipped.
        for (topicPartition, offset) in plan.rewind {
            logger.warning("rereading from an unfinished record", metadata: ["partition": "\(topicPartition)", "offset": "\(offset)"])
            try? await consumer.seek(topicPartition, to: offset)
        }
    }

    private func commit(_ offsets: [TopicPartition: Int64], consumer: KafkaConsumer) async {
        guard !offsets.isEmpty else { return }
        do {
            try await consumer.commit(offsets)
        } catch {
            // Not fatal: the records are delivered again (to whoever owns the partitions now)
            // and idempotent processing absorbs them.
            logger.warning("offset commit failed", metadata: ["listener": "\(name)", "error": "\(error)"])
        }
    }

    /// Leaves the group even when the listener's task is cancelled (and closes the client,
    /// which the consumer does not own).
    private func closeUncancelled(_ consumer: KafkaConsumer) async {
        await Task {
            await consumer.close()
            await consumer.client.close()
        }.value
    }
}

import CoreMetrics
import KafkaWire
import ServiceKit

/// The service's one idempotent producer (acks=all), with `lab_events_published_total{topic}`
/// counted per acknowledged record.
struct EventPublisher: Sendable {
    let producer: KafkaProducer

    /// A record with the headers every event carries (Debezium's `id` and `type`).
    static func record(topic: String, key: String, eventID: String, type: String, value: [UInt8]) -> ProducerRecord {
        ProducerRecord(
            topic: topic, key: Array(key.utf8), value: value,
            headers: [
                RecordHeader(key: EventHeaders.id, value: EventHeaders.string(eventID)),
                RecordHeader(key: EventHeaders.type, value: EventHeaders.string(type)),
            ])
    }

    /// Produces `records` and waits until each is acknowledged; throws the first failure
    /// (the others may still have been written: the caller cannot assume none was).
    func publish(_ records: [ProducerRecord]) async throws(KafkaProducerError) -> [RecordMetadata] {
        let producer = self.producer
        let outcomes = await withTaskGroup(of: (Int, Result<RecordMetadata, KafkaProducerError>).self) { group in
            for (index, record) in records.enumerated() {
                group.addTask {
                    do throws(KafkaProducerError) {
                        return (index, .success(try await producer.send(record)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes = [Result<RecordMetadata, KafkaProducerError>?](repeating: nil, count: records.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        var delivered: [RecordMetadata] = []
        var firstFailure: KafkaProducerError?
        for outcome in outcomes {
            switch outcome {
            case let .success(metadata)?:
                Counter(label: "lab_events_published_total", dimensions: [("topic", metadata.topic)]).increment()
                delivered.append(metadata)
            case let .failure(error)?:
                firstFailure = firstFailure ?? error
            case nil:
                firstFailure = firstFailure ?? .fatal("no delivery outcome")
            }
        }
        if let firstFailure { throw firstFailure }
        return delivered
    }
}

import KafkaWire
import ServiceKit

/// Where a failed record goes next, and with what: the next retry tier (or the dead-letter
/// topic after the last), carrying the original key, value and headers plus Spring Kafka's
/// retry/DLT headers. Header values are decimal text.
public enum RetryRouting {
    public struct Routed: Sendable, Equatable {
        public var record: ProducerRecord
        /// Failed attempts so far, this one included (the `retry_topic-attempts` header).
        public var attempts: Int
        /// The retry tier (1-based) the record goes to; nil for the dead-letter topic.
        public var tier: Int?
        public var delay: Duration?

        public var isDeadLetter: Bool { tier == nil }
    }

    /// Headers this routing owns: replaced on every hop, never duplicated.
    static let hopHeaders: Set<String> = [
        EventHeaders.exceptionMessage, EventHeaders.exceptionClass, EventHeaders.attempts, EventHeaders.backoffTimestamp,
    ]
    /// Where the record first failed: set once, kept on later hops.
    static let originHeaders = [
        EventHeaders.originalTopic, EventHeaders.originalPartition, EventHeaders.originalOffset, EventHeaders.originalTimestamp,
    ]

    /// Every header this routing may add (what a replay strips before re-publishing).
    public static var routingHeaders: Set<String> { hopHeaders.union(originHeaders) }

    /// The record to produce after `record` failed with `error`, at `now` (ms since the epoch).
    public static func route(_ record: ConsumerRecord, error: any Error, topology: RetryTopology, now: Int64) -> Routed {
        let attempts = (record.headerString(EventHeaders.attempts).flatMap { Int($0) } ?? 0) + 1
        let destination = topology.destination(afterFailedAttempts: attempts)
        let tier = destination.delay == nil ? nil : attempts
        var headers = record.headers.filter { !hopHeaders.contains($0.key) }
        if record.headerString(EventHeaders.originalTopic) == nil {
            headers.removeAll { originHeaders.contains($0.key) }
            headers.append(header(EventHeaders.originalTopic, record.topic))
            headers.append(header(EventHeaders.originalPartition, "\(record.partition)"))
            headers.append(header(EventHeaders.originalOffset, "\(record.offset)"))
            headers.append(header(EventHeaders.originalTimestamp, "\(record.timestamp)"))
        }
        headers.append(header(EventHeaders.exceptionMessage, String(describing: error)))
        headers.append(header(EventHeaders.exceptionClass, String(reflecting: type(of: error))))
        headers.append(header(EventHeaders.attempts, "\(attempts)"))
        if let delay = destination.delay {
            headers.append(header(EventHeaders.backoffTimestamp, "\(now + delay.milliseconds)"))
        }
        let routed = ProducerRecord(topic: destination.topic, key: record.key, value: record.value, headers: headers)
        return Routed(record: routed, attempts: attempts, tier: tier, delay: destination.delay)
    }

    private static func header(_ key: String, _ value: String) -> RecordHeader {
        RecordHeader(key: key, value: EventHeaders.string(value))
    }
}

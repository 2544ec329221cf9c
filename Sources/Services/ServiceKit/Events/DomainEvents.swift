import Foundation
import KafkaWire

/// A deposit accepted by the command service: the outbox payload and the Kafka record value.
/// Keyed by `accountId`, so one account's events stay in order on one partition.
public struct AccountDeposited: Codable, Sendable, Hashable {
    public static let type = "AccountDeposited"
    public static let aggregateType = "account"

    public var eventId: String
    public var accountId: String
    public var amountCents: Int64
    /// The account's balance and version after this deposit, at the source of truth.
    public var balanceCents: Int64
    public var version: Int64
    /// Milliseconds since the epoch.
    public var occurredAt: Int64

    public init(eventId: String, accountId: String, amountCents: Int64, balanceCents: Int64, version: Int64, occurredAt: Int64) {
        self.eventId = eventId
        self.accountId = accountId
        self.amountCents = amountCents
        self.balanceCents = balanceCents
        self.version = version
        self.occurredAt = occurredAt
    }
}

/// The pool-exhaustion scenario's message (seed `second-scenario.v1`): published three per
/// API call; `randomValue` is 0…100, and the consumer's failure rule is `randomValue % 10 == 0`.
public struct SecondScenarioEvent: Codable, Sendable, Hashable {
    public static let type = "SecondScenarioEvent"

    public var eventId: String
    public var message: String
    public var randomValue: Int

    public init(eventId: String, message: String, randomValue: Int) {
        self.eventId = eventId
        self.message = message
        self.randomValue = randomValue
    }
}

/// Record headers the services agree on. `id` and `type` follow Debezium's outbox event
/// router; the retry and dead-letter headers follow Spring Kafka's names, which operators
/// already search for.
public enum EventHeaders {
    public static let id = "id"
    public static let type = "type"
    public static let originalTopic = "kafka_dlt-original-topic"
    public static let originalPartition = "kafka_dlt-original-partition"
    public static let originalOffset = "kafka_dlt-original-offset"
    public static let originalTimestamp = "kafka_dlt-original-timestamp"
    public static let exceptionMessage = "kafka_dlt-exception-message"
    public static let exceptionClass = "kafka_dlt-exception-fqcn"
    /// Attempts made so far (1 after the first failure).
    public static let attempts = "retry_topic-attempts"
    /// When the record may be retried (milliseconds since the epoch).
    public static let backoffTimestamp = "retry_topic-backoff-timestamp"

    public static func string(_ value: String) -> [UInt8] { Array(value.utf8) }
}

extension ConsumerRecord {
    /// The last header called `key`, as UTF-8 text.
    public func headerString(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The event id: the `id` header, else the `eventId` field of a JSON value.
    public var eventID: String? {
        if let id = headerString(EventHeaders.id) { return id }
        guard let value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] else { return nil }
        return object["eventId"] as? String
    }
}

/// JSON in and out for events (sorted keys, so the same event is the same bytes).
public enum EventCoding {
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding these plain structs cannot fail.
        return Array((try? encoder.encode(value)) ?? Data())
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(ServiceError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw .invalidInput("cannot decode \(type): \(describe(error))")
        }
    }

    /// A decoding error as one readable line (which field, what was wrong).
    public static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case let .keyNotFound(key, _)?: "missing field '\(key.stringValue)'"
        case let .typeMismatch(type, context)?: "field '\(path(context))' is not a \(type)"
        case let .valueNotFound(type, context)?: "field '\(path(context))' must be a \(type), not null"
        case let .dataCorrupted(context)?: context.codingPath.isEmpty ? "not valid JSON" : "field '\(path(context))': \(context.debugDescription)"
        default: "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Topic names derived from a base topic, as Spring Kafka's non-blocking retries name them.
public struct RetryTopology: Sendable, Equatable {
    public var topic: String
    /// Delay before each retry attempt; one retry topic per tier.
    public var tiers: [Duration]

    public init(topic: String, tiers: [Duration] = [.seconds(1), .seconds(2), .seconds(10)]) {
        self.topic = topic
        self.tiers = tiers
    }

    /// `TOPIC-retry-1` … `TOPIC-retry-N`.
    public var retryTopics: [String] { tiers.indices.map { "\(topic)-retry-\($0 + 1)" } }
    public var deadLetterTopic: String { "\(topic)-dlt" }
    public var allTopics: [String] { [topic] + retryTopics + [deadLetterTopic] }

    /// Where a record goes after its `attempts`-th failed attempt (1 = the first processing):
    /// the next retry tier with its delay, or the dead-letter topic.
    public func destination(afterFailedAttempts attempts: Int) -> (topic: String, delay: Duration?) {
        attempts >= 1 && attempts <= tiers.count ? (retryTopics[attempts - 1], tiers[attempts - 1]) : (deadLetterTopic, nil)
    }
}

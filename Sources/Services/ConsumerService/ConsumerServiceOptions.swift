import Foundation
import KafkaWire
import MySQLWire
import ServiceKit

extension ConsumerService {
    /// Everything the consumer-service is told at start (the `lab service consumer` flags).
    public struct Options: Sendable {
        /// The admin HTTP port (/health, /metrics, /failpoints).
        public var port: Int
        public var mysqlURL: String
        public var kafkaBootstrap: String
        /// Used only by the account handler with a cache invalidation mode other than `none`.
        public var redisURL: String
        public var handler: ConsumerHandler
        /// The main topic; its retry topics and dead-letter topic are named after it.
        public var topic: String
        /// The consumer group of the main topic, and the `consumer_group` of `processed_event`
        /// for every tier (a retried record is the same logical consumption). Retry tier N
        /// listens as `<group>-retry-N`.
        public var group: String
        public var mode: ConsumptionMode
        /// Lanes a poll batch is split into (by key hash), processed concurrently.
        public var workers: Int
        public var poolName: String
        /// One pool shared by every listener: retry traffic competes with the main topic.
        public var pool: ConnectionPoolConfiguration
        /// Delay of each retry tier; empty: a failure goes straight to the dead-letter topic.
        public var retryTiers: [Duration]
        public var poisonRule: PoisonRule
        /// How long a poison record holds its pooled connection before it fails.
        public var poisonHold: Duration
        /// Only the account handler invalidates the cache.
        public var cacheInvalidation: CacheInvalidationMode
        public var maxPollRecords: Int
        public var autoOffsetReset: OffsetResetStrategy
        /// Partitions of the topics created at start (existing topics are left as they are).
        public var topicPartitions: Int32
        /// How long one poll waits for records; bounds how soon a stop is noticed.
        public var pollTimeout: Duration
        /// Short enough that a member killed with -9 hands its partitions over within seconds
        /// (the restart experiments), long enough for a stalled network to recover.
        public var sessionTimeout: Duration

        public init(handler: ConsumerHandler = .account, topic: String? = nil, environment: ServiceEnvironment = ServiceEnvironment()) {
            port = ServicePorts.consumerService
            mysqlURL = environment.mysqlURL
            kafkaBootstrap = environment.kafkaBootstrap
            redisURL = environment.redisURL
            self.handler = handler
            self.topic = topic ?? handler.defaultTopic
            group = "consumer-service"
            mode = .idempotent
            workers = 10
            poolName = "consumer"
            pool = .burstScenario
            retryTiers = [.seconds(1), .seconds(2), .seconds(10)]
            poisonRule = .none
            poisonHold = .seconds(3)
            cacheInvalidation = .versioned
            maxPollRecords = 100
            autoOffsetReset = .earliest
            topicPartitions = 6
            pollTimeout = .milliseconds(500)
            sessionTimeout = .seconds(10)
        }

        public var topology: RetryTopology { RetryTopology(topic: topic, tiers: retryTiers) }

        public func validate() throws(ServiceError) {
            guard !topic.isEmpty else { throw .invalidConfiguration("the topic name is empty") }
            guard !group.isEmpty else { throw .invalidConfiguration("the group id is empty") }
            guard workers >= 1 else { throw .invalidConfiguration("workers must be ≥ 1 (got \(workers))") }
            guard maxPollRecords >= 1 else { throw .invalidConfiguration("max poll records must be ≥ 1 (got \(maxPollRecords))") }
            guard pool.maximumPoolSize >= 1 else { throw .invalidConfiguration("the pool size must be ≥ 1") }
            guard topicPartitions >= 1 else { throw .invalidConfiguration("topic partitions must be ≥ 1") }
            guard retryTiers.allSatisfy({ $0 > .zero }) else { throw .invalidConfiguration("every retry tier delay must be > 0") }
            guard poisonHold >= .zero else { throw .invalidConfiguration("the poison hold must be ≥ 0") }
        }

        /// `"1000,2000,10000"` (milliseconds per tier) or `"none"`.
        public static func parseRetryTiers(_ text: String) throws(ServiceError) -> [Duration] {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.lowercased() == "none" || trimmed.isEmpty { return [] }
            var tiers: [Duration] = []
            for part in trimmed.split(separator: ",") {
                guard let ms = Int(part.trimmingCharacters(in: .whitespaces)), ms > 0 else {
                    throw .invalidConfiguration("retry tiers: '\(part)' is not a positive number of milliseconds (want e.g. 1000,2000,10000 or none)")
                }
                tiers.append(.milliseconds(ms))
            }
            return tiers
        }
    }
}

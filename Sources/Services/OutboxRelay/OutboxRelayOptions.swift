import ServiceKit

extension OutboxRelay {
    public struct Options: Sendable {
        /// Admin HTTP port on 127.0.0.1 (/health, /metrics, /failpoints).
        public var port: Int
        public var mysqlURL: String
        public var kafkaBootstrap: String
        /// Where the outbox's events are published.
        public var topic: String
        /// Partitions of the topic when the relay creates it.
        public var topicPartitions: Int32
        /// Rows taken (and locked) per transaction.
        public var batchSize: Int
        /// Pause after a poll that found nothing to publish.
        public var pollInterval: Duration
        public var poolSize: Int
        /// Only rows whose `aggregate_id` starts with this prefix (tests and experiments that
        /// share one outbox table side by side); nil = every row.
        public var aggregateIDPrefix: String?
        /// How long a batch's records may wait for their acknowledgements (`delivery.timeout.ms`).
        public var deliveryTimeout: Duration

        public init(
            port: Int = ServicePorts.outboxRelay,
            mysqlURL: String = ServiceEnvironment().mysqlURL,
            kafkaBootstrap: String = ServiceEnvironment().kafkaBootstrap,
            topic: String = "account-events.v1",
            topicPartitions: Int32 = 6,
            batchSize: Int = 100,
            pollInterval: Duration = .milliseconds(100),
            poolSize: Int = 4,
            aggregateIDPrefix: String? = nil,
            deliveryTimeout: Duration = .seconds(15)
        ) {
            self.port = port
            self.mysqlURL = mysqlURL
            self.kafkaBootstrap = kafkaBootstrap
            self.topic = topic
            self.topicPartitions = topicPartitions
            self.batchSize = batchSize
            self.pollInterval = pollInterval
            self.poolSize = poolSize
            self.aggregateIDPrefix = aggregateIDPrefix
            self.deliveryTimeout = deliveryTimeout
        }
    }
}

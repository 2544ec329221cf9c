import ServiceKit

extension CommandService {
    public struct Options: Sendable {
        /// HTTP port on 127.0.0.1.
        public var port: Int
        public var mysqlURL: String
        public var kafkaBootstrap: String
        public var mode: Mode
        /// Where deposits' `AccountDeposited` events go (direct mode; the relay's topic in outbox mode).
        public var accountTopic: String
        /// Where the burst endpoint's `SecondScenarioEvent`s go.
        public var scenarioTopic: String
        /// Partitions of the topics when this service creates them.
        public var topicPartitions: Int32
        /// The seed's producer application pool: 10 connections, 2 s connection timeout.
        public var poolSize: Int
        public var connectionTimeout: Duration
        /// How long a produce may take before the request gives up (`delivery.timeout.ms`).
        public var produceTimeout: Duration

        public init(
            port: Int = ServicePorts.commandService,
            mysqlURL: String = ServiceEnvironment().mysqlURL,
            kafkaBootstrap: String = ServiceEnvironment().kafkaBootstrap,
            mode: Mode = .outbox,
            accountTopic: String = "account-events.v1",
            scenarioTopic: String = "second-scenario.v1",
            topicPartitions: Int32 = 6,
            poolSize: Int = 10,
            connectionTimeout: Duration = .seconds(2),
            produceTimeout: Duration = .seconds(10)
        ) {
            self.port = port
            self.mysqlURL = mysqlURL
            self.kafkaBootstrap = kafkaBootstrap
            self.mode = mode
            self.accountTopic = accountTopic
            self.scenarioTopic = scenarioTopic
            self.topicPartitions = topicPartitions
            self.poolSize = poolSize
            self.connectionTimeout = connectionTimeout
            self.produceTimeout = produceTimeout
        }
    }
}

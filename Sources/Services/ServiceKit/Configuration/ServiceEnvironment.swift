import Foundation

/// Where the lab's servers are, from the environment `scripts/infra up` writes
/// (`.infra/env`), with the lab's defaults. Services take these as defaults for their flags.
public struct ServiceEnvironment: Sendable {
    public var mysqlURL: String
    public var kafkaBootstrap: String
    public var redisURL: String
    /// `LAB_FAILPOINTS`: failpoints armed at start.
    public var failpoints: String

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        mysqlURL = environment["LAB_MYSQL_URL"] ?? "mysql://lab:lab@127.0.0.1:13306/lab"
        kafkaBootstrap = environment["LAB_KAFKA_BOOTSTRAP"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["LAB_KAFKA_TANSU_BOOTSTRAP"] ?? "127.0.0.1:19092"
        redisURL = environment["LAB_REDIS_URL"] ?? "redis://127.0.0.1:16379"
        failpoints = environment["LAB_FAILPOINTS"] ?? ""
    }
}

/// Well-known ports of the lab plan.
public enum ServicePorts {
    public static let commandService = 18080
    public static let queryService = 18081
    /// Admin/metrics HTTP ports of the headless services (relay, consumer, replay).
    public static let outboxRelay = 18082
    public static let consumerService = 18083
    public static let replayWorker = 18084
}

import Foundation
import ServiceKit

/// Where an experiment run finds its servers and the `lab` executable, and how big it is.
public struct HarnessConfiguration: Sendable {
    /// Smaller sizes, same invariants (what CI runs).
    public var quick: Bool
    public var kafkaBootstrap: String
    /// `tansu`, `mock` or `custom`, for the report.
    public var kafkaLabel: String
    /// The experiments' own database (the harness empties its tables at each run).
    public var mysqlURL: String
    public var redisURL: String
    /// The `lab` executable that runs the services (`lab service NAME`).
    public var labExecutable: String
    /// Reports go to `<reportRoot>/<ID>/<timestamp>/`.
    public var reportRoot: String
    /// Seconds between metric samples.
    public var sampleInterval: Duration

    public init(
        quick: Bool, kafkaBootstrap: String, kafkaLabel: String, mysqlURL: String, redisURL: String, labExecutable: String,
        reportRoot: String, sampleInterval: Duration = .seconds(1)
    ) {
        self.quick = quick
        self.kafkaBootstrap = kafkaBootstrap
        self.kafkaLabel = kafkaLabel
        self.mysqlURL = mysqlURL
        self.redisURL = redisURL
        self.labExecutable = labExecutable
        self.reportRoot = reportRoot
        self.sampleInterval = sampleInterval
    }

    /// From the environment `scripts/infra up` writes: `LAB_MYSQL_EXP_URL` (else the `lab_exp`
    /// database next to `LAB_MYSQL_URL`), `LAB_REDIS_URL`, and Kafka by `kafka`: `tansu`
    /// (LAB_KAFKA_TANSU_BOOTSTRAP), `mock` (LAB_KAFKA_MOCK_BOOTSTRAP) or a bootstrap list.
    public static func fromEnvironment(
        quick: Bool, kafka: String?, reportRoot: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(HarnessError) -> HarnessConfiguration {
        let services = ServiceEnvironment(environment)
        let mysql = environment["LAB_MYSQL_EXP_URL"] ?? Self.experimentDatabase(next: services.mysqlURL)
        let (bootstrap, label): (String, String)
        switch kafka ?? environment["LAB_KAFKA_BOOTSTRAP"].flatMap({ $0.isEmpty ? nil : $0 }) ?? "tansu" {
        case "tansu":
            bootstrap = environment["LAB_KAFKA_TANSU_BOOTSTRAP"] ?? "127.0.0.1:19092"
            label = "tansu"
        case "mock":
            guard let mock = environment["LAB_KAFKA_MOCK_BOOTSTRAP"] else {
                throw .setup("--kafka mock: LAB_KAFKA_MOCK_BOOTSTRAP is not set (scripts/infra up kafka-mock; source .infra/env)")
            }
            bootstrap = mock
            label = "mock"
        case let list:
            bootstrap = list
            label = "custom"
        }
        return HarnessConfiguration(
            quick: quick, kafkaBootstrap: bootstrap, kafkaLabel: label, mysqlURL: mysql, redisURL: services.redisURL,
            labExecutable: Self.currentExecutable(), reportRoot: reportRoot)
    }

    static func experimentDatabase(next url: String) -> String {
        guard let slash = url.lastIndex(of: "/"), url[..<slash].contains("@") else { return url + "/lab_exp" }
        return url[...slash] + "lab_exp"
    }

    /// This process's executable (the harness runs inside `lab exp`).
    static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

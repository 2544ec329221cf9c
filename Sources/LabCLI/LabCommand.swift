import ArgumentParser

/// `lab`: every command of the lab. A library, so that tests can run commands in-process;
/// the `lab` executable only makes it its entry point.
public struct LabCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Reliability Lab: Kafka, MySQL and Redis experiments over pure-Swift wire protocols.",
        subcommands: [RedisCLI.self, SQLCLI.self, KafkaCLI.self, ProxyCLI.self, ServiceCLI.self, ExperimentCLI.self, Bench.self]
    )

    public init() {}
}

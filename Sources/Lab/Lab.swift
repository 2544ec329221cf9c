import ArgumentParser

@main
struct Lab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Reliability Lab: Kafka, MySQL and Redis experiments over pure-Swift wire protocols.",
        subcommands: [RedisCLI.self, SQLCLI.self, KafkaCLI.self, ProxyCLI.self, ServiceCLI.self, ExperimentCLI.self, Bench.self]
    )
}

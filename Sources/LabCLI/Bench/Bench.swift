import ArgumentParser

/// `lab bench`: each client against its established native peer, in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a Swift client side by side with its native peer and print the ratio.",
        discussion: "Each case prints `RESULT <case> swift=<v> peer=<v> ratio=<swift/peer>`. Build with -c release.",
        subcommands: [RedisBench.self, MySQLBench.self, KafkaBench.self, ProxyBench.self]
    )
}

import ArgumentParser

/// `lab service NAME …`: runs one of the lab's services in this process until SIGTERM/SIGINT.
struct ServiceCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Run one of the lab's services (HTTP on 127.0.0.1, /health, /metrics, /failpoints).",
        discussion: """
            Servers come from the environment `scripts/infra up` writes (.infra/env): LAB_MYSQL_URL,
            LAB_KAFKA_BOOTSTRAP (else LAB_KAFKA_TANSU_BOOTSTRAP), LAB_REDIS_URL; failpoints armed at
            start from LAB_FAILPOINTS ("NAME=SPEC;…", SPEC = crash | error | error(MSG) | delay(MS)
            [,after=N][,times=M]).
            """,
        subcommands: [
            CommandServiceCommand.self, OutboxRelayCommand.self, ConsumerServiceCommand.self,
            QueryServiceCommand.self, ReplayWorkerCommand.self,
        ]
    )
}

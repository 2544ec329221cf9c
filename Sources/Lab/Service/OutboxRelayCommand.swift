import ArgumentParser

// Placeholder until the service exists.
struct OutboxRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox-relay", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("outbox-relay is not built yet") }
}

import ArgumentParser

// Placeholder until the service exists.
struct ConsumerServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consumer", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("consumer is not built yet") }
}

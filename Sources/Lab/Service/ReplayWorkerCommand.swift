import ArgumentParser

// Placeholder until the service exists.
struct ReplayWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay-worker", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("replay-worker is not built yet") }
}

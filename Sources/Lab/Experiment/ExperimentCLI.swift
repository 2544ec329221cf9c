import ArgumentParser

// Placeholder until the harness exists.
struct ExperimentCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exp", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("exp is not built yet") }
}

import ArgumentParser

// Placeholder until the service exists.
struct CommandServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "command", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("command is not built yet") }
}

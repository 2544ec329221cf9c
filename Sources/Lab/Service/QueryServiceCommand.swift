import ArgumentParser

// Placeholder until the service exists.
struct QueryServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query", abstract: "(not built yet)")
    func run() async throws { throw ValidationError("query is not built yet") }
}

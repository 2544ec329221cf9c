import ArgumentParser
import RESP
import WireCore

/// `lab redis`: a small redis-cli over the Swift client.
struct RedisCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Send one command to Redis (standalone or cluster) and print the reply.",
        discussion: """
        Examples:
          lab redis PING
          lab redis --url rediss://127.0.0.1:16380 --ca-file .infra/tls/ca.crt SET greeting hello EX 60
          lab redis --cluster --url redis://127.0.0.1:17000 CLUSTER KEYSLOT user:1
        """
    )

    @Option(help: "Server URL: redis://[user:password@]host:port[/db] or rediss:// for TLS.")
    var url: String = "redis://127.0.0.1:16379"

    @Flag(help: "Treat the URL as a cluster seed and route by slot.")
    var cluster = false

    @Option(name: .customLong("ca-file"), help: "PEM file of CA certificates to trust for rediss://.")
    var caFile: String?

    @Flag(name: .customLong("resp2"), help: "Stay on RESP2 (skip HELLO 3).")
    var resp2 = false

    @Option(help: "Reply timeout in seconds.")
    var timeout: Double = 10

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
    var words: [String] = []

    func run() async throws {
        guard !words.isEmpty else { throw ValidationError("give a command, e.g. `lab redis PING`") }
        var configuration = try RedisConnectionConfiguration(url: url, caFile: caFile)
        configuration.preferRESP3 = !resp2
        configuration.commandTimeout = .milliseconds(Int64(timeout * 1000))
        do {
            let reply: RESPValue
            if cluster {
                let seed = RedisClusterEndpoint(host: configuration.host, port: configuration.port)
                let client = try await RedisClusterClient.connect(RedisClusterConfiguration(
                    seeds: [seed], connection: configuration, refreshInterval: nil))
                defer { client.close() }
                reply = try await client.send(RedisCommand(words: words))
            } else {
                let connection = try await RedisConnection.connect(configuration)
                defer { connection.close() }
                reply = try await connection.send(RedisCommand(words: words))
            }
            print(reply.description)
        } catch {
            if case let .server(serverError) = error {
                print("(error) \(serverError.message)")
                throw ExitCode(1)
            }
            print("error: \(error)")
            throw ExitCode(2)
        }
    }
}

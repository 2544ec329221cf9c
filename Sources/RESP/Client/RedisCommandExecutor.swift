/// Anything that can run Redis commands: a single connection, a reconnecting client, or the
/// cluster client. The typed helpers (`get`, `set`, `hgetall`, …) are written once against it.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command and returns its reply; an error reply is thrown as `.server`.
    func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue
    /// Sends the commands back to back and returns every reply in order, error replies
    /// included as values (`RESPValue.redisError` reads them). Throws only when the commands
    /// could not be delivered or answered at all.
    func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue]
}

extension RedisCommandExecutor {
    /// Sends a command given as plain words (the key positions are looked up).
    public func send(_ words: [String]) async throws(RedisError) -> RESPValue {
        guard !words.isEmpty else { throw .invalidRequest("empty command") }
        return try await send(RedisCommand(words: words))
    }
}

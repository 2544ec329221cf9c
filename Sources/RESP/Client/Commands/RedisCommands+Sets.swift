/// Set and sorted-set commands.
extension RedisCommandExecutor {
    @discardableResult
    public func sadd(_ key: some RedisArgument, _ members: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("SADD").key(key).arguments(members)).integer(for: "SADD"))
    }

    @discardableResult
    public func srem(_ key: some RedisArgument, _ members: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("SREM").key(key).arguments(members)).integer(for: "SREM"))
    }

    public func smembers(_ key: some RedisArgument) async throws(RedisError) -> Set<String> {
        let items = try await send(RedisCommand("SMEMBERS", readOnly: true).key(key)).elements(for: "SMEMBERS")
        return Set(items.compactMap(\.string))
    }

    public func sismember(_ key: some RedisArgument, _ member: String) async throws(RedisError) -> Bool {
        try await send(RedisCommand("SISMEMBER", readOnly: true).key(key).argument(member)).integer(for: "SISMEMBER") == 1
    }

    public func scard(_ key: some RedisArgument) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("SCARD", readOnly: true).key(key)).integer(for: "SCARD"))
    }

    /// ZADD; returns how many members were added.
    @discardableResult
    public func zadd(_ key: some RedisArgument, _ members: [(score: Double, member: String)]) async throws(RedisError) -> Int {
        var command = RedisCommand("ZADD").key(key)
        for entry in members { command = command.argument(entry.score).argument(entry.member) }
        return Int(try await send(command).integer(for: "ZADD"))
    }

    public func zscore(_ key: some RedisArgument, _ member: String) async throws(RedisError) -> Double? {
        try await send(RedisCommand("ZSCORE", readOnly: true).key(key).argument(member)).optionalDouble(for: "ZSCORE")
    }

    @discardableResult
    public func zincrBy(_ key: some RedisArgument, _ amount: Double, _ member: String) async throws(RedisError) -> Double {
        let reply = try await send(RedisCommand("ZINCRBY").key(key).argument(amount).argument(member))
        guard let score = try reply.optionalDouble(for: "ZINCRBY") else {
            throw .unexpectedReply(command: "ZINCRBY", reply: reply.description)
        }
        return score
    }

    /// ZRANGE by index, with scores (RESP3 nests pairs, RESP2 flattens them: both are read).
    public func zrangeWithScores(_ key: some RedisArgument, start: Int, stop: Int) async throws(RedisError) -> [(member: String, score: Double)] {
        let command = RedisCommand("ZRANGE", readOnly: true).key(key).argument(start).argument(stop).argument("WITHSCORES")
        let items = try await send(command).elements(for: "ZRANGE")
        var result: [(String, Double)] = []
        if items.allSatisfy({ if case .array = $0 { return true } else { return false } }) {
            for item in items {
                let pair = try item.elements(for: "ZRANGE")
                guard pair.count == 2, let member = pair[0].string, let score = try pair[1].optionalDouble(for: "ZRANGE") else {
                    throw .unexpectedReply(command: "ZRANGE", reply: item.description)
                }
                result.append((member, score))
            }
        } else {
            guard items.count % 2 == 0 else { throw .unexpectedReply(command: "ZRANGE", reply: "\(items)") }
            for index in stride(from: 0, to: items.count, by: 2) {
                guard let member = items[index].string, let score = try items[index + 1].optionalDouble(for: "ZRANGE") else {
                    throw .unexpectedReply(command: "ZRANGE", reply: "\(items)")
                }
                result.append((member, score))
            }
        }
        return result
    }

    public func zrange(_ key: some RedisArgument, start: Int, stop: Int) async throws(RedisError) -> [String] {
        let items = try await send(RedisCommand("ZRANGE", readOnly: true).key(key).argument(start).argument(stop)).elements(for: "ZRANGE")
        return items.compactMap(\.string)
    }

    @discardableResult
    public func zrem(_ key: some RedisArgument, _ members: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("ZREM").key(key).arguments(members)).integer(for: "ZREM"))
    }

    public func zcard(_ key: some RedisArgument) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("ZCARD", readOnly: true).key(key)).integer(for: "ZCARD"))
    }
}

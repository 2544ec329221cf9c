/// Hash commands.
extension RedisCommandExecutor {
    /// HSET; returns how many fields were added (not updated).
    @discardableResult
    public func hset(_ key: some RedisArgument, _ fields: [(field: String, value: String)]) async throws(RedisError) -> Int {
        var command = RedisCommand("HSET").key(key)
        for entry in fields { command = command.argument(entry.field).argument(entry.value) }
        return Int(try await send(command).integer(for: "HSET"))
    }

    public func hget(_ key: some RedisArgument, field: String) async throws(RedisError) -> [UInt8]? {
        try await send(RedisCommand("HGET", readOnly: true).key(key).argument(field)).optionalBytes(for: "HGET")
    }

    /// HGETALL as a dictionary (RESP3 map or RESP2 flat array alike).
    public func hgetall(_ key: some RedisArgument) async throws(RedisError) -> [String: [UInt8]] {
        let pairs = try await send(RedisCommand("HGETALL", readOnly: true).key(key)).pairs(for: "HGETALL")
        var result: [String: [UInt8]] = [:]
        for (field, value) in pairs {
            guard let name = field.string, let bytes = value.bytes else {
                throw .unexpectedReply(command: "HGETALL", reply: "\(field) => \(value)")
            }
            result[name] = bytes
        }
        return result
    }

    @discardableResult
    public func hdel(_ key: some RedisArgument, fields: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("HDEL").key(key).arguments(fields)).integer(for: "HDEL"))
    }

    @discardableResult
    public func hincrBy(_ key: some RedisArgument, field: String, by amount: Int) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("HINCRBY").key(key).argument(field).argument(amount)).integer(for: "HINCRBY")
    }

    public func hlen(_ key: some RedisArgument) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("HLEN", readOnly: true).key(key)).integer(for: "HLEN"))
    }
}

/// How long a SET value lives.
public enum RedisSetExpiration: Sendable {
    case seconds(Int)
    case milliseconds(Int)
    case keepTTL
}

public enum RedisSetCondition: Sendable {
    case always
    /// NX: only if the key does not exist.
    case ifNotExists
    /// XX: only if the key exists.
    case ifExists
}


/// Strings and generic key commands.
extension RedisCommandExecutor {
    public func ping() async throws(RedisError) -> String {
        try await send(RedisCommand("PING")).string ?? "PONG"
    }

    public func get(_ key: some RedisArgument) async throws(RedisError) -> [UInt8]? {
        try await send(RedisCommand("GET", readOnly: true).key(key)).optionalBytes(for: "GET")
    }

    public func getString(_ key: some RedisArgument) async throws(RedisError) -> String? {
        try await get(key).map { String(decoding: $0, as: UTF8.self) }
    }

    /// SET with its options. Returns whether the value was set (NX/XX can refuse).
    @discardableResult
    public func set(
        _ key: some RedisArgument, _ value: some RedisArgument,
        expiration: RedisSetExpiration? = nil, condition: RedisSetCondition = .always
    ) async throws(RedisError) -> Bool {
        let command = Self.setCommand(key, value, expiration: expiration, condition: condition, get: false)
        let reply = try await send(command)
        return !reply.withoutAttributes.isNull
    }

    /// SET … GET: sets the value and returns the previous one.
    public func setAndGet(
        _ key: some RedisArgument, _ value: some RedisArgument,
        expiration: RedisSetExpiration? = nil, condition: RedisSetCondition = .always
    ) async throws(RedisError) -> [UInt8]? {
        let command = Self.setCommand(key, value, expiration: expiration, condition: condition, get: true)
        return try await send(command).optionalBytes(for: "SET")
    }

    static func setCommand(
        _ key: some RedisArgument, _ value: some RedisArgument,
        expiration: RedisSetExpiration?, condition: RedisSetCondition, get: Bool
    ) -> RedisCommand {
        var command = RedisCommand("SET").key(key).argument(value)
        switch expiration {
        case let .seconds(seconds)?: command = command.argument("EX").argument(seconds)
        case let .milliseconds(milliseconds)?: command = command.argument("PX").argument(milliseconds)
        case .keepTTL?: command = command.argument("KEEPTTL")
        case nil: break
        }
        switch condition {
        case .always: break
        case .ifNotExists: command = command.argument("NX")
        case .ifExists: command = command.argument("XX")
        }
        if get { command = command.argument("GET") }
        return command
    }

    @discardableResult
    public func del(_ keys: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("DEL").keys(keys)).integer(for: "DEL"))
    }

    @discardableResult
    public func del(_ key: String) async throws(RedisError) -> Int { try await del([key]) }

    /// How many of the keys exist.
    public func exists(_ keys: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("EXISTS", readOnly: true).keys(keys)).integer(for: "EXISTS"))
    }

    @discardableResult
    public func incr(_ key: some RedisArgument) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("INCR").key(key)).integer(for: "INCR")
    }

    @discardableResult
    public func incrBy(_ key: some RedisArgument, _ amount: Int) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("INCRBY").key(key).argument(amount)).integer(for: "INCRBY")
    }

    @discardableResult
    public func decr(_ key: some RedisArgument) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("DECR").key(key)).integer(for: "DECR")
    }

    @discardableResult
    public func decrBy(_ key: some RedisArgument, _ amount: Int) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("DECRBY").key(key).argument(amount)).integer(for: "DECRBY")
    }

    /// EXPIRE in seconds; false when the key does not exist.
    @discardableResult
    public func expire(_ key: some RedisArgument, seconds: Int) async throws(RedisError) -> Bool {
        try await send(RedisCommand("EXPIRE").key(key).argument(seconds)).integer(for: "EXPIRE") == 1
    }

    @discardableResult
    public func pexpire(_ key: some RedisArgument, milliseconds: Int) async throws(RedisError) -> Bool {
        try await send(RedisCommand("PEXPIRE").key(key).argument(milliseconds)).integer(for: "PEXPIRE") == 1
    }

    /// Seconds to live: -1 without expiry, -2 when the key does not exist (as Redis says).
    public func ttl(_ key: some RedisArgument) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("TTL", readOnly: true).key(key)).integer(for: "TTL")
    }

    public func pttl(_ key: some RedisArgument) async throws(RedisError) -> Int64 {
        try await send(RedisCommand("PTTL", readOnly: true).key(key)).integer(for: "PTTL")
    }

    public func mget(_ keys: [String]) async throws(RedisError) -> [[UInt8]?] {
        let items = try await send(RedisCommand("MGET", readOnly: true).keys(keys)).elements(for: "MGET")
        var values: [[UInt8]?] = []
        for item in items { values.append(try item.optionalBytes(for: "MGET")) }
        return values
    }

    public func mset(_ pairs: [(key: String, value: String)]) async throws(RedisError) {
        var command = RedisCommand("MSET")
        for pair in pairs { command = command.key(pair.key).argument(pair.value) }
        try await send(command).expectOK(for: "MSET")
    }

    /// One SCAN step: the next cursor (0 when done) and the keys of this step.
    public func scan(
        cursor: UInt64 = 0, match: String? = nil, count: Int? = nil, type: String? = nil
    ) async throws(RedisError) -> (cursor: UInt64, keys: [String]) {
        var command = RedisCommand("SCAN", readOnly: true).argument(String(cursor))
        if let match { command = command.argument("MATCH").argument(match) }
        if let count { command = command.argument("COUNT").argument(count) }
        if let type { command = command.argument("TYPE").argument(type) }
        let items = try await send(command).elements(for: "SCAN")
        guard items.count == 2, let next = items[0].string.flatMap({ UInt64($0) }) else {
            throw .unexpectedReply(command: "SCAN", reply: "\(items)")
        }
        return (next, try items[1].elements(for: "SCAN").compactMap(\.string))
    }

    /// Every key matching `match`, following the cursor to the end.
    public func scanAll(match: String? = nil, count: Int = 1000) async throws(RedisError) -> [String] {
        var cursor: UInt64 = 0
        var keys: [String] = []
        repeat {
            let step = try await scan(cursor: cursor, match: match, count: count)
            keys.append(contentsOf: step.keys)
            cursor = step.cursor
        } while cursor != 0
        return keys
    }
}

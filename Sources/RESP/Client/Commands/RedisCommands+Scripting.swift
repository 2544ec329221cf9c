import WireCore

/// A Lua script with its SHA1, so it can be run with EVALSHA and loaded only when the
/// server does not have it cached yet.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Digest.hex(Digest.sha1(Array(source.utf8)))
    }
}

/// Scripting, pub/sub publishing and server commands.
extension RedisCommandExecutor {
    /// Runs the script with EVALSHA; on NOSCRIPT (a restarted or failed-over server, a node
    /// that never saw it) runs it with EVAL, which also caches it on that server. EVAL carries
    /// the same keys, so a cluster routes it to the same node as the EVALSHA.
    public func evalScript(_ script: RedisScript, keys: [String] = [], arguments: [String] = []) async throws(RedisError) -> RESPValue {
        let evalsha = RedisCommand("EVALSHA").argument(script.sha1).argument(keys.count).keys(keys).arguments(arguments)
        do {
            return try await send(evalsha)
        } catch let error where error.serverKind == .noScript {
            return try await eval(script.source, keys: keys, arguments: arguments)
        }
    }

    public func eval(_ source: String, keys: [String] = [], arguments: [String] = []) async throws(RedisError) -> RESPValue {
        try await send(RedisCommand("EVAL").argument(source).argument(keys.count).keys(keys).arguments(arguments))
    }

    public func scriptLoad(_ source: String) async throws(RedisError) -> String {
        let reply = try await send(RedisCommand("SCRIPT").argument("LOAD").argument(source))
        guard let sha = reply.string else { throw .unexpectedReply(command: "SCRIPT LOAD", reply: reply.description) }
        return sha
    }

    /// PUBLISH; returns how many subscribers received it (on this node).
    @discardableResult
    public func publish(_ channel: String, _ message: some RedisArgument) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("PUBLISH").argument(channel).argument(message)).integer(for: "PUBLISH"))
    }

    /// INFO as a section → field → value dictionary flattened to field → value.
    public func info(_ section: String? = nil) async throws(RedisError) -> [String: String] {
        var command = RedisCommand("INFO")
        if let section { command = command.argument(section) }
        let reply = try await send(command)
        guard let text = reply.string else { throw .unexpectedReply(command: "INFO", reply: reply.description) }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            if let colon = line.firstIndex(of: ":") {
                fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
            }
        }
        return fields
    }

    public func dbsize() async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("DBSIZE")).integer(for: "DBSIZE"))
    }

    public func flushdb() async throws(RedisError) {
        try await send(RedisCommand("FLUSHDB")).expectOK(for: "FLUSHDB")
    }
}

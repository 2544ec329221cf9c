import WireCore

/// One Redis command, encoded as it is built: the arguments are written straight into their
/// RESP bulk-string form, and the hash slot of its keys is computed as keys are added, so the
/// cluster client can route it without parsing it again.
///
/// ```swift
/// let command = RedisCommand("SET").key("user:1").argument("alice").argument("EX").argument(60)
/// ```
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command name as given (e.g. "SET", "CLUSTER").
    public let name: String
    /// The bulk-string arguments in wire form, without the leading array header.
    public private(set) var body: [UInt8]
    /// Arguments including the name.
    public private(set) var argumentCount: Int
    /// The slot of its keys, or nil when it names no key.
    public private(set) var slot: UInt16?
    /// True when its keys hash to more than one slot (a cluster rejects it with CROSSSLOT).
    public private(set) var spansSlots: Bool = false
    /// Keys as text, kept for error messages and tracing.
    public private(set) var keyNames: [String] = []
    /// True when it only reads, so a replica may serve it.
    public var isReadOnly: Bool

    public init(_ name: String, readOnly: Bool = false) {
        self.name = name
        self.isReadOnly = readOnly || RedisCommand.readOnlyCommands.contains(name.uppercased())
        body = []
        body.reserveCapacity(64)
        argumentCount = 0
        appendBulk(name)
    }

    /// Builds a command from raw words, working out which words are keys from the command
    /// table (`KeySpecification`), as redis-cli does with COMMAND's key specs.
    public init(words: [String]) {
        precondition(!words.isEmpty, "a command needs a name")
        self.init(words[0])
        let keyPositions = KeySpecification.keyPositions(for: words)
        for (index, word) in words.enumerated().dropFirst() {
            if keyPositions.contains(index) { appendKey(word) } else { appendBulk(word) }
        }
    }

    /// Appends a key argument (hashed for cluster routing).
    public consuming func key(_ key: some RedisArgument) -> RedisCommand {
        appendKey(key)
        return self
    }

    public consuming func keys(_ keys: [some RedisArgument]) -> RedisCommand {
        for key in keys { appendKey(key) }
        return self
    }

    public consuming func argument(_ argument: some RedisArgument) -> RedisCommand {
        appendBulk(argument)
        return self
    }

    public consuming func arguments(_ arguments: [some RedisArgument]) -> RedisCommand {
        for argument in arguments { appendBulk(argument) }
        return self
    }

    public mutating func appendKey(_ key: some RedisArgument) {
        key.withArgumentBytes { bytes in
            let keySlot = HashSlot.slot(forKey: bytes)
            if let existing = slot {
                if existing != keySlot { spansSlots = true }
            } else {
                slot = keySlot
            }
            keyNames.append(String(decoding: bytes, as: UTF8.self))
        }
        appendBulk(key)
    }

    public mutating func appendBulk(_ argument: some RedisArgument) {
        argument.withArgumentBytes { bytes in
            body.append(UInt8(ascii: "$"))
            appendDecimal(bytes.count)
            body.append(13)
            body.append(10)
            body.append(contentsOf: bytes)
            body.append(13)
            body.append(10)
        }
        argumentCount += 1
    }

    private mutating func appendDecimal(_ value: Int) {
        if value < 10 {
            body.append(UInt8(value) &+ 48)
            return
        }
        var writer = ByteWriter(capacity: 20)
        writer.writeDecimal(value)
        body.append(contentsOf: writer.bytes)
    }

    /// Writes the complete request (array header and arguments) into `buffer`.
    @inlinable
    public func encode(into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        if argumentCount < 10 {
            buffer.append(UInt8(argumentCount) &+ 48)
        } else {
            var writer = ByteWriter(capacity: 20)
            writer.writeDecimal(argumentCount)
            buffer.append(contentsOf: writer.bytes)
        }
        buffer.append(13)
        buffer.append(10)
        buffer.append(contentsOf: body)
    }

    /// The command's words, decoded for display (tracing, errors).
    public var words: [String] {
        var result: [String] = []
        var reader = ByteReader(body)
        while !reader.isAtEnd {
            guard (try? reader.readUInt8()) == UInt8(ascii: "$"), let end = reader.firstIndex(of: 13) else { break }
            let length = Int(String(decoding: reader.bytes[reader.readerIndex..<end], as: UTF8.self)) ?? 0
            reader.moveReaderIndex(to: end + 2)
            guard let text = try? reader.readString(length) else { break }
            result.append(text)
            reader.moveReaderIndex(to: reader.readerIndex + 2)
        }
        return result
    }

    public var description: String {
        words.map { word in word.contains(" ") || word.isEmpty ? "\"\(word)\"" : word }.joined(separator: " ")
    }

    static let readOnlyCommands: Set<String> = [
        "GET", "MGET", "EXISTS", "TTL", "PTTL", "TYPE", "STRLEN", "GETRANGE", "HGET", "HGETALL", "HMGET",
        "HEXISTS", "HLEN", "HKEYS", "HVALS", "SMEMBERS", "SISMEMBER", "SCARD", "SRANDMEMBER", "ZRANGE",
        "ZSCORE", "ZCARD", "ZRANK", "ZREVRANK", "ZCOUNT", "ZRANGEBYSCORE", "LRANGE", "LLEN", "LINDEX",
        "SCAN", "HSCAN", "SSCAN", "ZSCAN", "DBSIZE", "EVAL_RO", "EVALSHA_RO", "BITCOUNT", "GETBIT",
        "PFCOUNT", "XRANGE", "XLEN", "XREAD", "DUMP", "OBJECT", "RANDOMKEY", "KEYS",
    ]
}

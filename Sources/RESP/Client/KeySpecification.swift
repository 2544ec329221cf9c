/// Which words of a raw command are keys, for routing commands typed by a user (or passed as
/// plain words) in a cluster. Mirrors the first-key/last-key/step triples of `COMMAND INFO`,
/// plus the commands whose keys follow a count (EVAL, ZUNIONSTORE, …) or a keyword (XREAD).
public enum KeySpecification {
    /// (first key index, last key index — negative counts from the end, step)
    static let ranges: [String: (first: Int, last: Int, step: Int)] = {
        var table: [String: (Int, Int, Int)] = [:]
        let singleKey = [
            "GET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "APPEND", "STRLEN", "INCR",
            "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT", "GETRANGE", "SETRANGE", "EXPIRE", "PEXPIRE", "EXPIREAT",
            "PEXPIREAT", "TTL", "PTTL", "PERSIST", "TYPE", "DUMP", "RESTORE", "HSET", "HSETNX", "HGET", "HMSET",
            "HMGET", "HDEL", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HINCRBY", "HINCRBYFLOAT", "HSCAN",
            "HSTRLEN", "HRANDFIELD", "LPUSH", "RPUSH", "LPOP", "RPOP", "LLEN", "LRANGE", "LINDEX", "LSET", "LREM",
            "LTRIM", "LINSERT", "LPUSHX", "RPUSHX", "LPOS", "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER",
            "SCARD", "SPOP", "SRANDMEMBER", "SSCAN", "ZADD", "ZREM", "ZRANGE", "ZREVRANGE", "ZRANGEBYSCORE",
            "ZREVRANGEBYSCORE", "ZSCORE", "ZMSCORE", "ZINCRBY", "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "ZSCAN",
            "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZRANDMEMBER", "XADD", "XLEN", "XRANGE",
            "XREVRANGE", "XDEL", "XTRIM", "XACK", "XCLAIM", "XAUTOCLAIM", "XPENDING", "XGROUP", "XINFO",
            "SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITFIELD", "PFADD", "GEOADD", "GEOPOS", "GEODIST",
            "GEORADIUS", "GEOSEARCH", "SORT", "SORT_RO",
        ]
        for name in singleKey { table[name] = (1, 1, 1) }
        for name in ["DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SINTER", "SUNION", "SDIFF", "PFCOUNT", "PFMERGE"] {
            table[name] = (1, -1, 1)
        }
        for name in ["MSET", "MSETNX"] { table[name] = (1, -1, 2) }
        for name in ["RENAME", "RENAMENX", "RPOPLPUSH", "SMOVE", "LMOVE", "COPY", "BLMOVE"] { table[name] = (1, 2, 1) }
        for name in ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"] { table[name] = (1, -1, 1) }
        for name in ["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"] { table[name] = (1, -2, 1) }
        return table
    }()

    /// Commands whose keys are counted by a numkeys argument at `countIndex`.
    static let countedKeys: [String: Int] = [
        "EVAL": 2, "EVALSHA": 2, "EVAL_RO": 2, "EVALSHA_RO": 2, "FCALL": 2, "FCALL_RO": 2,
        "ZUNION": 1, "ZINTER": 1, "ZDIFF": 1, "SINTERCARD": 1, "ZINTERCARD": 1, "LMPOP": 1, "ZMPOP": 1,
    ]
    /// Commands with a destination key first and numkeys after it.
    static let storeWithCountedKeys: Set<String> = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]

    public static func keyPositions(for words: [String]) -> Set<Int> {
        guard let first = words.first else { return [] }
        let name = first.uppercased()
        let count = words.count
        var positions: Set<Int> = []

        if let countIndex = countedKeys[name] {
            guard countIndex < count, let numKeys = Int(words[countIndex]), numKeys > 0 else { return [] }
            for index in (countIndex + 1)..<min(count, countIndex + 1 + numKeys) { positions.insert(index) }
            return positions
        }
        if storeWithCountedKeys.contains(name) {
            guard count > 2, let numKeys = Int(words[2]), numKeys > 0 else { return count > 1 ? [1] : [] }
            positions.insert(1)
            for index in 3..<min(count, 3 + numKeys) { positions.insert(index) }
            return positions
        }
        if name == "XREAD" || name == "XREADGROUP" {
            guard let streamsIndex = words.firstIndex(where: { $0.uppercased() == "STREAMS" }) else { return [] }
            let remaining = count - streamsIndex - 1
            let keyCount = remaining / 2
            for index in (streamsIndex + 1)..<(streamsIndex + 1 + keyCount) { positions.insert(index) }
            return positions
        }
        if name == "OBJECT" || name == "MEMORY" {
            return count > 2 ? [2] : []
        }
        guard let range = ranges[name], count > range.first else { return [] }
        let last = range.last >= 0 ? min(range.last, count - 1) : count + range.last
        guard last >= range.first else { return [] }
        for index in stride(from: range.first, through: last, by: range.step) { positions.insert(index) }
        return positions
    }
}

import RESP

/// How the read side caches an account, and how events invalidate it. Shared by the
/// consumer-service (which invalidates after it committed the read-model change, so an
/// invalidation never runs ahead of the data it announces) and the query-service (which reads).
public enum CacheInvalidationMode: String, Sendable, CaseIterable {
    /// No invalidation: entries live until their TTL (the misuse).
    case none
    /// `DEL account:{id}` after the change.
    case del
    /// Versioned keys: entries live under `account:{id}:v{version}`; the change moves the
    /// pointer `account:{id}:ver` forward (never back), so an entry for an older version is
    /// simply never read again, whatever the interleaving of readers and writers.
    case versioned
}

/// What the query-service serves and caches for an account.
public struct AccountSnapshot: Codable, Sendable, Hashable {
    public var accountId: String
    public var balanceCents: Int64
    public var version: Int64

    public init(accountId: String, balanceCents: Int64, version: Int64) {
        self.accountId = accountId
        self.balanceCents = balanceCents
        self.version = version
    }
}

public enum AccountCacheKeys {
    /// The entry of `del` (and `none`) mode.
    public static func entry(_ accountID: String) -> String { "account:{\(accountID)}" }
    /// The version pointer of `versioned` mode.
    public static func versionPointer(_ accountID: String) -> String { "account:{\(accountID)}:ver" }
    /// The entry for one version in `versioned` mode.
    public static func versionedEntry(_ accountID: String, version: Int64) -> String { "account:{\(accountID)}:v\(version)" }
}

/// Invalidation of cached accounts after a committed change.
public struct AccountCacheInvalidator: Sendable {
    public let redis: RedisClient
    public let mode: CacheInvalidationMode

    /// Moves the pointer to max(current, version): one round trip, atomic on the server.
    static let raisePointer = RedisScript("""
        local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
        local proposed = tonumber(ARGV[1])
        if proposed > current then redis.call('SET', KEYS[1], ARGV[1]) return proposed end
        return current
        """)

    public init(redis: RedisClient, mode: CacheInvalidationMode) {
        self.redis = redis
        self.mode = mode
    }

    /// Invalidates what is cached for `accountID` now that `version` is committed.
    public func invalidate(accountID: String, version: Int64) async throws(RedisError) {
        switch mode {
        case .none:
            return
        case .del:
            _ = try await redis.del(AccountCacheKeys.entry(accountID))
        case .versioned:
            _ = try await redis.evalScript(Self.raisePointer, keys: [AccountCacheKeys.versionPointer(accountID)], arguments: ["\(version)"])
        }
    }
}

import Foundation
import RESP
import ServiceKit

/// Cache-aside reads of accounts over the read model, in the three invalidation modes the
/// consumer-service pairs with (`AccountCacheInvalidator`):
///
/// - `none` / `del`: GET `account:{id}`; on a miss load the read model (singleflight: one load
///   per key at a time) and SET the entry with the TTL ± jitter. In `del` mode the consumer
///   deletes the entry after its commit; a reader that loaded before that commit and writes
///   after the DEL still leaves a stale entry until the TTL — the race `versioned` closes.
/// - `versioned`: GET the pointer `account:{id}:ver`, then GET `account:{id}:v{pointer}`. On a
///   miss load the read model and cache the value under the version it was loaded at, never
///   under the pointer, so a slow reader can only write an entry that no newer pointer leads
///   to. With no pointer yet, the reader seeds it with `SET … NX` to the loaded version.
///
/// The seeded pointer gets the same TTL as the entry it accompanies: pointers for accounts
/// nobody reads then expire instead of piling up, and both expire together, so the next read
/// is a clean miss that seeds them again. It is safe because the pointer can only go back
/// where nothing newer was announced: the invalidator's SET clears the TTL, so a pointer that
/// an invalidation ever moved does not expire, and NX never overwrites one.
///
/// Redis failures never fail a read: the read is served from the database (`bypass`,
/// counted); a failed fill is counted and the loaded value still served. A read-model
/// failure is thrown (the HTTP layer answers 503).
public final class AccountReadCache: Sendable {
    public struct Settings: Sendable, Equatable {
        public var mode: CacheInvalidationMode
        public var ttl: Duration
        /// Fraction of the TTL added or removed at random (uniform), so entries filled together
        /// do not expire together.
        public var ttlJitter: Double
        public var singleflight: Bool

        public init(mode: CacheInvalidationMode = .versioned, ttl: Duration = .seconds(60), ttlJitter: Double = 0.1, singleflight: Bool = true) {
            self.mode = mode
            self.ttl = ttl
            self.ttlJitter = ttlJitter
            self.singleflight = singleflight
        }
    }

    /// One read: the account (nil when the read model has none) and how the cache served it.
    public struct Read: Sendable, Equatable {
        public var account: AccountSnapshot?
        public var cache: CacheMetrics.Result
    }

    /// Failpoints on the read path, for experiments: a delay before the database load makes
    /// concurrent misses overlap (stampede); a delay before the fill widens the window in
    /// which a slow reader writes what it loaded after an invalidation (del-mode staleness).
    public static let beforeDatabaseLoad = "query.before_db_load"
    public static let beforeCacheFill = "query.before_cache_fill"
    public static let failpointNames = [beforeDatabaseLoad, beforeCacheFill]

    public let settings: Settings
    public let metrics: CacheMetrics
    private let redis: any RedisCommandExecutor
    private let source: any AccountSource
    private let failpoints: Failpoints
    private let flights = Singleflight<String, AccountSnapshot?>()

    public init(
        redis: any RedisCommandExecutor, source: any AccountSource, settings: Settings,
        metrics: CacheMetrics = CacheMetrics(), failpoints: Failpoints = Failpoints(known: AccountReadCache.failpointNames)
    ) {
        self.redis = redis
        self.source = source
        self.settings = settings
        self.metrics = metrics
        self.failpoints = failpoints
    }

    /// Reads an account through the cache. Throws `QueryError.databaseUnavailable` when the
    /// value had to come from the read model and it could not answer.
    public func read(_ id: AccountID) async throws(QueryError) -> Read {
        switch settings.mode {
        case .none, .del: try await readEntry(id.value)
        case .versioned: try await readVersioned(id.value)
        }
    }

    // MARK: Modes

    private func readEntry(_ id: String) async throws(QueryError) -> Read {
        let key = AccountCacheKeys.entry(id)
        let cached: [UInt8]?
        do {
            cached = try await redis.get(key)
        } catch {
            return try await bypass(id)
        }
        if let cached {
            if let account = decode(cached) { return served(account, .hit) }
            metrics.cacheError()  // unreadable entry: reload and overwrite it
        }
        let account = try await load(id) { account in
            await self.fill([(key, account)], pointer: nil)
        }
        return served(account, .miss)
    }

    private func readVersioned(_ id: String) async throws(QueryError) -> Read {
        let pointerKey = AccountCacheKeys.versionPointer(id)
        var pointer: Int64?
        var pointerText: String?
        do {
            pointerText = try await redis.getString(pointerKey)
            pointer = pointerText.flatMap { Int64($0) }
            if let pointer, let cached = try await redis.get(AccountCacheKeys.versionedEntry(id, version: pointer)) {
                if let account = decode(cached), account.version == pointer { return served(account, .hit) }
                metrics.cacheError()
            }
        } catch {
            return try await bypass(id)
        }
        if pointerText != nil && pointer == nil { metrics.cacheError() }  // a pointer that is not a number: left alone
        let seedPointer = pointerText == nil
        // Readers share a load only with readers that saw the same pointer: one that saw an
        // invalidation's pointer never receives a value loaded before that invalidation.
        let account = try await load(id, flight: "\(id) \(pointerText ?? "-")") { account in
            await self.fill(
                [(AccountCacheKeys.versionedEntry(id, version: account.version), account)],
                pointer: seedPointer ? (pointerKey, account.version) : nil)
        }
        return served(account, .miss)
    }

    /// Redis could not be asked: serve from the read model, and leave Redis alone.
    private func bypass(_ id: String) async throws(QueryError) -> Read {
        metrics.cacheError()
        return served(try await load(id, fill: nil), .bypass)
    }

    private func served(_ account: AccountSnapshot?, _ result: CacheMetrics.Result) -> Read {
        metrics.request(result)
        return Read(account: account, cache: result)
    }

    // MARK: Load and fill

    /// Loads the account from the read model and fills the cache with it (when found), as
    /// one unit of work shared by concurrent callers of the same flight key (the id unless
    /// given) when singleflight is on: the fill is part of the flight so that one flight is
    /// one query and one write.
    private func load(
        _ id: String, flight: String? = nil, fill: (@Sendable (AccountSnapshot) async -> Void)?
    ) async throws(QueryError) -> AccountSnapshot? {
        let work: @Sendable () async throws -> AccountSnapshot? = { [self] in
            do {
                try await failpoints.hit(Self.beforeDatabaseLoad)
            } catch {
                metrics.dbError()
                throw QueryError.databaseUnavailable("\(error)")
            }
            metrics.dbLoad()
            let account: AccountSnapshot?
            do {
                account = try await source.account(id)
            } catch {
                metrics.dbError()
                throw QueryError.databaseUnavailable("\(error)")
            }
            if let account, let fill { await fill(account) }
            return account
        }
        do {
            guard settings.singleflight else { return try await work() }
            let (account, shared) = try await flights.run(flight ?? id, work)
            if shared { metrics.sharedLoad() }
            return account
        } catch let error as QueryError {
            throw error
        } catch {
            throw .databaseUnavailable("\(error)")
        }
    }

    /// Writes entries (and seeds the version pointer with NX) with one jittered TTL; a failure
    /// is counted, not thrown: the value was loaded and is served anyway.
    private func fill(_ entries: [(key: String, account: AccountSnapshot)], pointer: (key: String, version: Int64)?) async {
        do {
            try await failpoints.hit(Self.beforeCacheFill)
        } catch {
            metrics.cacheError()
            return
        }
        let ttl = RedisSetExpiration.milliseconds(Self.jitteredMilliseconds(settings.ttl, jitter: settings.ttlJitter))
        do {
            // Entry first: a pointer must not lead to an entry that is not there yet.
            for entry in entries {
                try await redis.set(entry.key, EventCoding.encode(entry.account), expiration: ttl)
            }
            if let pointer {
                try await redis.set(pointer.key, String(pointer.version), expiration: ttl, condition: .ifNotExists)
            }
        } catch {
            metrics.cacheError()
        }
    }

    private func decode(_ bytes: [UInt8]) -> AccountSnapshot? {
        try? JSONDecoder().decode(AccountSnapshot.self, from: Data(bytes))
    }

    /// The TTL ± `jitter` × TTL (uniform), in whole milliseconds, at least 1. (PX rather than
    /// EX, so the jitter of a short experiment TTL is not rounded away.)
    public static func jitteredMilliseconds(_ ttl: Duration, jitter: Double) -> Int {
        let base = Double(ttl.milliseconds)
        let fraction = min(max(jitter, 0), 0.99)
        let factor = fraction > 0 ? 1 + Double.random(in: -fraction...fraction) : 1
        return max(1, Int((base * factor).rounded()))
    }
}

/// Why a read could not be answered.
public enum QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The read model could not be queried (pool timeout, server down, query error).
    case databaseUnavailable(String)

    public var description: String {
        switch self {
        case let .databaseUnavailable(why): "the read model is unavailable: \(why)"
        }
    }
}

import Foundation
import MySQLWire
import QueryService
import RESP
import ServiceKit
import Synchronization

/// What the query-service suites add to ServicesTestKit: account_view rows with ids no one
/// else uses, a Redis client, caches over them, and their cleanup.
enum QueryTestKit {
    /// An account id for `tag` that no other test uses.
    static func uniqueAccount(_ tag: String) -> String { ServicesTestKit.unique("qs-\(tag)") }

    /// A database handle and a Redis client for one test, with the rows and keys it made.
    final class Fixture: Sendable {
        let database: ServiceDatabase
        let redis: RedisClient
        private let accounts = Mutex<[String]>([])

        init() async throws {
            database = try await ServicesTestKit.database(poolName: "query-tests", maximumPoolSize: 4)
            redis = RedisClient(try RedisConnectionConfiguration(url: ServicesTestKit.environment.redisURL), connections: 2)
        }

        /// A cache over account_view with this fixture's Redis; loads counted by the returned source.
        func cache(
            mode: CacheInvalidationMode, singleflight: Bool = true, ttl: Duration = .seconds(30),
            loadDelay: Duration? = nil, failpoints: Failpoints = Failpoints(known: AccountReadCache.failpointNames)
        ) -> (cache: AccountReadCache, source: CountingSource) {
            let source = CountingSource(AccountViewTable(database: database), delay: loadDelay)
            let cache = AccountReadCache(
                redis: redis, source: source,
                settings: .init(mode: mode, ttl: ttl, ttlJitter: 0.1, singleflight: singleflight),
                metrics: CacheMetrics(), failpoints: failpoints)
            return (cache, source)
        }

        func insert(_ id: String, balance: Int64, version: Int64) async throws {
            accounts.withLock { $0.append(id) }
            try await database.query(
                "INSERT INTO account_view (account_id, balance_cents, version, applied_events, updated_at) VALUES (?, ?, ?, ?, NOW(6))",
                [.string(id), .int(balance), .int(version), .int(version)])
        }

        /// What the consumer-service does for a deposit: the row changes, then (after its commit)
        /// the cache is invalidated.
        func update(_ id: String, balance: Int64, version: Int64) async throws {
            try await database.query(
                "UPDATE account_view SET balance_cents = ?, version = ?, applied_events = ?, updated_at = NOW(6) WHERE account_id = ?",
                [.int(balance), .int(version), .int(version), .string(id)])
        }

        func invalidate(_ id: String, version: Int64, mode: CacheInvalidationMode) async throws {
            try await AccountCacheInvalidator(redis: redis, mode: mode).invalidate(accountID: id, version: version)
        }

        /// Deletes this test's rows and cache keys (versions up to 10), then closes.
        func close(extraAccounts: [String] = []) async {
            let ids = accounts.withLock { $0 } + extraAccounts
            for id in ids {
                _ = try? await database.query("DELETE FROM account_view WHERE account_id = ?", [.string(id)])
                let keys = [AccountCacheKeys.entry(id), AccountCacheKeys.versionPointer(id)]
                    + (0...10).map { AccountCacheKeys.versionedEntry(id, version: Int64($0)) }
                _ = try? await redis.del(keys)
            }
            redis.close()
            database.shutdown()
        }
    }

    /// The read model, with every load counted and optionally slowed down after the read (a
    /// slow reader holding what it read; concurrent misses overlap however fast the machine is).
    final class CountingSource: AccountSource {
        let inner: any AccountSource
        let delay: Duration?
        private let counter = Atomic<Int>(0)

        init(_ inner: any AccountSource, delay: Duration? = nil) {
            self.inner = inner
            self.delay = delay
        }

        var loads: Int { counter.load(ordering: .relaxed) }

        func account(_ id: String) async throws -> AccountSnapshot? {
            counter.add(1, ordering: .relaxed)
            let account = try await inner.account(id)
            if let delay { try await Task.sleep(for: delay) }
            return account
        }
    }

    /// A source whose database is down.
    struct FailingSource: AccountSource {
        func account(_ id: String) async throws -> AccountSnapshot? {
            throw ServiceError.dependency("injected: the read model is down")
        }
    }
}

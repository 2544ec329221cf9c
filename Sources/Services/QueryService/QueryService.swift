import Logging
import MySQLWire
import RESP
import ServiceKit
import WireCore

/// The query-service: `GET /accounts/{id}` served cache-aside from Redis over the read model
/// `account_view` (see `AccountReadCache` for the modes), on 127.0.0.1:18081 by default, with
/// the common /health, /metrics and /failpoints. Its pool is named "query" (`hikaricp_*{pool="query"}`).
public struct QueryService: Sendable {
    public struct Options: Sendable {
        public var port: Int
        public var mysqlURL: String
        public var redisURL: String
        public var cacheMode: CacheInvalidationMode
        public var ttl: Duration
        /// Fraction of the TTL added or removed at random (0.1 = ±10%).
        public var ttlJitter: Double
        public var singleflight: Bool
        public var poolSize: Int
        /// How long a request waits for a pooled connection before it fails (503).
        public var connectionTimeout: Duration
        /// Redis connect and command timeout: how long a read waits on Redis before it is
        /// served from the database instead.
        public var redisTimeout: Duration
        /// Shared, pipelined Redis connections.
        public var redisConnections: Int

        public init(
            environment: ServiceEnvironment = ServiceEnvironment(),
            port: Int = ServicePorts.queryService,
            cacheMode: CacheInvalidationMode = .versioned,
            ttl: Duration = .seconds(60),
            ttlJitter: Double = 0.1,
            singleflight: Bool = true,
            poolSize: Int = 10,
            connectionTimeout: Duration = .seconds(2),
            redisTimeout: Duration = .seconds(1),
            redisConnections: Int = 4
        ) {
            self.port = port
            mysqlURL = environment.mysqlURL
            redisURL = environment.redisURL
            self.cacheMode = cacheMode
            self.ttl = ttl
            self.ttlJitter = ttlJitter
            self.singleflight = singleflight
            self.poolSize = poolSize
            self.connectionTimeout = connectionTimeout
            self.redisTimeout = redisTimeout
            self.redisConnections = redisConnections
        }

        public var cacheSettings: AccountReadCache.Settings {
            AccountReadCache.Settings(mode: cacheMode, ttl: ttl, ttlJitter: ttlJitter, singleflight: singleflight)
        }

        /// The Redis client configuration: `redisURL` with the service's timeouts.
        public func redisConfiguration() throws -> RedisConnectionConfiguration {
            var configuration = try RedisConnectionConfiguration(url: redisURL)
            configuration.commandTimeout = redisTimeout
            configuration.channelOptions = ChannelOptions(connectTimeout: redisTimeout)
            configuration.clientName = "query-service"
            return configuration
        }

        public func poolConfiguration() -> ConnectionPoolConfiguration {
            ConnectionPoolConfiguration(maximumPoolSize: poolSize, connectionTimeout: connectionTimeout)
        }
    }

    public static let name = "query-service"
    public static let failpointNames = AccountReadCache.failpointNames

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Runs until SIGTERM/SIGINT.
    public func run() async throws {
        guard options.poolSize > 0 else { throw ServiceError.invalidConfiguration("the pool size must be at least 1") }
        guard options.ttl > .zero else { throw ServiceError.invalidConfiguration("the cache TTL must be positive") }
        guard (0..<1).contains(options.ttlJitter) else { throw ServiceError.invalidConfiguration("the TTL jitter is a fraction in [0, 1)") }
        let runtime = try ServiceRuntime(name: Self.name, port: options.port, failpoints: Self.failpointNames)
        let database = try ServiceDatabase(url: options.mysqlURL, poolName: "query", pool: options.poolConfiguration(), logger: runtime.logger)
        defer { database.shutdown() }
        try await Migrations.applyBundled(database)
        let redis = RedisClient(try options.redisConfiguration(), connections: max(1, options.redisConnections))
        defer { redis.close() }
        let cache = AccountReadCache(
            redis: redis, source: AccountViewTable(database: database), settings: options.cacheSettings,
            metrics: CacheMetrics(), failpoints: runtime.failpoints)
        let logger = runtime.logger
        logger.info("query-service configured", metadata: [
            "cacheMode": "\(options.cacheMode.rawValue)", "ttlMs": "\(options.ttl.milliseconds)",
            "ttlJitter": "\(options.ttlJitter)", "singleflight": "\(options.singleflight)",
            "poolSize": "\(options.poolSize)",
        ])
        try await runtime.run(routes: { router in QueryRoutes.register(on: router, cache: cache, logger: logger) })
    }
}

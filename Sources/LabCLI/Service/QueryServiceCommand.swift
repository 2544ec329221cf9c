import ArgumentParser
import QueryService
import ServiceKit

/// `lab service query`: the query-service (cache-aside reads of the account read model).
struct QueryServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run the query-service: GET /accounts/{id}, cache-aside from Redis over account_view.",
        discussion: """
            GET /accounts/{id} answers {"accountId","balanceCents","version"} with X-Cache: hit, miss or bypass (Redis unavailable, served from MySQL); 404 when the read model has no such account, 400 for an id that is not 1-64 characters of [A-Za-z0-9_-], 503 when MySQL cannot answer.

            Cache modes (pair with the consumer-service's cache mode):
              none       entries live until their TTL (no invalidation)
              del        account:{ID} is deleted after each change
              versioned  entries under account:{ID}:v{VERSION}, read through the pointer account:{ID}:ver

            Metrics: lab_cache_requests_total{result}, lab_cache_db_loads_total, lab_cache_singleflight_waiters_total, lab_cache_errors_total, lab_query_db_errors_total, hikaricp_*{pool="query"}.
            Failpoints: query.before_db_load, query.before_cache_fill.
            """
    )

    @Option(help: "HTTP port on 127.0.0.1.")
    var port: Int = ServicePorts.queryService

    @Option(name: .customLong("mysql-url"), help: "MySQL URL of the read model (default: LAB_MYSQL_URL).")
    var mysqlURL: String = ServiceEnvironment().mysqlURL

    @Option(name: .customLong("redis-url"), help: "Redis URL of the cache (default: LAB_REDIS_URL).")
    var redisURL: String = ServiceEnvironment().redisURL

    @Option(name: .customLong("cache-mode"), help: "none, del or versioned.")
    var cacheMode: String = CacheInvalidationMode.versioned.rawValue

    @Option(name: .customLong("ttl"), help: "Cache entry TTL in seconds (fractions allowed).")
    var ttlSeconds: Double = 60

    @Option(name: .customLong("ttl-jitter"), help: "Random TTL spread as a fraction of the TTL, uniform ± (0 = none).")
    var ttlJitter: Double = 0.1

    @Flag(inversion: .prefixedNo, help: "Collapse concurrent misses of one key into one database load.")
    var singleflight = true

    @Option(name: .customLong("pool-size"), help: "MySQL pool size (maximumPoolSize).")
    var poolSize: Int = 10

    @Option(name: .customLong("connection-timeout"), help: "Seconds a request waits for a pooled MySQL connection (then 503).")
    var connectionTimeoutSeconds: Double = 2

    @Option(name: .customLong("redis-timeout"), help: "Seconds to wait on Redis (connect and command) before serving from MySQL.")
    var redisTimeoutSeconds: Double = 1

    @Option(name: .customLong("redis-connections"), help: "Shared, pipelined Redis connections.")
    var redisConnections: Int = 4

    func validate() throws {
        guard CacheInvalidationMode(rawValue: cacheMode) != nil else { throw ValidationError("--cache-mode must be none, del or versioned") }
        guard ttlSeconds > 0 else { throw ValidationError("--ttl must be positive") }
        guard ttlJitter >= 0 && ttlJitter < 1 else { throw ValidationError("--ttl-jitter is a fraction in [0, 1)") }
        guard poolSize > 0 else { throw ValidationError("--pool-size must be at least 1") }
        guard connectionTimeoutSeconds > 0, redisTimeoutSeconds > 0 else { throw ValidationError("timeouts must be positive") }
        guard redisConnections > 0 else { throw ValidationError("--redis-connections must be at least 1") }
    }

    func run() async throws {
        var options = QueryService.Options(
            port: port, cacheMode: CacheInvalidationMode(rawValue: cacheMode) ?? .versioned,
            ttl: .milliseconds(Int64((ttlSeconds * 1000).rounded())), ttlJitter: ttlJitter, singleflight: singleflight,
            poolSize: poolSize, connectionTimeout: .milliseconds(Int64((connectionTimeoutSeconds * 1000).rounded())),
            redisTimeout: .milliseconds(Int64((redisTimeoutSeconds * 1000).rounded())), redisConnections: redisConnections)
        options.mysqlURL = mysqlURL
        options.redisURL = redisURL
        try await QueryService(options: options).run()
    }
}

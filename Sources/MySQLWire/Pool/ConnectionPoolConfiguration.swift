/// Pool settings with HikariCP's names, meanings and defaults.
public struct ConnectionPoolConfiguration: Sendable, Equatable {
    /// The most connections the pool holds, in use or idle.
    public var maximumPoolSize: Int
    /// The fewest idle connections the pool keeps ready; nil means `maximumPoolSize` (a fixed pool).
    public var minimumIdle: Int?
    /// How long `acquire` waits before failing with a timeout.
    public var connectionTimeout: Duration
    /// How long a liveness check (ping) may take.
    public var validationTimeout: Duration
    /// Idle connections beyond `minimumIdle` are closed after this long unused.
    public var idleTimeout: Duration
    /// Connections are retired after this long (minus up to 2.5% random jitter, so they do
    /// not all expire together); a connection in use is retired when it is returned.
    public var maxLifetime: Duration
    /// Idle connections are pinged this often (minus up to 10% jitter) so that servers and
    /// middleboxes do not drop them silently; nil disables it.
    public var keepaliveTime: Duration?
    /// A connection held longer than this is reported with the place it was acquired; nil disables it.
    public var leakDetectionThreshold: Duration?
    /// A connection used within this window is handed out without a ping.
    public var aliveBypassWindow: Duration
    /// Connections being opened at once (while creation keeps failing, one at a time).
    public var maxConcurrentCreations: Int
    /// Backoff between failed creation attempts (e.g. 1040 Too many connections), doubling
    /// from the base up to the cap, so a struggling server is not hit by a reconnect storm.
    public var creationBackoffBase: Duration
    public var creationBackoffCap: Duration

    public init(
        maximumPoolSize: Int = 10,
        minimumIdle: Int? = nil,
        connectionTimeout: Duration = .seconds(30),
        validationTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(600),
        maxLifetime: Duration = .seconds(1800),
        keepaliveTime: Duration? = .seconds(120),
        leakDetectionThreshold: Duration? = nil,
        aliveBypassWindow: Duration = .milliseconds(500),
        maxConcurrentCreations: Int = 4,
        creationBackoffBase: Duration = .milliseconds(100),
        creationBackoffCap: Duration = .seconds(5)
    ) {
        self.maximumPoolSize = maximumPoolSize
        self.minimumIdle = minimumIdle
        self.connectionTimeout = connectionTimeout
        self.validationTimeout = validationTimeout
        self.idleTimeout = idleTimeout
        self.maxLifetime = maxLifetime
        self.keepaliveTime = keepaliveTime
        self.leakDetectionThreshold = leakDetectionThreshold
        self.aliveBypassWindow = aliveBypassWindow
        self.maxConcurrentCreations = maxConcurrentCreations
        self.creationBackoffBase = creationBackoffBase
        self.creationBackoffCap = creationBackoffCap
    }

    /// The consumer pool of the pool-exhaustion scenario: 20 connections, 2 s connection
    /// timeout, 1 s validation timeout, 10 min max lifetime, 30 s keepalive.
    public static let burstScenario = ConnectionPoolConfiguration(
        maximumPoolSize: 20, connectionTimeout: .seconds(2), validationTimeout: .seconds(1),
        maxLifetime: .seconds(600), keepaliveTime: .seconds(30)
    )

    var effectiveMinimumIdle: Int { min(minimumIdle ?? maximumPoolSize, maximumPoolSize) }
}

/// The pool's counts at one moment, as HikariCP's metrics report them.
public struct ConnectionPoolSnapshot: Sendable, Equatable, CustomStringConvertible {
    /// Connections open (in use + idle + being validated).
    public var total: Int
    /// In use by callers (including connections being validated for a caller).
    public var active: Int
    public var idle: Int
    /// Callers waiting for a connection.
    public var pending: Int
    /// Connections being opened.
    public var creating: Int
    public var maximum: Int
    public var minimumIdle: Int
    /// Acquires that timed out, since the pool started.
    public var timeouts: Int

    public var description: String {
        "total=\(total), active=\(active), idle=\(idle), waiting=\(pending)"
    }
}

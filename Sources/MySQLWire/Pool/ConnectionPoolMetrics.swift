import CoreMetrics

/// HikariCP's metrics, with the names and `pool` label that dashboards already query.
struct ConnectionPoolMetrics: Sendable {
    let active: Gauge
    let idle: Gauge
    let pending: Gauge
    let total: Gauge
    let maximum: Gauge
    let minimum: Gauge
    let timeouts: Counter
    let acquire: Timer
    let creation: Timer
    let usage: Timer

    init(pool: String, factory: MetricsFactory) {
        let dimensions = [("pool", pool)]
        active = Gauge(label: "hikaricp_connections_active", dimensions: dimensions, factory: factory)
        idle = Gauge(label: "hikaricp_connections_idle", dimensions: dimensions, factory: factory)
        pending = Gauge(label: "hikaricp_connections_pending", dimensions: dimensions, factory: factory)
        total = Gauge(label: "hikaricp_connections", dimensions: dimensions, factory: factory)
        maximum = Gauge(label: "hikaricp_connections_max", dimensions: dimensions, factory: factory)
        minimum = Gauge(label: "hikaricp_connections_min", dimensions: dimensions, factory: factory)
        timeouts = Counter(label: "hikaricp_connections_timeout_total", dimensions: dimensions, factory: factory)
        acquire = Timer(label: "hikaricp_connections_acquire_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
        creation = Timer(label: "hikaricp_connections_creation_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
        usage = Timer(label: "hikaricp_connections_usage_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
    }

    func record(_ snapshot: ConnectionPoolSnapshot) {
        active.record(snapshot.active)
        idle.record(snapshot.idle)
        pending.record(snapshot.pending)
        total.record(snapshot.total)
        maximum.record(snapshot.maximum)
        minimum.record(snapshot.minimumIdle)
    }
}

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

    init(pool: String) {
        let dimensions = [("pool", pool)]
        active = Gauge(label: "hikaricp_connections_active", dimensions: dimensions)
        idle = Gauge(label: "hikaricp_connections_idle", dimensions: dimensions)
        pending = Gauge(label: "hikaricp_connections_pending", dimensions: dimensions)
        total = Gauge(label: "hikaricp_connections", dimensions: dimensions)
        maximum = Gauge(label: "hikaricp_connections_max", dimensions: dimensions)
        minimum = Gauge(label: "hikaricp_connections_min", dimensions: dimensions)
        timeouts = Counter(label: "hikaricp_connections_timeout_total", dimensions: dimensions)
        acquire = Timer(label: "hikaricp_connections_acquire_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        creation = Timer(label: "hikaricp_connections_creation_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        usage = Timer(label: "hikaricp_connections_usage_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
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

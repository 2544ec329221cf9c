import CoreMetrics
import Prometheus
import Synchronization

/// The process's metrics: one Prometheus registry behind swift-metrics, bootstrapped once,
/// rendered by `GET /metrics`. Timers become histograms with buckets that resolve both a
/// fast query (sub-millisecond) and the seconds that a pool wait or a held connection takes.
public enum ServiceMetrics {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with the Prometheus factory (idempotent) and returns the registry.
    @discardableResult
    public static func bootstrap() -> PrometheusCollectorRegistry {
        state.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: created)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .milliseconds(1500), .seconds(2), .seconds(3), .seconds(5),
                .seconds(10), .seconds(30),
            ]
            MetricsSystem.bootstrap(factory)
            registry = created
            return created
        }
    }

    /// The Prometheus text exposition of everything recorded so far.
    public static func render() -> [UInt8] {
        bootstrap().emitToBuffer()
    }
}

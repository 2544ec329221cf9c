import CoreMetrics
import Synchronization

/// What the consumer counts, twice: as Prometheus metrics (for the harness's time series)
/// and as plain totals (`ConsumerStatistics`, for tests and the engine's own logs).
///
/// - `lab_consumer_processed_total{topic,outcome}`: outcome applied | duplicate | failed,
///   topic = the topic the record was read from (main or a retry tier).
/// - `lab_consumer_retried_total{tier}`: records sent to retry tier N.
/// - `lab_dlq_total{topic}`: records sent to a dead-letter topic (label: that topic).
/// - `lab_consumer_processing_seconds`: time to process one record (backoff waits excluded).
/// - `lab_consumer_cache_invalidation_failures_total`: Redis failures after a commit.
final class ConsumerMetrics: Sendable {
    enum Outcome: String { case applied, duplicate, failed }

    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let totals = Mutex(ConsumerStatistics())
    let processing: Timer

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        processing = Timer(label: "lab_consumer_processing_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    var statistics: ConsumerStatistics { totals.withLock { $0 } }

    func processed(topic: String, _ outcome: Outcome) {
        counter("lab_consumer_processed_total", [("topic", topic), ("outcome", outcome.rawValue)]).increment()
        totals.withLock { totals in
            switch outcome {
            case .applied: totals.applied += 1
            case .duplicate: totals.duplicates += 1
            case .failed: totals.failed += 1
            }
        }
    }

    func retried(tier: Int) {
        counter("lab_consumer_retried_total", [("tier", "\(tier)")]).increment()
        totals.withLock { $0.retried += 1 }
    }

    func deadLettered(topic: String) {
        counter("lab_dlq_total", [("topic", topic)]).increment()
        totals.withLock { $0.deadLettered += 1 }
    }

    func cacheInvalidationFailed() {
        counter("lab_consumer_cache_invalidation_failures_total", []).increment()
        totals.withLock { $0.cacheInvalidationFailures += 1 }
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }
}

/// Totals since the engine started.
public struct ConsumerStatistics: Sendable, Equatable {
    public var applied = 0
    public var duplicates = 0
    public var failed = 0
    public var retried = 0
    public var deadLettered = 0
    public var cacheInvalidationFailures = 0

    public init() {}
}

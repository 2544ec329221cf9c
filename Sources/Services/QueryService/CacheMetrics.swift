import CoreMetrics
import Synchronization

/// What the read path did, as Prometheus metrics and as in-process counts (which tests and
/// embedders read without scraping):
/// - `lab_cache_requests_total{result="hit|miss|bypass"}`: one per account request; bypass =
///   Redis failed, served from the database.
/// - `lab_cache_db_loads_total`: queries of the read model (with singleflight ≈ one per key
///   per expiry; without it, one per concurrent miss — the stampede).
/// - `lab_cache_singleflight_waiters_total`: requests that received another request's load.
/// - `lab_cache_errors_total`: Redis commands that failed (or returned an unreadable entry).
/// - `lab_query_db_errors_total`: read-model loads that failed (answered 503).
public final class CacheMetrics: Sendable {
    public enum Result: String, Sendable, CaseIterable {
        case hit, miss, bypass
    }

    public struct Counts: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var bypasses = 0
        public var dbLoads = 0
        public var singleflightWaiters = 0
        public var cacheErrors = 0
        public var dbErrors = 0
    }

    private let requests: [Result: Counter]
    private let dbLoads: Counter
    private let waiters: Counter
    private let errors: Counter
    private let dbErrors: Counter
    private let state = Mutex(Counts())

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var requests: [Result: Counter] = [:]
        for result in Result.allCases {
            requests[result] = Counter(label: "lab_cache_requests_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.requests = requests
        dbLoads = Counter(label: "lab_cache_db_loads_total", factory: factory)
        waiters = Counter(label: "lab_cache_singleflight_waiters_total", factory: factory)
        errors = Counter(label: "lab_cache_errors_total", factory: factory)
        dbErrors = Counter(label: "lab_query_db_errors_total", factory: factory)
    }

    /// Everything counted by this instance so far.
    public var counts: Counts { state.withLock { $0 } }

    func request(_ result: Result) {
        requests[result]?.increment()
        state.withLock { counts in
            switch result {
            case .hit: counts.hits += 1
            case .miss: counts.misses += 1
            case .bypass: counts.bypasses += 1
            }
        }
    }

    func dbLoad() {
        dbLoads.increment()
        state.withLock { $0.dbLoads += 1 }
    }

    func sharedLoad() {
        waiters.increment()
        state.withLock { $0.singleflightWaiters += 1 }
    }

    func cacheError() {
        errors.increment()
        state.withLock { $0.cacheErrors += 1 }
    }

    func dbError() {
        dbErrors.increment()
        state.withLock { $0.dbErrors += 1 }
    }
}

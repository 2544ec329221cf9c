import ExperimentReport
import ServiceKit
import Synchronization

/// Samples, once per interval while an experiment runs: the services' `/metrics` (the series
/// an experiment names, summed over labels unless it picks some) and probes of its own
/// (a backlog counted in MySQL, a lag read from Kafka, …). Each sample lands in the run's
/// metric series at the run's clock.
public final class MetricSampler: Sendable {
    /// A series to keep: `label` in the CSV and plots, from Prometheus sample `metric` of the
    /// service on `port` (summed over the samples whose labels include `labels`), or a quantile
    /// of a histogram (`quantile` set: `metric` is the histogram's base name).
    public struct Scrape: Sendable {
        public var label: String
        public var port: Int
        public var metric: String
        public var labels: [String: String]
        public var quantile: Double?

        public init(_ label: String, port: Int, metric: String, labels: [String: String] = [:], quantile: Double? = nil) {
            self.label = label
            self.port = port
            self.metric = metric
            self.labels = labels
            self.quantile = quantile
        }
    }

    public typealias Probe = @Sendable () async -> [String: Double]

    private let run: ExperimentRun
    private let scrapes: [Scrape]
    private let probes: [Probe]
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let latest = Mutex<[String: Double]>([:])

    public init(run: ExperimentRun, scrapes: [Scrape], probes: [Probe] = []) {
        self.run = run
        self.scrapes = scrapes
        self.probes = probes
    }

    /// The last value sampled per series.
    public var last: [String: Double] { latest.withLock { $0 } }

    public func start() {
        let interval = run.configuration.sampleInterval
        task.withLock { task in
            task = Task { [self] in
                while !Task.isCancelled {
                    await sampleOnce()
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    /// Stops sampling after one last sample.
    public func stop() async {
        let running = task.withLock { task -> Task<Void, Never>? in defer { task = nil }; return task }
        running?.cancel()
        _ = await running?.value
        await sampleOnce()
    }

    public func sampleOnce() async {
        let t = run.elapsed
        var values: [String: Double] = [:]
        let ports = Set(scrapes.map(\.port))
        var texts: [Int: [PrometheusSample]] = [:]
        for port in ports {
            let client = HTTPClient(port: port)
            if let response = try? await client.get("/metrics", timeout: .seconds(2)), response.status == 200 {
                texts[port] = PrometheusText.parse(response.text)
            }
            client.close()
        }
        for scrape in scrapes {
            guard let samples = texts[scrape.port] else { continue }
            if let q = scrape.quantile {
                if let value = samples.histogramQuantile(q, scrape.metric, where: scrape.labels) { values[scrape.label] = value }
            } else if samples.contains(where: { $0.name == scrape.metric }) {
                values[scrape.label] = samples.sum(scrape.metric, where: scrape.labels)
            }
        }
        for probe in probes {
            for (key, value) in await probe() { values[key] = value }
        }
        latest.withLock { $0.merge(values) { $1 } }
        run.addSample(t: t, values)
    }
}

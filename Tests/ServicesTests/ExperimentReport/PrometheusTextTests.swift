import ExperimentReport
import Testing

@Suite("PrometheusText")
struct PrometheusTextTests {
    /// What a service's /metrics looks like: counters and gauges with labels, a histogram,
    /// escaped label values, special values and a timestamp.
    static let exposition = #"""
        # HELP lab_cache_requests_total Account requests by cache result.
        # TYPE lab_cache_requests_total counter
        lab_cache_requests_total{result="hit"} 90
        lab_cache_requests_total{result="miss"} 10
        lab_cache_requests_total{result="bypass"} 0
        # TYPE hikaricp_connections_active gauge
        hikaricp_connections_active{pool="query"} 3
        hikaricp_connections_active{pool="consumer"} 7
        # TYPE lab_cache_db_loads_total counter
        lab_cache_db_loads_total 12
        odd_labels{path="C:\\dir\\\"quoted\"\nline2",empty=""} 2.5e-3
        spaced { a = "1" , b="2" } 4 1700000000000
        upper_bound +Inf
        lower_bound -Inf
        not_a_number NaN
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{method="GET",le="0.1"} 50
        http_request_duration_seconds_bucket{method="GET",le="0.5"} 80
        http_request_duration_seconds_bucket{method="GET",le="1.0"} 95
        http_request_duration_seconds_bucket{method="GET",le="+Inf"} 100
        http_request_duration_seconds_sum{method="GET"} 31.5
        http_request_duration_seconds_count{method="GET"} 100
        http_request_duration_seconds_bucket{method="POST",le="0.1"} 0
        http_request_duration_seconds_bucket{method="POST",le="0.5"} 0
        http_request_duration_seconds_bucket{method="POST",le="1.0"} 20
        http_request_duration_seconds_bucket{method="POST",le="+Inf"} 20
        """#

    @Test("counters and gauges with labels; comments skipped")
    func countersAndGauges() throws {
        let samples = PrometheusText.parse(Self.exposition)
        #expect(!samples.contains { $0.name.hasPrefix("#") })
        #expect(samples.value("lab_cache_requests_total", labels: ["result": "hit"]) == 90)
        #expect(samples.value("lab_cache_requests_total", labels: ["result": "nope"]) == nil)
        #expect(samples.sum("lab_cache_requests_total") == 100)
        #expect(samples.sum("lab_cache_requests_total", where: ["result": "miss"]) == 10)
        #expect(samples.value("hikaricp_connections_active", labels: ["pool": "consumer"]) == 7)
        #expect(samples.sum("hikaricp_connections_active") == 10)
        #expect(samples.value("lab_cache_db_loads_total") == 12)
        #expect(samples.value("spaced", labels: ["a": "1", "b": "2"]) == 4, "spaces around labels and a timestamp")
        #expect(samples.labelValues("lab_cache_requests_total", label: "result") == ["bypass", "hit", "miss"])
        #expect(samples.count == 21)
    }

    @Test("escaped label values, +Inf, -Inf and NaN")
    func escapesAndSpecialValues() throws {
        let samples = try PrometheusText.parseStrict(Self.exposition)
        let odd = try #require(samples.first { $0.name == "odd_labels" })
        #expect(odd.labels["path"] == "C:\\dir\\\"quoted\"\nline2")
        #expect(odd.labels["empty"] == "")
        #expect(odd.value == 0.0025)
        #expect(samples.value("upper_bound") == .infinity)
        #expect(samples.value("lower_bound") == -.infinity)
        #expect(samples.value("not_a_number")?.isNaN == true)
        let bucket = try #require(samples.first { $0.labels["le"] == "+Inf" && $0.labels["method"] == "GET" })
        #expect(bucket.value == 100)
    }

    @Test("histogram quantiles interpolate inside the bucket as Prometheus does")
    func histogramQuantile() {
        let samples = PrometheusText.parse(Self.exposition)
        // GET: rank 0.9 × 100 = 90 falls in (0.5, 1.0] holding 95 − 80 = 15 observations,
        // 10 of them below the rank: 0.5 + 0.5 × 10/15.
        let p90 = samples.histogramQuantile(0.9, "http_request_duration_seconds", where: ["method": "GET"])
        #expect(p90.map { abs($0 - (0.5 + 0.5 * 10 / 15)) < 1e-12 } == true, "\(String(describing: p90))")
        // rank 25 in the first bucket: 0 + 0.1 × 25/50.
        let p25 = samples.histogramQuantile(0.25, "http_request_duration_seconds_bucket", where: ["method": "GET"])
        #expect(p25.map { abs($0 - 0.05) < 1e-12 } == true)
        // rank 99 lands in +Inf: the highest finite bound.
        #expect(samples.histogramQuantile(0.99, "http_request_duration_seconds", where: ["method": "GET"]) == 1.0)
        // Both methods, summed per bound (sum by (le)): 50, 80, 115, 120. p50 → rank 60 in
        // (0.1, 0.5]: 0.1 + 0.4 × (60 − 50)/30.
        let both = samples.histogramQuantile(0.5, "http_request_duration_seconds")
        #expect(both.map { abs($0 - (0.1 + 0.4 * 10 / 30)) < 1e-12 } == true, "\(String(describing: both))")
        #expect(samples.histogramQuantile(0.5, "no_such_histogram") == nil)
    }

    @Test("malformed lines are skipped by parse and reported by parseStrict")
    func malformedLines() {
        let text = "good 1\nbad{label=\"unterminated} 2\nnovalue\nalso_good{a=\"b\"} 3\n"
        let samples = PrometheusText.parse(text)
        #expect(samples.map(\.name) == ["good", "also_good"])
        #expect(throws: PrometheusParseError.self) { try PrometheusText.parseStrict(text) }
        do {
            _ = try PrometheusText.parseStrict(text)
        } catch {
            #expect(error.line == 2)
        }
    }
}

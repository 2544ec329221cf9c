import ExperimentReport
import Testing

@Suite("ExperimentReport metric series")
struct ExperimentReportMetricSeriesTests {
    @Test("two series sampled at different times make one wide CSV with empty cells")
    func csvOfTwoSeries() {
        var series = MetricSeries()
        series.addSample(0, ["lag": 0])
        series.addSample(0.5, ["p99_ms": 12.5])
        series.addSample(1, ["lag": 40, "p99_ms": 80])
        series.addSample(0.25, ["lag": 3])  // out of order: inserted in place
        series.addSample(1, ["lag": 41])  // same time: joins the row, replaces the value
        #expect(series.csv() == """
            t_seconds,lag,p99_ms
            0.000,0,
            0.250,3,
            0.500,,12.5
            1.000,41,80

            """)
        #expect(series.names == ["lag", "p99_ms"])
        #expect(series.max("lag") == 41 && series.min("lag") == 0 && series.last("lag") == 41)
        #expect(series.max("p99_ms") == 80 && series.last("p99_ms") == 80)
        #expect(series.max("absent") == nil && series.last("absent") == nil)
        #expect(series.timeRange == 0...1)
    }

    @Test("special values and awkward names are written as CSV can carry them")
    func specialValues() {
        var series = MetricSeries()
        series.addSample(2.0004, ["a,b": .nan, "q\"x": .infinity])
        #expect(series.csv() == "t_seconds,\"a,b\",\"q\"\"x\"\n2.000,NaN,+Inf\n")
        #expect(series.max("a,b") == nil, "NaN is not a maximum")
    }
}

import Foundation
import WireCore

/// Named time series sampled during a run: at each offset (seconds since the run started)
/// some of the series have a value. Written as one wide CSV (`t_seconds,name1,name2,…`) with
/// an empty cell where a series had no sample at that time, and plotted by `SVGPlot`.
///
/// A value type: the sampler that fills it owns it (or wraps it in an actor/Mutex when it is
/// filled from several tasks).
public struct MetricSeries: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var t: Double
        public var value: Double
    }

    /// Series names in the order they were first seen (the CSV's column order).
    public private(set) var names: [String] = []
    /// Offsets in increasing order, each with the values sampled then.
    public private(set) var rows: [(t: Double, values: [String: Double])] = []

    public init() {}

    public static func == (lhs: MetricSeries, rhs: MetricSeries) -> Bool {
        lhs.names == rhs.names && lhs.rows.count == rhs.rows.count
            && zip(lhs.rows, rhs.rows).allSatisfy { $0.t == $1.t && $0.values == $1.values }
    }

    /// Adds values sampled at offset `t` (seconds). Values for a `t` already present join
    /// that row (a later value for the same series replaces the earlier one); an out-of-order
    /// `t` is inserted in place.
    public mutating func addSample(_ t: Double, _ values: [String: Double]) {
        for name in values.keys.sorted() where !names.contains(name) { names.append(name) }
        if let last = rows.last, last.t < t {
            rows.append((t, values))
        } else if let index = rows.firstIndex(where: { $0.t >= t }) {
            if rows[index].t == t {
                rows[index].values.merge(values) { $1 }
            } else {
                rows.insert((t, values), at: index)
            }
        } else {
            rows.append((t, values))
        }
    }

    /// One series' points in time order (NaN samples included; the plot breaks its line there).
    public func points(_ name: String) -> [Point] {
        rows.compactMap { row in row.values[name].map { Point(t: row.t, value: $0) } }
    }

    /// The largest finite value of the series; nil when it has none.
    public func max(_ name: String) -> Double? {
        points(name).map(\.value).filter(\.isFinite).max()
    }

    public func min(_ name: String) -> Double? {
        points(name).map(\.value).filter(\.isFinite).min()
    }

    /// The last value sampled (finite or not); nil when the series has none.
    public func last(_ name: String) -> Double? {
        points(name).last?.value
    }

    /// Offsets covered: first and last sample time.
    public var timeRange: ClosedRange<Double>? {
        guard let first = rows.first?.t, let last = rows.last?.t else { return nil }
        return first...last
    }

    /// The CSV text: header `t_seconds,<names…>`, one row per sample time, `t` with
    /// millisecond precision, empty cells for missing values, `NaN`/`+Inf`/`-Inf` spelled as
    /// Prometheus does, names quoted when they contain a comma, quote or line break.
    public func csv() -> String {
        var out = (["t_seconds"] + names).map(Self.csvField).joined(separator: ",") + "\n"
        for row in rows {
            out += Self.formatTime(row.t)
            for name in names {
                out += ","
                if let value = row.values[name] { out += Self.formatValue(value) }
            }
            out += "\n"
        }
        return out
    }

    static func formatTime(_ t: Double) -> String {
        let milliseconds = (t * 1000).rounded()
        let sign = milliseconds < 0 ? "-" : ""
        let whole = Int64(abs(milliseconds))
        return "\(sign)\(whole / 1000).\(String(whole % 1000).leftPadded(to: 3))"
    }

    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return JSONText.number(value)
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

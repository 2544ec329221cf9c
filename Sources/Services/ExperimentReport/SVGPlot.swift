import Foundation

/// One line of a plot.
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    public var points: [MetricSeries.Point]

    public init(name: String, points: [MetricSeries.Point]) {
        self.name = name
        self.points = points
    }
}

/// A line chart as a standalone SVG document, with no library behind it: a title, a legend,
/// axes with ticks and units, one `<path>` per series (broken where a value is missing or
/// not finite), and the run's fault windows as shaded vertical bands with their labels.
/// The x axis is seconds since the run started.
public struct SVGPlot: Sendable {
    public var title: String
    /// What the y axis measures and its unit, e.g. "p99 latency" and "ms".
    public var yLabel: String
    public var yUnit: String
    public var xLabel: String
    public var series: [PlotSeries]
    public var faults: [FaultWindow]
    public var width: Double
    public var height: Double
    /// Fixed ranges; nil = from the data (y from 0 when no value is negative).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?

    public init(
        title: String, yLabel: String, yUnit: String, series: [PlotSeries], faults: [FaultWindow] = [],
        xLabel: String = "time since start", width: Double = 800, height: Double = 320,
        xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil
    ) {
        self.title = title
        self.yLabel = yLabel
        self.yUnit = yUnit
        self.xLabel = xLabel
        self.series = series
        self.faults = faults
        self.width = width
        self.height = height
        self.xRange = xRange
        self.yRange = yRange
    }

    /// A plot of some of the series of `metrics` (all of them when `names` is nil).
    public init(
        title: String, yLabel: String, yUnit: String, metrics: MetricSeries, names: [String]? = nil,
        faults: [FaultWindow] = [], width: Double = 800, height: Double = 320
    ) {
        let chosen = names ?? metrics.names
        self.init(
            title: title, yLabel: yLabel, yUnit: yUnit,
            series: chosen.map { PlotSeries(name: $0, points: metrics.points($0)) }, faults: faults,
            width: width, height: height)
    }

    /// The standalone SVG document.
    public func render() -> String {
        var out = SVGText.header(width: width, height: height, title: title)
        renderBody(into: &out, xRange: xRange ?? dataXRange)
        out += "</svg>\n"
        return out
    }

    /// Several plots stacked in one SVG document under a common title, sharing one x range so
    /// that the same moment lines up in every panel (one panel per group of series).
    public static func panels(title: String, _ plots: [SVGPlot], width: Double = 800) -> String {
        let shared = plots.compactMap { $0.xRange ?? $0.dataXRange }.reduce(nil as ClosedRange<Double>?) { union, range in
            union.map { Swift.min($0.lowerBound, range.lowerBound)...Swift.max($0.upperBound, range.upperBound) } ?? range
        } ?? 0...1
        let titleHeight = 32.0
        let totalHeight = titleHeight + plots.reduce(0) { $0 + $1.height }
        var out = SVGText.header(width: width, height: totalHeight, title: title)
        out += "<text x=\"\(SVGText.n(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(SVGText.escape(title))</text>\n"
        var offset = titleHeight
        for var plot in plots {
            plot.width = width
            out += "<g class=\"panel\" transform=\"translate(0,\(SVGText.n(offset)))\">\n"
            plot.renderBody(into: &out, xRange: plot.xRange ?? shared)
            out += "</g>\n"
            offset += plot.height
        }
        out += "</svg>\n"
        return out
    }

    /// One panel per group of series of `metrics`, each with its own title and unit.
    public static func panels(
        title: String, metrics: MetricSeries, groups: [(title: String, yLabel: String, yUnit: String, names: [String])],
        faults: [FaultWindow] = [], width: Double = 800, panelHeight: Double = 260
    ) -> String {
        panels(title: title, groups.map {
            SVGPlot(title: $0.title, yLabel: $0.yLabel, yUnit: $0.yUnit, metrics: metrics, names: $0.names,
                    faults: faults, width: width, height: panelHeight)
        }, width: width)
    }

    // MARK: Layout

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#d62728"]

    var dataXRange: ClosedRange<Double> {
        var values = series.flatMap { $0.points.map(\.t) }.filter(\.isFinite)
        for fault in faults {
            values.append(fault.start)
            if let end = fault.end { values.append(end) }
        }
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        return Swift.min(0, low)...Swift.max(high, Swift.min(0, low) + 1e-9)
    }

    var dataYRange: ClosedRange<Double> {
        let values = series.flatMap { $0.points.map(\.value) }.filter(\.isFinite)
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        return Swift.min(0, low)...high
    }

    /// Legend entries laid out in rows across the width: (x, row) per series.
    func legendLayout() -> (positions: [(x: Double, row: Int)], rows: Int) {
        var positions: [(Double, Int)] = []
        var x = SVGText.marginLeft
        var row = 0
        for entry in series {
            let entryWidth = 28 + Double(entry.name.count) * 7 + 16
            if x + entryWidth > width - SVGText.marginRight && x > SVGText.marginLeft {
                row += 1
                x = SVGText.marginLeft
            }
            positions.append((x, row))
            x += entryWidth
        }
        return (positions, series.isEmpty ? 0 : row + 1)
    }

    func renderBody(into out: inout String, xRange: ClosedRange<Double>) {
        let legend = legendLayout()
        let legendTop = 34.0
        let plotTop = legendTop + Double(legend.rows) * 18 + 12
        let plotBottom = height - 44
        let plotLeft = SVGText.marginLeft
        let plotRight = width - SVGText.marginRight
        let xTicks = NiceScale(xRange.lowerBound, xRange.upperBound)
        let yTicks = NiceScale((yRange ?? dataYRange).lowerBound, (yRange ?? dataYRange).upperBound)
        func px(_ t: Double) -> Double {
            plotLeft + (t - xTicks.low) / (xTicks.high - xTicks.low) * (plotRight - plotLeft)
        }
        func py(_ value: Double) -> Double {
            plotBottom - (value - yTicks.low) / (yTicks.high - yTicks.low) * (plotBottom - plotTop)
        }
        let n = SVGText.n

        out += "<text class=\"title\" x=\"\(n(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(SVGText.escape(title))</text>\n"

        // Fault windows first, so the data is drawn over them.
        for fault in faults {
            let start = Swift.max(px(fault.start), plotLeft)
            let end = Swift.min(px(fault.end ?? xTicks.high), plotRight)
            guard end >= start else { continue }
            out += "<rect class=\"fault-band\" x=\"\(n(start))\" y=\"\(n(plotTop))\" width=\"\(n(Swift.max(end - start, 1.5)))\" height=\"\(n(plotBottom - plotTop))\" fill=\"#d62728\" fill-opacity=\"0.13\"/>\n"
            out += "<text class=\"fault-label\" x=\"\(n(start + 3))\" y=\"\(n(plotTop + 12))\" font-size=\"11\" fill=\"#a01010\">\(SVGText.escape(fault.label))</text>\n"
        }

        // Grid, ticks and tick labels.
        for tick in yTicks.ticks {
            let y = py(tick)
            out += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(y))\" x2=\"\(n(plotRight))\" y2=\"\(n(y))\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(n(plotLeft - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\" font-size=\"11\">\(SVGText.escape(yTicks.label(tick)))</text>\n"
        }
        for tick in xTicks.ticks {
            let x = px(tick)
            out += "<line x1=\"\(n(x))\" y1=\"\(n(plotBottom))\" x2=\"\(n(x))\" y2=\"\(n(plotBottom + 5))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(n(x))\" y=\"\(n(plotBottom + 18))\" text-anchor=\"middle\" font-size=\"11\">\(SVGText.escape(xTicks.label(tick)))</text>\n"
        }
        // Axes.
        out += "<line class=\"axis\" x1=\"\(n(plotLeft))\" y1=\"\(n(plotBottom))\" x2=\"\(n(plotRight))\" y2=\"\(n(plotBottom))\" stroke=\"#333\"/>\n"
        out += "<line class=\"axis\" x1=\"\(n(plotLeft))\" y1=\"\(n(plotTop))\" x2=\"\(n(plotLeft))\" y2=\"\(n(plotBottom))\" stroke=\"#333\"/>\n"
        out += "<text class=\"x-label\" x=\"\(n((plotLeft + plotRight) / 2))\" y=\"\(n(height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(SVGText.escape(xLabel)) (s)</text>\n"
        let yTitle = yUnit.isEmpty ? yLabel : "\(yLabel) (\(yUnit))"
        let yMid = (plotTop + plotBottom) / 2
        out += "<text class=\"y-label\" x=\"16\" y=\"\(n(yMid))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(n(yMid)))\">\(SVGText.escape(yTitle))</text>\n"

        // Series and legend.
        for (index, entry) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            // Consecutive finite points form a line; a lone point is drawn as a dot (a
            // zero-length segment with round caps).
            var segments: [[String]] = [[]]
            for point in entry.points.sorted(by: { $0.t < $1.t }) {
                if point.value.isFinite && point.t.isFinite {
                    segments[segments.count - 1].append("\(n(px(point.t))),\(n(py(point.value)))")
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            let d = segments.filter { !$0.isEmpty }.map { points in
                points.count == 1 ? "M\(points[0]) l0,0" : "M" + points.joined(separator: " L")
            }.joined(separator: " ")
            out += "<path class=\"series\" data-series=\"\(SVGText.escape(entry.name))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n"
            let (x, row) = legend.positions[index]
            let y = legendTop + Double(row) * 18
            out += "<line x1=\"\(n(x))\" y1=\"\(n(y - 4))\" x2=\"\(n(x + 22))\" y2=\"\(n(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            out += "<text class=\"legend\" x=\"\(n(x + 28))\" y=\"\(n(y))\" font-size=\"12\">\(SVGText.escape(entry.name))</text>\n"
        }
    }
}

/// Round tick positions over a range (1, 2 or 5 × a power of ten apart, about five of them).
struct NiceScale {
    let low: Double
    let high: Double
    let step: Double

    init(_ lowerBound: Double, _ upperBound: Double, targetTicks: Double = 5) {
        var lower = lowerBound
        var upper = upperBound
        if !(upper > lower) {
            // A flat series still needs a visible band around its value.
            let pad = lower == 0 ? 1 : abs(lower) * 0.1
            lower -= lower == 0 ? 0 : pad
            upper += pad
        }
        let raw = (upper - lower) / targetTicks
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let normalized = raw / magnitude
        let factor: Double = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10
        step = factor * magnitude
        low = (lower / step).rounded(.down) * step
        high = Swift.max((upper / step).rounded(.up) * step, low + step)
    }

    var ticks: [Double] {
        var values: [Double] = []
        var index = 0.0
        while low + index * step <= high + step * 1e-9 {
            values.append(low + index * step)
            index += 1
        }
        return values
    }

    func label(_ value: Double) -> String {
        let magnitude = Swift.max(abs(low), abs(high))
        if magnitude >= 1e6 { return Self.trim(value / 1e6, decimals: decimals(for: step / 1e6)) + "M" }
        if magnitude >= 1e4 { return Self.trim(value / 1e3, decimals: decimals(for: step / 1e3)) + "k" }
        return Self.trim(value, decimals: decimals(for: step))
    }

    private func decimals(for step: Double) -> Int {
        step >= 1 ? 0 : Int((-log10(step) - 1e-9).rounded(.up))
    }

    static func trim(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(Swift.max(0, Swift.min(decimals, 9)))f", abs(value) < 1e-12 ? 0 : value)
        return text == "-0" ? "0" : text
    }
}

enum SVGText {
    static let marginLeft = 72.0
    static let marginRight = 20.0

    static func header(width: Double, height: Double, title: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="Helvetica, Arial, sans-serif">
        <title>\(escape(title))</title>
        <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#ffffff"/>

        """
    }

    /// Text and attribute values as XML character data.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 cannot carry most control characters at all, escaped or not.
            case _ where character.value < 0x20 && character != "\t" && character != "\n" && character != "\r": out += "?"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A coordinate with at most one decimal.
    static func n(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}

import ExperimentReport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite("SVGPlot")
struct SVGPlotTests {
    /// Element names and attribute dictionaries of a document, or nil when it is not well-formed XML.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [(name: String, attributes: [String: String])] = []
        var text = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            elements.append((name, attributes))
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    static func parse(_ svg: String) -> Collector? {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        return parser.parse() ? collector : nil
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    static var metrics: MetricSeries {
        var metrics = MetricSeries()
        for second in 0...20 {
            let t = Double(second)
            metrics.addSample(t, ["p99 <ms>": 10 + t, "db loads & misses": second == 12 ? .nan : t * 3])
        }
        return metrics
    }

    @Test("one path per series, a shaded band per fault with its escaped label, valid standalone XML")
    func plotStructure() throws {
        let plot = SVGPlot(
            title: "Latency & \"load\"", yLabel: "latency", yUnit: "ms", metrics: Self.metrics,
            faults: [FaultWindow(label: "kill -9 <relay>", start: 5, end: 8), FaultWindow(label: "redis down", start: 15)])
        let svg = plot.render()
        #expect(Self.occurrences(of: "<path", in: svg) == 2)
        #expect(Self.occurrences(of: "class=\"fault-band\"", in: svg) == 2)
        #expect(svg.contains("kill -9 &lt;relay&gt;") && !svg.contains("<relay>"))
        #expect(svg.contains("p99 &lt;ms&gt;") && svg.contains("db loads &amp; misses"))
        #expect(svg.contains("Latency &amp; &quot;load&quot;"))
        #expect(svg.contains("latency (ms)"), "the y axis names its unit")
        #expect(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""))

        let document = try #require(Self.parse(svg), "the SVG is well-formed XML")
        #expect(document.elements.first?.name == "svg")
        #expect(document.elements.filter { $0.name == "path" }.count == 2)
        let bands = document.elements.filter { $0.name == "rect" && $0.attributes["class"] == "fault-band" }
        #expect(bands.count == 2)
        #expect(document.text.contains("kill -9 <relay>"), "the parsed text is the original label")
        // The open-ended fault runs to the right edge of the plot area: further right than the closed one.
        let ends = bands.compactMap { band -> Double? in
            guard let x = band.attributes["x"].flatMap(Double.init), let width = band.attributes["width"].flatMap(Double.init) else { return nil }
            return x + width
        }
        #expect(ends.count == 2 && ends[1] > ends[0])
        // The NaN sample breaks the second line into two segments.
        let paths = document.elements.filter { $0.name == "path" }.compactMap { $0.attributes["d"] }
        #expect(paths.map { Self.occurrences(of: "M", in: $0) } == [2, 1])
    }

    @Test("a multi-panel figure stacks one panel per group and stays valid XML")
    func panels() throws {
        let svg = SVGPlot.panels(
            title: "E-008 <stampede>", metrics: Self.metrics,
            groups: [("Latency", "p99", "ms", ["p99 <ms>"]), ("Database", "loads", "1/s", ["db loads & misses"])],
            faults: [FaultWindow(label: "hot key expires", start: 10, end: 11)])
        let document = try #require(Self.parse(svg))
        #expect(document.elements.filter { $0.name == "g" && $0.attributes["class"] == "panel" }.count == 2)
        #expect(document.elements.filter { $0.name == "path" }.count == 2)
        #expect(document.elements.filter { $0.attributes["class"] == "fault-band" }.count == 2, "the fault is marked in each panel")
        #expect(svg.contains("E-008 &lt;stampede&gt;"))
    }

    @Test("an empty plot still renders valid SVG")
    func emptyPlot() throws {
        let svg = SVGPlot(title: "nothing", yLabel: "n", yUnit: "", series: [PlotSeries(name: "none", points: [])]).render()
        #expect(Self.parse(svg) != nil)
        #expect(Self.occurrences(of: "<path", in: svg) == 1)
    }
}

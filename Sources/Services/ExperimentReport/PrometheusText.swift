/// One sample of the Prometheus text exposition format: `name{label="value",…} value`.
public struct PrometheusSample: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String] = [:], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    public var description: String {
        let rendered = labels.keys.sorted().map { "\($0)=\"\(labels[$0]!)\"" }.joined(separator: ",")
        return rendered.isEmpty ? "\(name) \(value)" : "\(name){\(rendered)} \(value)"
    }
}

public struct PrometheusParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    public var text: String
    public var reason: String

    public var description: String { "line \(line): \(reason): \(text)" }
}

/// A parser of the Prometheus text exposition format (version 0.0.4), as `/metrics` serves it:
/// `# HELP`/`# TYPE` comments skipped, label values with `\\`, `\"` and `\n` escapes,
/// values including `+Inf`, `-Inf` and `NaN`, an optional trailing timestamp ignored.
public enum PrometheusText {
    /// The samples of `text`; malformed lines are skipped (a scrape of a service mid-restart
    /// must not stop the harness). `parseStrict` says what was wrong instead.
    public static func parse(_ text: String) -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            if case let .success(sample?) = parseLine(Substring(line)) { samples.append(sample) }
        }
        return samples
    }

    public static func parseStrict(_ text: String) throws(PrometheusParseError) -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            switch parseLine(Substring(line)) {
            case let .success(sample): if let sample { samples.append(sample) }
            case let .failure(reason): throw PrometheusParseError(line: index + 1, text: String(line), reason: reason.text)
            }
        }
        return samples
    }

    struct Reason: Error { var text: String }

    /// nil for blank and comment lines.
    static func parseLine(_ line: Substring) -> Result<PrometheusSample?, Reason> {
        var scanner = Scanner(Array(line.utf8))
        scanner.skipSpaces()
        if scanner.atEnd || scanner.peek == UInt8(ascii: "#") { return .success(nil) }
        guard let name = scanner.readName() else { return .failure(Reason(text: "no metric name")) }
        var labels: [String: String] = [:]
        scanner.skipSpaces()
        if scanner.peek == UInt8(ascii: "{") {
            scanner.advance()
            while true {
                scanner.skipSpaces()
                if scanner.peek == UInt8(ascii: "}") { scanner.advance(); break }
                guard let label = scanner.readName() else { return .failure(Reason(text: "no label name")) }
                scanner.skipSpaces()
                guard scanner.peek == UInt8(ascii: "=") else { return .failure(Reason(text: "no '=' after label \(label)")) }
                scanner.advance()
                scanner.skipSpaces()
                guard let value = scanner.readQuoted() else { return .failure(Reason(text: "label \(label) has no quoted value")) }
                labels[label] = value
                scanner.skipSpaces()
                if scanner.peek == UInt8(ascii: ",") { scanner.advance(); continue }
                guard scanner.peek == UInt8(ascii: "}") else { return .failure(Reason(text: "expected ',' or '}' after label \(label)")) }
                scanner.advance()
                break
            }
        }
        scanner.skipSpaces()
        guard let word = scanner.readWord(), let value = parseValue(word) else {
            return .failure(Reason(text: "no numeric value"))
        }
        // A timestamp may follow; anything else is an error.
        scanner.skipSpaces()
        if let extra = scanner.readWord(), Int64(extra) == nil {
            return .failure(Reason(text: "unexpected text after the value"))
        }
        return .success(PrometheusSample(name: name, labels: labels, value: value))
    }

    /// A sample value or a bucket bound (`le`): Go's float syntax plus the infinities and NaN.
    public static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf", "+inf", "inf": return .infinity
        case "-Inf", "-inf": return -.infinity
        case "NaN", "nan": return .nan
        default: return Double(text)
        }
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }
        mutating func advance() { index += 1 }

        mutating func skipSpaces() {
            while let byte = peek, byte == 0x20 || byte == 0x09 { advance() }
        }

        /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
        mutating func readName() -> String? {
            let start = index
            while let byte = peek {
                let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
                let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
                guard isLetter || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || (isDigit && index > start) else { break }
                advance()
            }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        /// A double-quoted label value with the exposition format's three escapes.
        mutating func readQuoted() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            advance()
            var out: [UInt8] = []
            while let byte = peek {
                advance()
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    advance()
                    switch escaped {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(escaped)
                    // Unknown escapes are kept as written, as Prometheus itself does.
                    default: out.append(contentsOf: [byte, escaped])
                    }
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        mutating func readWord() -> String? {
            let start = index
            while let byte = peek, byte != 0x20, byte != 0x09 { advance() }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
    }
}

extension Array where Element == PrometheusSample {
    /// The sum of every `name` sample whose labels include all of `matching` (other labels
    /// are summed over, like PromQL `sum(name{matching})`); 0 when none matches.
    public func sum(_ name: String, where matching: [String: String] = [:]) -> Double {
        filter { $0.name == name && $0.labels.contains(all: matching) }.reduce(0) { $0 + $1.value }
    }

    /// The value of the `name` sample whose labels are exactly `labels`; nil when absent.
    public func value(_ name: String, labels: [String: String] = [:]) -> Double? {
        first { $0.name == name && $0.labels == labels }?.value
    }

    /// The q-quantile (0…1) of the histogram `name` (its `name_bucket` series; `name_bucket`
    /// itself is accepted too), over the series whose labels include `matching`, summed per
    /// bucket bound — PromQL's `histogram_quantile(q, sum by (le) (name_bucket{matching}))`,
    /// with its linear interpolation inside the bucket where the rank falls. nil without
    /// buckets or observations. As in Prometheus: a rank in the `+Inf` bucket gives the upper
    /// bound of the highest finite bucket, and the first bucket's lower bound is 0 (unless its
    /// upper bound is ≤ 0).
    public func histogramQuantile(_ q: Double, _ name: String, where matching: [String: String] = [:]) -> Double? {
        let bucketName = name.hasSuffix("_bucket") ? name : name + "_bucket"
        var counts: [Double: Double] = [:]
        for sample in self where sample.name == bucketName && sample.labels.contains(all: matching) {
            guard let text = sample.labels["le"], let bound = PrometheusText.parseValue(text), !bound.isNaN else { continue }
            counts[bound, default: 0] += sample.value
        }
        var buckets = counts.sorted { $0.key < $1.key }.map { (upperBound: $0.key, count: $0.value) }
        guard buckets.count >= 2, buckets.last?.upperBound == .infinity else { return nil }
        if q.isNaN { return nil }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        // Counts are cumulative and so never decrease; a scrape racing an update can break
        // that, and Prometheus then takes the running maximum.
        for index in buckets.indices.dropFirst() where buckets[index].count < buckets[index - 1].count {
            buckets[index].count = buckets[index - 1].count
        }
        let observations = buckets[buckets.count - 1].count
        guard observations > 0 else { return nil }
        var rank = q * observations
        let index = buckets.firstIndex { $0.count >= rank } ?? buckets.count - 1
        if index == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
        if index == 0 && buckets[0].upperBound <= 0 { return buckets[0].upperBound }
        var lower = 0.0
        let upper = buckets[index].upperBound
        var count = buckets[index].count
        if index > 0 {
            lower = buckets[index - 1].upperBound
            count -= buckets[index - 1].count
            rank -= buckets[index - 1].count
        }
        guard count > 0 else { return lower }
        return lower + (upper - lower) * (rank / count)
    }

    /// Every distinct value of `label` among the `name` samples.
    public func labelValues(_ name: String, label: String) -> [String] {
        Set(filter { $0.name == name }.compactMap { $0.labels[label] }).sorted()
    }
}

extension Dictionary where Key == String, Value == String {
    func contains(all pairs: [String: String]) -> Bool {
        pairs.allSatisfy { self[$0.key] == $0.value }
    }
}

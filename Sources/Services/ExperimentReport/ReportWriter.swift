import Foundation

/// An SVG to write into the report folder, shown in report.md under its title.
public struct SVGFile: Sendable {
    public var fileName: String
    public var title: String
    public var svg: String

    public init(fileName: String, title: String, svg: String) {
        self.fileName = fileName
        self.title = title
        self.svg = svg
    }
}

/// Writes a run's report folder: `<root>/reports/<ID>/<yyyyMMdd-HHmmss>/` (UTC) with
/// `report.md`, `history.jsonl`, `metrics.csv` and the SVG plots.
///
/// The history is appended in place: create the folder with `createRunDirectory` when the
/// run starts and open the `OperationHistory` at `historyURL(in:)`, so every operation is on
/// disk in the report folder as it happens (a harness that dies mid-run still leaves it
/// there). A history kept anywhere else is copied in by `write`.
public struct ReportWriter: Sendable {
    public static let historyFileName = "history.jsonl"
    public static let metricsFileName = "metrics.csv"
    public static let reportFileName = "report.md"

    /// The reports folder: runs go to `<root>/<ID>/<timestamp>/`.
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// `yyyyMMdd-HHmmss` in UTC.
    public static func folderName(for date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(value ?? 0).leftPadded(to: 2) }
        return String(parts.year ?? 0).leftPadded(to: 4) + two(parts.month) + two(parts.day) + "-"
            + two(parts.hour) + two(parts.minute) + two(parts.second)
    }

    /// Creates `<root>/<ID>/<timestamp>/` (with `-2`, `-3`, … appended when a run of the
    /// same experiment started in the same second) and returns it.
    public func createRunDirectory(experimentID: String, startedAt: Date = Date()) throws -> URL {
        let experimentFolder = root.appendingPathComponent(Self.safeName(experimentID))
        try FileManager.default.createDirectory(at: experimentFolder, withIntermediateDirectories: true)
        let base = Self.folderName(for: startedAt)
        for attempt in 1...1000 {
            let candidate = experimentFolder.appendingPathComponent(attempt == 1 ? base : "\(base)-\(attempt)")
            do {
                // Without intermediates, creation fails when the folder exists: no two runs share one.
                try FileManager.default.createDirectory(at: candidate, withIntermediateDirectories: false)
                return candidate
            } catch where FileManager.default.fileExists(atPath: candidate.path) {
                continue
            }
        }
        throw ReportError.cannotWrite(experimentFolder.path, "1000 runs started in the second \(base)")
    }

    /// Where the run's history belongs.
    public static func historyURL(in directory: URL) -> URL {
        directory.appendingPathComponent(historyFileName)
    }

    /// Writes the report into `directory` (created by `createRunDirectory`) and returns it.
    /// The history is closed (flushed) and, when it was appended elsewhere, copied in; the
    /// document gets the history's operation counts, a plot entry per SVG and links to the files.
    @discardableResult
    public func write(
        _ document: ReportDocument, to directory: URL, history: OperationHistory? = nil,
        metrics: MetricSeries? = nil, svgs: [SVGFile] = []
    ) throws -> URL {
        var document = document
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)

        let historyTarget = Self.historyURL(in: directory)
        if let history {
            history.close()
            if history.url.standardizedFileURL.path != historyTarget.standardizedFileURL.path {
                if manager.fileExists(atPath: historyTarget.path) { try manager.removeItem(at: historyTarget) }
                try manager.copyItem(at: history.url, to: historyTarget)
            }
            document.operations = history.counts
            if let problem = history.writeError {
                document.notes.append("history.jsonl is incomplete: a line could not be written (\(problem)).")
            }
        } else if !manager.fileExists(atPath: historyTarget.path) {
            try Self.write("", to: historyTarget)
        }
        document.files.append(ReportPlot(title: "every operation: invoke and ok/fail/unknown (JSON lines)", file: Self.historyFileName))

        if let metrics {
            try Self.write(metrics.csv(), to: directory.appendingPathComponent(Self.metricsFileName))
            document.files.append(ReportPlot(title: "metric time series (seconds since start, one column per series)", file: Self.metricsFileName))
        }
        for svg in svgs {
            let name = Self.safeName(svg.fileName.hasSuffix(".svg") ? svg.fileName : svg.fileName + ".svg")
            try Self.write(svg.svg, to: directory.appendingPathComponent(name))
            if !document.plots.contains(where: { $0.file == name }) {
                document.plots.append(ReportPlot(title: svg.title, file: name))
            }
        }
        try Self.write(document.markdown(), to: directory.appendingPathComponent(Self.reportFileName))
        return directory
    }

    /// Creates the run folder and writes everything in one go (for a history kept elsewhere,
    /// or none).
    @discardableResult
    public func write(
        _ document: ReportDocument, history: OperationHistory? = nil, metrics: MetricSeries? = nil, svgs: [SVGFile] = []
    ) throws -> URL {
        let directory = try createRunDirectory(experimentID: document.experimentID, startedAt: document.startedAt)
        return try write(document, to: directory, history: history, metrics: metrics, svgs: svgs)
    }

    static func write(_ text: String, to url: URL) throws {
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw ReportError.cannotWrite(url.path, "\(error)")
        }
    }

    /// A file or folder name from free text: letters, digits, `.`, `_`, `-`; anything else `_`.
    static func safeName(_ text: String) -> String {
        let mapped = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
        return mapped.isEmpty || mapped.allSatisfy({ $0 == "." }) ? "_" : mapped
    }
}

import Foundation

/// One invariant the harness checked against what it read back, never against what it
/// intended. For a ❌ experiment the harness words the invariant so that reproducing the
/// failure is the pass ("events lost without the outbox > 0"), and the ✅ counterpart's
/// invariant that it holds ("events lost with the outbox = 0").
public struct InvariantResult: Sendable, Hashable, Codable {
    public var name: String
    /// What must hold, in words with the bound ("duplicates = 0").
    public var expectation: String
    /// What was measured ("duplicates = 3 (acc-17: 2, acc-40: 1)").
    public var observed: String
    public var passed: Bool

    public init(name: String, expectation: String, observed: String, passed: Bool) {
        self.name = name
        self.expectation = expectation
        self.observed = observed
        self.passed = passed
    }
}

/// A key and its value, for the figures and configuration tables (kept in the given order).
public struct ReportField: Sendable, Hashable, Codable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A plot shown in the report: an SVG file in the report's folder.
public struct ReportPlot: Sendable, Hashable, Codable {
    public var title: String
    /// Relative to the report's folder.
    public var file: String

    public init(title: String, file: String) {
        self.title = title
        self.file = file
    }
}

/// The content of `report.md`: what was run, the verdict, each invariant with what was
/// expected and observed, figures, the faults injected and when, plots, configuration, notes.
public struct ReportDocument: Sendable {
    public var title: String
    public var experimentID: String
    public var description: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var invariants: [InvariantResult]
    public var figures: [ReportField]
    public var faults: [FaultWindow]
    public var plots: [ReportPlot]
    public var configuration: [ReportField]
    public var notes: [String]
    /// Lines of history.jsonl per operation and phase (`ReportWriter` fills it from the history).
    public var operations: [String: [OperationHistory.Phase: Int]]
    /// Other files of the report folder worth a link (`ReportWriter` adds the ones it writes).
    public var files: [ReportPlot]

    public init(
        title: String, experimentID: String, description: String, startedAt: Date, finishedAt: Date? = nil,
        invariants: [InvariantResult] = [], figures: [ReportField] = [], faults: [FaultWindow] = [],
        plots: [ReportPlot] = [], configuration: [ReportField] = [], notes: [String] = []
    ) {
        self.title = title
        self.experimentID = experimentID
        self.description = description
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.invariants = invariants
        self.figures = figures
        self.faults = faults
        self.plots = plots
        self.configuration = configuration
        self.notes = notes
        operations = [:]
        files = []
    }

    /// Records an invariant's outcome; returns whether it passed.
    @discardableResult
    public mutating func check(_ name: String, expect expectation: String, observed: String, _ passed: Bool) -> Bool {
        invariants.append(InvariantResult(name: name, expectation: expectation, observed: observed, passed: passed))
        return passed
    }

    public mutating func figure(_ key: String, _ value: String) {
        figures.append(ReportField(key, value))
    }

    /// PASS only when at least one invariant was checked and every one passed (a run that
    /// checked nothing proves nothing).
    public var passed: Bool { !invariants.isEmpty && invariants.allSatisfy(\.passed) }

    public var verdict: String { passed ? "PASS" : "FAIL" }

    /// The Markdown text of report.md.
    public func markdown() -> String {
        var out = "# \(experimentID) — \(Markdown.inline(title))\n\n"
        let held = invariants.filter(\.passed).count
        if invariants.isEmpty {
            out += "**Verdict: FAIL** ❌ — no invariant was checked.\n\n"
        } else {
            out += "**Verdict: \(verdict)** \(passed ? "✅" : "❌") — \(held) of \(invariants.count) invariants hold.\n\n"
        }
        out += "| Run | |\n|---|---|\n"
        out += "| Experiment | \(Markdown.cell(experimentID)) |\n"
        out += "| Started | \(Self.timestamp(startedAt)) |\n"
        if let finishedAt {
            out += "| Finished | \(Self.timestamp(finishedAt)) |\n"
            out += "| Duration | \(String(format: "%.1f", finishedAt.timeIntervalSince(startedAt))) s |\n"
        }
        out += "\n## What it shows\n\n\(description.isEmpty ? "_(no description)_" : description)\n"

        out += "\n## Invariants\n\n"
        if invariants.isEmpty {
            out += "_None checked._\n"
        } else {
            out += "| # | Invariant | Expected | Observed | Result |\n|---|---|---|---|---|\n"
            for (index, invariant) in invariants.enumerated() {
                let result = invariant.passed ? "✅ PASS" : "❌ FAIL"
                out += "| \(index + 1) | \(Markdown.cell(invariant.name)) | \(Markdown.cell(invariant.expectation)) | \(Markdown.cell(invariant.observed)) | \(result) |\n"
            }
        }

        if !figures.isEmpty {
            out += "\n## Figures\n\n| Figure | Value |\n|---|---|\n"
            for field in figures { out += "| \(Markdown.cell(field.key)) | \(Markdown.cell(field.value)) |\n" }
        }

        out += "\n## Faults injected\n\n"
        if faults.isEmpty {
            out += "_None._\n"
        } else {
            out += "Times are seconds since the run started.\n\n| Fault | From (s) | Until (s) | How |\n|---|---|---|---|\n"
            for fault in faults.sorted(by: { $0.start < $1.start }) {
                let until = fault.end.map { String(format: "%.3f", $0) } ?? "end of run"
                out += "| \(Markdown.cell(fault.label)) | \(String(format: "%.3f", fault.start)) | \(until) | \(Markdown.cell(fault.detail ?? "")) |\n"
            }
        }

        if !operations.isEmpty {
            out += "\n## Operations\n\nLines of history.jsonl per operation and phase.\n\n| Operation | invoke | ok | fail | unknown |\n|---|---|---|---|---|\n"
            for op in operations.keys.sorted() {
                let counts = operations[op] ?? [:]
                out += "| \(Markdown.cell(op)) | " + OperationHistory.Phase.allCases.map { "\(counts[$0] ?? 0)" }.joined(separator: " | ") + " |\n"
            }
        }

        if !plots.isEmpty {
            out += "\n## Plots\n\nShaded bands are the fault windows.\n"
            for plot in plots {
                out += "\n### \(Markdown.inline(plot.title))\n\n![\(Markdown.inline(plot.title))](\(Markdown.link(plot.file)))\n"
            }
        }

        out += "\n## Configuration\n\n"
        if configuration.isEmpty {
            out += "_Defaults._\n"
        } else {
            out += "| Setting | Value |\n|---|---|\n"
            for field in configuration { out += "| \(Markdown.cell(field.key)) | \(Markdown.cell(field.value)) |\n" }
        }

        if !notes.isEmpty {
            out += "\n## Notes\n\n"
            for note in notes { out += "- \(note.replacingOccurrences(of: "\n", with: "\n  "))\n" }
        }

        if !files.isEmpty {
            out += "\n## Files\n\n"
            for file in files { out += "- [\(Markdown.inline(file.file))](\(Markdown.link(file.file))) — \(file.title)\n" }
        }
        return out
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// Markdown escaping for the places the report puts free text.
enum Markdown {
    /// A table cell: `|` would end the cell and a line break the row.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: "<br>")
            .replacingOccurrences(of: "\n", with: "<br>")
    }

    /// One line of text (a heading, a link label).
    static func inline(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "[", with: "\\[").replacingOccurrences(of: "]", with: "\\]")
    }

    /// A relative link target: spaces and parentheses would end it.
    static func link(_ path: String) -> String {
        path.replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "(", with: "%28").replacingOccurrences(of: ")", with: "%29")
    }
}

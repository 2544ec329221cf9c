import ExperimentReport
import Foundation
import Testing

@Suite("ReportDocument")
struct ReportDocumentTests {
    static func document(invariants: [InvariantResult]) -> ReportDocument {
        var document = ReportDocument(
            title: "Outbox + relay under a relay restart", experimentID: "E-001",
            description: "Every committed change reaches Kafka once in effect.",
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), finishedAt: Date(timeIntervalSince1970: 1_700_000_042.5),
            invariants: invariants,
            faults: [FaultWindow(label: "relay kill -9", start: 12.5, end: 20, detail: "kill -9 pid 4242")],
            plots: [ReportPlot(title: "Outbox backlog", file: "backlog.svg")],
            configuration: [ReportField("relay batch", "100")],
            notes: ["duplicates counted from the ledger"])
        document.figure("committed", "1000")
        document.figure("lost | dup", "0 | 0")
        return document
    }

    @Test("the table lists each invariant with PASS/FAIL, and one failure makes the verdict FAIL")
    func failingInvariantFailsTheRun() {
        let document = Self.document(invariants: [
            InvariantResult(name: "no loss", expectation: "lost = 0", observed: "lost = 0", passed: true),
            InvariantResult(name: "no duplicate", expectation: "duplicates = 0", observed: "duplicates = 3", passed: false),
        ])
        #expect(!document.passed && document.verdict == "FAIL")
        let text = document.markdown()
        #expect(text.contains("**Verdict: FAIL**"))
        #expect(text.contains("| 1 | no loss | lost = 0 | lost = 0 | ✅ PASS |"))
        #expect(text.contains("| 2 | no duplicate | duplicates = 0 | duplicates = 3 | ❌ FAIL |"))
        #expect(text.contains("1 of 2 invariants hold"))
    }

    @Test("every invariant passing gives PASS; the other sections are there")
    func passingRun() {
        var document = Self.document(invariants: [])
        document.check("no loss", expect: "lost = 0", observed: "lost = 0", true)
        #expect(document.passed)
        let text = document.markdown()
        #expect(text.hasPrefix("# E-001 — Outbox + relay under a relay restart\n"))
        #expect(text.contains("**Verdict: PASS**"))
        #expect(text.contains("| Duration | 42.5 s |"))
        #expect(text.contains("| committed | 1000 |"))
        #expect(text.contains("| lost \\| dup | 0 \\| 0 |"), "pipes in cells are escaped")
        #expect(text.contains("| relay kill -9 | 12.500 | 20.000 | kill -9 pid 4242 |"))
        #expect(text.contains("![Outbox backlog](backlog.svg)"))
        #expect(text.contains("| relay batch | 100 |"))
        #expect(text.contains("- duplicates counted from the ledger"))
    }

    @Test("a run that checked nothing is not a pass")
    func nothingChecked() {
        let document = Self.document(invariants: [])
        #expect(!document.passed)
        #expect(document.markdown().contains("no invariant was checked"))
    }
}

@Suite("ExperimentReport history and writer")
struct ExperimentReportWriterTests {
    static func temporaryRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("report-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    @Test("concurrent operations are each one JSON line, counted per op and phase")
    func historyLines() async throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let history = try OperationHistory(url: root.appendingPathComponent("h/history.jsonl"))
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for n in 0..<50 {
                        history.invoke(process: "w\(worker)", op: "deposit", key: "acc-\(n)", value: .int(Int64(n)))
                        if n % 10 == 0 {
                            history.unknown(process: "w\(worker)", op: "deposit", key: "acc-\(n)", error: "timed out \"after\" 2 s")
                        } else {
                            history.ok(process: "w\(worker)", op: "deposit", key: "acc-\(n)", value: ["balance": 1, "ok": true])
                        }
                    }
                }
            }
        }
        history.close()
        #expect(history.count(op: "deposit", phase: .invoke) == 400)
        #expect(history.count(op: "deposit", phase: .unknown) == 40)
        #expect(history.counts["deposit"]?[.ok] == 360)
        let lines = try String(contentsOf: history.url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 800)
        var lastMS = -1.0
        var ordered = true
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["process"] is String && object["op"] as? String == "deposit")
            #expect(["invoke", "ok", "unknown"].contains(object["phase"] as? String ?? ""))
            let t = try #require(object["t"] as? String)
            #expect(t.count == 24 && t.hasSuffix("Z"), "ISO-8601 with milliseconds: \(t)")
            let ms = try #require((object["ms"] as? NSNumber)?.doubleValue)
            if ms < lastMS { ordered = false }
            lastMS = ms
            if object["phase"] as? String == "unknown" { #expect(object["error"] as? String == "timed out \"after\" 2 s") }
        }
        #expect(ordered, "lines are written in the order of their ms")
    }

    @Test("the writer makes reports/<ID>/<yyyyMMdd-HHmmss>/ with report.md, history, CSV and SVGs")
    func writerLayout() throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let writer = ReportWriter(root: root.appendingPathComponent("reports"))
        let started = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14 22:13:20 UTC
        let directory = try writer.createRunDirectory(experimentID: "E-008", startedAt: started)
        #expect(directory.path.hasSuffix("/reports/E-008/20231114-221320"))
        let second = try writer.createRunDirectory(experimentID: "E-008", startedAt: started)
        #expect(second.lastPathComponent == "20231114-221320-2", "a second run in the same second gets its own folder")

        let history = try OperationHistory(url: ReportWriter.historyURL(in: directory), startedAt: started)
        history.invoke(process: "reader", op: "get", key: "acc-1")
        history.ok(process: "reader", op: "get", key: "acc-1", value: 100)
        var metrics = MetricSeries()
        metrics.addSample(0, ["db_loads": 1])
        metrics.addSample(1, ["db_loads": 50])
        var document = ReportDocument(title: "Cache stampede", experimentID: "E-008", description: "", startedAt: started)
        document.check("stampede observed", expect: "db loads per expiry > 1", observed: "50", true)
        let svg = SVGPlot(title: "DB loads", yLabel: "loads", yUnit: "1/s", metrics: metrics).render()
        let written = try writer.write(document, to: directory, history: history, metrics: metrics,
                                       svgs: [SVGFile(fileName: "db-loads", title: "DB loads per second", svg: svg)])
        #expect(written == directory)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(files == ["report.md", "history.jsonl", "metrics.csv", "db-loads.svg"])
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("![DB loads per second](db-loads.svg)"))
        #expect(report.contains("| get | 1 | 1 | 0 | 0 |"), "operation counts from the history")
        #expect(report.contains("[history.jsonl](history.jsonl)") && report.contains("[metrics.csv](metrics.csv)"))
        let csv = try String(contentsOf: directory.appendingPathComponent("metrics.csv"), encoding: .utf8)
        #expect(csv == "t_seconds,db_loads\n0.000,1\n1.000,50\n")
        let lines = try String(contentsOf: directory.appendingPathComponent("history.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)

        // A history appended elsewhere is copied in by the one-shot write.
        let elsewhere = try OperationHistory(url: root.appendingPathComponent("tmp/h.jsonl"))
        elsewhere.fail(process: "p", op: "put", error: "refused")
        var other = document
        other.startedAt = Date(timeIntervalSince1970: 1_700_000_100)
        let oneShot = try writer.write(other, history: elsewhere)
        let copied = try String(contentsOf: oneShot.appendingPathComponent("history.jsonl"), encoding: .utf8)
        #expect(copied.contains("\"phase\":\"fail\"") && copied.contains("\"error\":\"refused\""))
    }
}

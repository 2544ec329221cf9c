import ExperimentReport
import Foundation

/// Turns a finished run into its report folder: report.md, history.jsonl, metrics.csv and
/// the SVG plots (fault windows marked) the experiment asked for.
enum ReportOutput {
    static func write(_ run: ExperimentRun) throws -> String {
        let snapshot = run.snapshot
        let end = run.elapsed
        // A fault still open at the end lasted to the end.
        let faults = snapshot.faults.map { fault in
            var closed = fault
            if closed.end == nil { closed.end = end }
            return closed
        }
        var document = ReportDocument(
            title: "\(run.experiment.kind) \(run.experiment.title)", experimentID: run.experiment.id,
            description: run.experiment.summary, startedAt: run.startedAt, finishedAt: Date(),
            invariants: snapshot.invariants, figures: snapshot.figures.map { ReportField($0.0, $0.1) }, faults: faults,
            configuration: snapshot.configuration.map { ReportField($0.0, $0.1) }, notes: snapshot.notes)
        document.notes.append("Service logs (JSON lines) are in logs/, one file per process start.")
        let svgs = snapshot.plots.map { plot in
            SVGFile(fileName: plot.file, title: plot.title, svg: SVGPlot(
                title: plot.title, yLabel: "value", yUnit: "", metrics: snapshot.samples, names: plot.series, faults: faults
            ).render())
        }
        let directory = try ReportWriter(root: URL(fileURLWithPath: run.configuration.reportRoot))
            .write(document, to: URL(fileURLWithPath: run.folder), history: run.history, metrics: snapshot.samples, svgs: svgs)
        return directory.path
    }
}

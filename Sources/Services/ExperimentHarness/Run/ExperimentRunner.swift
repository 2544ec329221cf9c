import Foundation

/// Runs experiments one after another: each gets a fresh run (database emptied, its own topic
/// and group names), its services are stopped at the end whatever happened, its report is
/// written, and its verdict printed.
public enum ExperimentRunner {
    public struct Outcome: Sendable {
        public var id: String
        public var passed: Bool
        public var reportFolder: String
        public var failedInvariants: [String]
        public var seconds: Double
    }

    public static func run(_ experiments: [any Experiment], configuration: HarnessConfiguration) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for experiment in experiments {
            outcomes.append(await run(experiment, configuration: configuration))
        }
        if outcomes.count > 1 {
            print("\n==== experiments ====")
            for outcome in outcomes {
                print(String(format: "%@ %-7@ %6.1fs  %@", outcome.passed ? "PASS" : "FAIL", outcome.id, outcome.seconds, outcome.reportFolder))
            }
            print("\(outcomes.filter(\.passed).count) passed, \(outcomes.filter { !$0.passed }.count) failed")
        }
        return outcomes
    }

    public static func run(_ experiment: any Experiment, configuration: HarnessConfiguration) async -> Outcome {
        print("\n==== \(experiment.id) \(experiment.kind) \(experiment.title)\(configuration.quick ? " (quick)" : "") ====")
        let run: ExperimentRun
        do {
            run = try ExperimentRun(experiment: experiment, configuration: configuration)
        } catch {
            print("FAIL \(experiment.id): cannot set up the run: \(error)")
            return Outcome(id: experiment.id, passed: false, reportFolder: "-", failedInvariants: ["setup"], seconds: 0)
        }
        run.setting("size", configuration.quick ? "quick" : "full")
        run.setting("kafka", "\(configuration.kafkaLabel) (\(configuration.kafkaBootstrap))")
        run.setting("mysql", configuration.mysqlURL.replacingOccurrences(of: ":lab@", with: ":***@"))
        run.setting("redis", configuration.redisURL)
        run.setting("run tag (topic/group suffix)", run.tag)
        do {
            try await run.resetDatabase()
            try await experiment.run(run)
        } catch {
            run.check("the experiment ran to its end", expect: "no error from the harness or a server",
                      observed: "\(error)", false)
        }
        await run.close()
        let snapshot = run.snapshot
        let passed = !snapshot.invariants.isEmpty && snapshot.invariants.allSatisfy(\.passed)
        var folder = run.folder
        do {
            folder = try ReportOutput.write(run)
        } catch {
            print("could not write the report: \(error)")
        }
        let failed = snapshot.invariants.filter { !$0.passed }.map(\.name)
        print("\(passed ? "PASS" : "FAIL") \(experiment.id): \(snapshot.invariants.count - failed.count)/\(snapshot.invariants.count) invariants hold"
              + String(format: " (%.1fs) — report: %@/report.md", run.elapsed, folder))
        return Outcome(id: experiment.id, passed: passed, reportFolder: folder, failedInvariants: failed, seconds: run.elapsed)
    }
}

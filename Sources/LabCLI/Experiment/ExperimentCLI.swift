import ArgumentParser
import ExperimentHarness
import Foundation
import ServiceKit

/// `lab exp list|run`: the experiment harness (scripts/exp wraps it with setup, servers and build).
struct ExperimentCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exp",
        abstract: "List and run the lab's experiments (reports under reports/<ID>/<timestamp>/).",
        discussion: "Expects the lab servers running (scripts/infra up) and their environment (source .infra/env); scripts/exp does both.",
        subcommands: [List.self, Run.self, Inspect.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The experiments this harness runs.")

        func run() {
            for experiment in ExperimentCatalog.all {
                print("\(experiment.id)\t\(experiment.kind)\t\(experiment.title)")
            }
        }
    }

    /// What the harness reads back from a topic, as it reads it (for looking into a report's figures).
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a topic as the harness reads it back: high watermarks per partition, records, and a group's lag.")

        @Argument(help: "Topic.")
        var topic: String

        @Option(help: "Consumer group whose committed offsets and lag to show.")
        var group: String?

        @Option(help: "Kafka bootstrap (default: $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP).")
        var bootstrap: String?

        func run() async throws {
            let inspector = try TopicInspector(bootstrap: bootstrap ?? ServiceEnvironment().kafkaBootstrap)
            let marks = try await inspector.highWatermarks(topic)
            for (partition, mark) in marks.sorted(by: { $0.key < $1.key }) { print("partition \(partition)\thigh watermark \(mark)") }
            let records = try await inspector.readAll(topic)
            print("records read back: \(records.count), distinct event ids: \(Set(records.compactMap(\.eventID)).count)")
            if let group {
                let committed = try await inspector.committed(group: group, topic: topic)
                for (tp, offset) in committed.sorted(by: { $0.key < $1.key }) { print("committed \(tp.topic)/\(tp.partition) \(offset)") }
                print("lag \(try await inspector.lag(group: group, topics: [topic]))")
            }
            await inspector.close()
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run experiments; exits 1 if any invariant fails.",
            discussion: "Each run starts the services it needs as child processes, drives load, injects its faults, reads everything back and checks its invariants.")

        @Argument(help: "Experiment ids (E-001 …), or none with --all.")
        var ids: [String] = []

        @Flag(help: "Every experiment of the catalog, in order.")
        var all = false

        @Flag(help: "Smaller sizes, same invariants (what CI runs).")
        var quick = false

        @Option(help: "Kafka: tansu (default), mock, or a bootstrap list host:port,… (e.g. a real Kafka cluster). Default: $LAB_KAFKA_BOOTSTRAP if set, else tansu.")
        var kafka: String?

        @Option(help: "Where reports go.")
        var reports = "reports"

        func validate() throws {
            if all != ids.isEmpty { throw ValidationError("name experiment ids or give --all (not both)") }
            for id in ids where ExperimentCatalog.find(id) == nil {
                throw ValidationError("unknown experiment \(id); `lab exp list` shows them")
            }
        }

        func run() async throws {
            let interrupts = Self.stopServicesOnInterrupt()
            defer { interrupts.forEach { $0.cancel() } }
            let experiments = all ? ExperimentCatalog.all : ids.compactMap(ExperimentCatalog.find)
            let configuration = try HarnessConfiguration.fromEnvironment(quick: quick, kafka: kafka, reportRoot: reports)
            let outcomes = await ExperimentRunner.run(experiments, configuration: configuration)
            let failed = outcomes.filter { !$0.passed }
            // The closing line, in the form CI tools read.
            print("experiments: \(outcomes.count - failed.count) passed, \(failed.count) failed")
            if !failed.isEmpty { throw ExitCode(1) }
        }

        /// ^C or SIGTERM: the services this run started are stopped (by their PIDs) before the
        /// harness exits, so none is left holding its port.
        static func stopServicesOnInterrupt() -> [any DispatchSourceSignal] {
            [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    FileHandle.standardError.write(Data("\ninterrupted: stopping the services this run started\n".utf8))
                    Task {
                        await ServiceProcess.stopAllStarted()
                        Glibc.exit(130)
                    }
                }
                source.resume()
                return source
            }
        }
    }
}

import Foundation
import ServiceKit

/// E-002 ❌: producing to Kafka after the DB commit (no outbox) loses the event when the
/// process dies in between; the outbox path under the same crash loses nothing.
public struct E002DirectProduce: Experiment {
    public let id = "E-002"
    public let title = "Direct produce without an outbox; crash after the DB commit, before the produce"
    public let kind = "❌"
    public let summary = """
        The command-service commits the deposit and then produces the event itself (direct mode). A failpoint kills \
        the process between the commit and the produce: the deposit exists in MySQL, its event never reaches Kafka. \
        The same crash at the same point with the outbox (the event row committed with the deposit, published by the \
        relay) loses nothing.
        """

    public init() {}

    struct Variant {
        var name: String
        var mode: String
        var expectLoss: Bool
    }

    public func run(_ run: ExperimentRun) async throws {
        let deposits = run.quick ? 200 : 2000
        let failpoint = "command.after_commit_before_produce=crash,after=\(deposits / 4),times=1"
        run.setting("deposits per variant", deposits)
        run.setting("failpoint", failpoint)
        for variant in [Variant(name: "direct", mode: "direct", expectLoss: true), Variant(name: "outbox", mode: "outbox", expectLoss: false)] {
            try await runVariant(run, variant, deposits: deposits, failpoint: failpoint)
        }
    }

    func runVariant(_ run: ExperimentRun, _ variant: Variant, deposits: Int, failpoint: String) async throws {
        let prefix = "e2\(variant.name.prefix(1))-\(run.tag)-"
        let topic = run.unique("account-events.v1.\(variant.name)")
        let readback = Readback(run)
        run.phase("\(variant.name): start services (command-service mode \(variant.mode), crash after commit armed)")
        let command = try await LabServices.command(run, mode: variant.mode, accountTopic: topic, failpoints: failpoint)
        var relay: ServiceProcess?
        if variant.mode == "outbox" { relay = try await LabServices.relay(run, topic: topic) }
        let watch = Task {
            try await LabServices.awaitCrashAndRestart(run, command, label: "\(variant.name): command-service crashed after commit",
                                                      within: .seconds(120)) {
                try await LabServices.command(run, mode: variant.mode, accountTopic: topic)
            }
        }
        run.phase("\(variant.name): load")
        let client = HTTPClient(port: LabServices.commandPort)
        let totals = await LoadDriver.run(run, process: "client-\(variant.name)", op: "deposit", count: deposits, concurrency: 4,
                                          ratePerSecond: run.quick ? 100 : 200) { index in
            let account = "\(prefix)\(index % 10)"
            var outcome = await LoadDriver.http(client, "POST", "/accounts/\(account)/deposits", json: "{\"amountCents\": 100}")
            // While the service is down the request is refused (nothing happened); try again shortly.
            for _ in 0..<50 {
                guard case let .fail(error) = outcome, error.contains("connect") else { break }
                try? await Task.sleep(for: .milliseconds(100))
                outcome = await LoadDriver.http(client, "POST", "/accounts/\(account)/deposits", json: "{\"amountCents\": 100}")
            }
            return (account, outcome)
        }
        client.close()
        let (crashed, _) = try await watch.value
        run.figure("\(variant.name): deposit requests", totals)
        if relay != nil {
            _ = try await run.wait("outbox backlog 0", timeout: .seconds(60)) { try await readback.outboxBacklog() == 0 }
        }
        run.phase("\(variant.name): read back")
        let committed = try await readback.committedDeposits(prefix: prefix)
        let onTopic = try await readback.eventIDs(on: topic)
        let lost = committed.subtracting(onTopic.keys)
        run.figure("\(variant.name): deposits committed in MySQL", committed.count)
        run.figure("\(variant.name): events on the topic", onTopic.count)
        run.figure("\(variant.name): committed but absent from Kafka", lost.count)
        run.check("\(variant.name): the crash after the commit happened", expect: "command-service killed by the failpoint mid-load",
                  observed: crashed ? "killed and restarted" : "the failpoint never fired", crashed)
        if variant.expectLoss {
            run.check("direct: events committed in the DB but absent from Kafka > 0 (the loss reproduced)",
                      expect: "> 0 lost", observed: "\(lost.count) lost of \(committed.count) committed", !lost.isEmpty)
        } else {
            run.check("outbox: the same crash loses nothing", expect: "0 lost",
                      observed: "\(lost.count) lost of \(committed.count) committed", lost.isEmpty && !committed.isEmpty)
        }
        await run.stopServices()
    }
}

import Foundation
import RESP
import ServiceKit

/// E-001 ✅: the outbox, the relay, idempotent consumption and cache invalidation together,
/// under load, with the relay crashing between publishing a batch and marking it sent.
public struct E001OutboxRelay: Experiment {
    public let id = "E-001"
    public let title = "Outbox + relay + processed_event + cache invalidation under load and a relay crash"
    public let kind = "✅"
    public let summary = """
        Deposits go through the command-service, which writes the account change and an outbox row in one \
        transaction; the outbox-relay publishes them with an idempotent producer; the consumer-service applies each \
        event once (processed_event in the same transaction as the effect) to the read model and then invalidates \
        the cache (versioned keys); the query-service reads through the cache. Mid-load the relay is killed by a \
        failpoint after publishing a batch and before marking it sent, and restarted: the batch is published again \
        (at-least-once) and processed_event absorbs the duplicates.
        """

    public init() {}

    /// Arms the relay's crash through its admin endpoint, as an operator would at run time.
    static func armRelayCrash(_ run: ExperimentRun) async {
        let admin = HTTPClient(port: LabServices.relayPort)
        defer { admin.close() }
        let path = "/failpoints/relay.after_publish_before_mark?spec=crash,times=1"
        run.record("harness", "arm failpoint", .invoke, key: path)
        do {
            let response = try await admin.request("PUT", path)
            run.record("harness", "arm failpoint", response.status == 200 ? .ok : .fail, key: path, value: response.text)
            run.say("armed relay.after_publish_before_mark=crash (HTTP \(response.status))")
        } catch {
            run.record("harness", "arm failpoint", .fail, key: path, error: "\(error)")
        }
    }

    public func run(_ run: ExperimentRun) async throws {
        let accounts = run.quick ? 12 : 50
        let deposits = run.quick ? 300 : 3000
        let prefix = "e1-\(run.tag)-"
        let topic = run.unique("account-events.v1")
        let group = run.unique("e001-consumer")
        run.setting("deposits", deposits)
        run.setting("accounts", accounts)
        run.setting("topic", topic)
        let rate: Double = run.quick ? 60 : 150
        run.setting("load", "\(Int(rate)) deposits/s, 8 concurrent clients; readers GET every ~10 ms")
        run.setting("relay failpoint", "relay.after_publish_before_mark=crash,times=1, armed at run time (PUT /failpoints) a third into the load")
        let readback = Readback(run)

        run.phase("start services")
        try await LabServices.command(run, accountTopic: topic)
        var relay = try await LabServices.relay(run, topic: topic)
        var consumer = LabServices.ConsumerSettings(handler: "account", topic: topic, group: group)
        consumer.cacheInvalidation = "versioned"
        try await LabServices.consumer(run, consumer)
        try await LabServices.query(run, cacheMode: "versioned")

        let sampler = MetricSampler(run: run, scrapes: [
            .init("outbox_backlog", port: LabServices.relayPort, metric: "lab_outbox_backlog"),
            .init("outbox_oldest_age_s", port: LabServices.relayPort, metric: "lab_outbox_oldest_age_seconds"),
            .init("consumer_applied", port: LabServices.consumerPort, metric: "lab_consumer_processed_total", labels: ["outcome": "applied"]),
            .init("consumer_duplicates", port: LabServices.consumerPort, metric: "lab_consumer_processed_total", labels: ["outcome": "duplicate"]),
            .init("cache_hits", port: LabServices.queryPort, metric: "lab_cache_requests_total", labels: ["result": "hit"]),
            .init("cache_misses", port: LabServices.queryPort, metric: "lab_cache_requests_total", labels: ["result": "miss"]),
        ], probes: [{ ["consumer_lag": Double((try? await run.inspector.lag(group: group, topics: [topic])) ?? -1)] }])
        sampler.start()

        run.phase("load: \(deposits) deposits over \(accounts) accounts, readers on the query-service")
        let command = HTTPClient(port: LabServices.commandPort)
        let query = HTTPClient(port: LabServices.queryPort)
        let readers = Task {
            var reads = 0
            while !Task.isCancelled {
                let account = "\(prefix)\(Int.random(in: 0..<accounts))"
                run.record("reader", "read", .invoke, key: account)
                do {
                    let response = try await query.get("/accounts/\(account)")
                    let served = response.status == 200 ? "\(response.header("X-Cache") ?? "?") \(response.text)" : "HTTP \(response.status)"
                    run.record("reader", "read", response.status == 200 || response.status == 404 ? .ok : .fail, key: account, value: served)
                } catch {
                    run.record("reader", "read", .unknown, key: account, error: "\(error)")
                }
                reads += 1
                try? await Task.sleep(for: .milliseconds(10))
            }
            return reads
        }
        let relayWatch = Task { [relay] in
            try await LabServices.awaitCrashAndRestart(run, relay, label: "relay crashed at relay.after_publish_before_mark",
                                                      within: run.quick ? .seconds(60) : .seconds(300)) {
                try await LabServices.relay(run, topic: topic)
            }
        }
        let armAt = deposits / 3
        let totals = await LoadDriver.run(run, process: "client", op: "deposit", count: deposits, concurrency: 8, ratePerSecond: rate) { index in
            if index == armAt { await Self.armRelayCrash(run) }
            let account = "\(prefix)\(index % accounts)"
            let amount = 100 + index % 900
            return (account, await LoadDriver.http(command, "POST", "/accounts/\(account)/deposits", json: "{\"amountCents\": \(amount)}"))
        }
        run.figure("deposit requests", totals)
        let (crashed, replacement) = try await relayWatch.value
        if let replacement { relay = replacement }
        _ = relay

        run.phase("quiescence: outbox drained, consumer caught up")
        let drained = try await run.wait("outbox backlog 0", timeout: .seconds(120)) { try await readback.outboxBacklog() == 0 }
        let lag = try await readback.waitLagZero(group: group, topics: [topic], timeout: .seconds(120))
        readers.cancel()
        run.figure("query-service reads during the load", await readers.value)

        run.phase("read back")
        let committed = try await readback.committedDeposits(prefix: prefix)
        let onTopic = try await readback.eventIDs(on: topic)
        let effects = try await readback.appliedEffects(prefix: prefix)
        let truth = try await readback.accounts(prefix: prefix)
        let view = try await readback.readModel(prefix: prefix)
        let lost = committed.subtracting(onTopic.keys)
        let duplicatesOnTopic = onTopic.values.filter { $0 > 1 }.count
        let appliedTwice = effects.filter { $0.value > 1 }.count
        let neverApplied = committed.filter { effects[$0] == nil }.count
        run.figure("deposits committed (source of truth)", committed.count)
        run.figure("records on the topic", onTopic.values.reduce(0, +))
        run.figure("events published more than once (relay crash)", duplicatesOnTopic)
        run.figure("consumer lag at the end", lag)

        run.check("the relay crashed and was restarted", expect: "the failpoint fired mid-load",
                  observed: crashed ? "relay killed by relay.after_publish_before_mark, restarted" : "the failpoint never fired", crashed)
        run.check("every committed change reached Kafka", expect: "0 committed deposits missing from the topic",
                  observed: "\(lost.count) missing of \(committed.count)", lost.isEmpty && !committed.isEmpty)
        run.check("each event applied exactly once", expect: "1 ledger row per committed deposit",
                  observed: "\(appliedTwice) applied twice, \(neverApplied) never applied (\(duplicatesOnTopic) duplicates on the topic absorbed)",
                  appliedTwice == 0 && neverApplied == 0)
        let mismatched = truth.filter { view[$0.key] != $0.value }
        run.check("read model = source of truth", expect: "every account's balance and version equal",
                  observed: mismatched.isEmpty ? "\(truth.count) accounts equal"
                      : "\(mismatched.count) differ, e.g. \(mismatched.first!.key): truth \(mismatched.first!.value), view \(view[mismatched.first!.key].map { "\($0)" } ?? "missing")",
                  mismatched.isEmpty && !truth.isEmpty)

        // Served values after quiescence: whatever the cache held must not be older than the data.
        var stale: [String] = []
        for (account, state) in truth.sorted(by: { $0.key < $1.key }) {
            guard let response = try? await query.get("/accounts/\(account)"), response.status == 200,
                  let snapshot = try? EventCoding.decode(AccountSnapshot.self, from: response.body)
            else { stale.append("\(account): no answer"); continue }
            if snapshot.balanceCents != state.balanceCents || snapshot.version != state.version {
                stale.append("\(account): served v\(snapshot.version) \(snapshot.balanceCents), truth \(state)")
            }
        }
        run.check("no stale cache entry survives an invalidation", expect: "every account served through the cache equals the source of truth",
                  observed: stale.isEmpty ? "\(truth.count) accounts served fresh" : "\(stale.count) stale: \(stale.prefix(3).joined(separator: "; "))",
                  stale.isEmpty)
        await sampler.stop()
        let backlogMetric = sampler.last["outbox_backlog"]
        run.check("outbox backlog drains to 0", expect: "0 unsent outbox rows; lab_outbox_backlog 0",
                  observed: "unsent rows \(try await readback.outboxBacklog()), lab_outbox_backlog \(backlogMetric.map { "\(Int($0))" } ?? "not scraped")",
                  drained && backlogMetric == 0)
        command.close()
        query.close()
        run.plot("outbox.svg", title: "Outbox backlog and consumer lag", series: ["outbox_backlog", "consumer_lag"])
        run.plot("consumer.svg", title: "Events applied and duplicates absorbed", series: ["consumer_applied", "consumer_duplicates"])
        run.plot("cache.svg", title: "Query-service cache", series: ["cache_hits", "cache_misses"])
    }
}

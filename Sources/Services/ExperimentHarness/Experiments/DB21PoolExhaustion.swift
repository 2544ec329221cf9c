import Foundation
import KafkaWire
import ServiceKit

/// DB-2.1: connection-pool exhaustion under burst traffic (seed 000, scenario 2.1), with the
/// seed's checklist evaluated from what was read back and sampled.
public struct DB21PoolExhaustion: Experiment {
    public let id = "DB-2.1"
    public let title = "Connection pool exhaustion under burst traffic"
    public let kind = "✅"
    public let summary = """
        10,000 API calls publish 30,000 events (3 per call) to second-scenario.v1. The consumer-service processes them \
        with 10 workers per listener on one pool of 20 connections (connection timeout 2 s, validation 1 s, max lifetime \
        10 min, keepalive 30 s); per message a SELECT by event id (the duplicate check) and an INSERT. Messages with \
        randomValue % 10 == 0 hold their connection 3 s and fail, and go through the retry topics (1 s, 2 s, 10 s) to \
        the DLT; the retry listeners share the same pool, so the pool saturates, callers wait (pending > 0) and some \
        time out after 2 s — and nothing is lost or duplicated.
        """

    public init() {}

    public func run(_ run: ExperimentRun) async throws {
        let calls = run.quick ? 300 : 10_000
        let topic = run.unique("second-scenario.v1")
        let group = run.unique("ak-demo-consumer-group")
        let topology = RetryTopology(topic: topic)
        let groups = [group] + topology.tiers.indices.map { "\(group)-retry-\($0 + 1)" }
        let readback = Readback(run)
        run.setting("API calls", calls)
        run.setting("messages", calls * 3)
        run.setting("consumer", "10 workers per listener (main + 3 retry tiers), pool 20, connection timeout 2 s, max.poll.records 500")
        run.setting("failure rule", "randomValue % 10 == 0 → hold the connection 3 s, then fail")

        run.phase("start services")
        try await LabServices.command(run, scenarioTopic: topic)
        var settings = LabServices.ConsumerSettings(handler: "second-scenario", topic: topic, group: group)
        settings.poisonRule = "random-value-mod-10"
        settings.poisonHoldMs = 3000
        settings.workers = 10
        settings.poolSize = 20
        settings.maxPollRecords = 500  // max.poll.records' default, as the seed's Spring consumer has it
        try await LabServices.consumer(run, settings)

        let port = LabServices.consumerPort
        let pool = ["pool": "consumer"]
        let sampler = MetricSampler(run: run, scrapes: [
            .init("active", port: port, metric: "hikaricp_connections_active", labels: pool),
            .init("idle", port: port, metric: "hikaricp_connections_idle", labels: pool),
            .init("pending", port: port, metric: "hikaricp_connections_pending", labels: pool),
            .init("max", port: port, metric: "hikaricp_connections_max", labels: pool),
            .init("timeouts_total", port: port, metric: "hikaricp_connections_timeout_total", labels: pool),
            .init("acquire_p95_s", port: port, metric: "hikaricp_connections_acquire_seconds", labels: pool, quantile: 0.95),
            .init("dlq_total", port: port, metric: "lab_dlq_total"),
        ], probes: [{
            var values: [String: Double] = [:]
            if let saved = try? await run.scalar("SELECT COUNT(*) FROM scenario_event") { values["saved"] = Double(saved) }
            if let lag = try? await run.inspector.lag(group: group, topics: [topic]) { values["lag_main"] = Double(lag) }
            if let dlt = try? await readback.recordCount(topology.deadLetterTopic) { values["dlt"] = Double(dlt) }
            return values
        }])
        sampler.start()

        run.phase("burst: \(calls) calls → \(calls * 3) messages")
        let client = HTTPClient(port: LabServices.commandPort)
        let burst = run.beginFault("burst: \(calls) API calls")
        let totals = await LoadDriver.run(run, process: "loader", op: "second-scenario", count: calls, concurrency: 20,
                                          status: { Self.gauges(sampler.last) }) { index in
            (nil, await LoadDriver.http(client, "POST", "/events/second-scenario", json: "{\"message\": \"burst \(index)\"}"))
        }
        client.close()
        run.endFault(burst)
        run.figure("API calls", totals)

        run.phase("drain: until saved + DLT = published and every group caught up")
        let published = try await readback.recordCount(topic)
        var saved: Int64 = 0
        var dead: Int64 = 0
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                run.say("drain: saved \(Int(sampler.last["saved"] ?? 0)), DLT \(Int(sampler.last["dlt"] ?? 0)) of \(published) | \(Self.gauges(sampler.last))")
            }
        }
        let settled = try await run.wait("saved + DLT = published", timeout: .seconds(run.quick ? 600 : 3600), interval: .seconds(2)) {
            saved = try await run.scalar("SELECT COUNT(DISTINCT event_id) FROM scenario_event")
            dead = try await readback.recordCount(topology.deadLetterTopic)
            return saved + dead >= published
        }
        var lags: [String: Int64] = [:]
        for (index, name) in groups.enumerated() {
            let topics = index == 0 ? [topic] : [topology.retryTopics[index - 1]]
            lags[name] = try await readback.waitLagZero(group: name, topics: topics, timeout: .seconds(120))
        }
        progress.cancel()
        // After the load: the pool returns to rest (HikariCP keeps idle connections; none stay lent).
        _ = await run.wait("active ≤ 2", timeout: .seconds(30), interval: .seconds(1)) { (sampler.last["active"] ?? 99) <= 2 }
        try await Task.sleep(for: .seconds(3))
        await sampler.stop()
        let series = run.snapshot.samples
        func peak(_ name: String) -> Double { series.max(name) ?? -1 }
        let last = sampler.last

        run.phase("read back and evaluate the seed's checklist")
        let duplicates = try await run.scalar("SELECT COUNT(*) FROM (SELECT event_id FROM scenario_event GROUP BY event_id HAVING COUNT(*) > 1) d")
        let poisonSaved = try await run.scalar("SELECT COUNT(*) FROM scenario_event WHERE random_value % 10 = 0")
        let retried = try await readback.recordCount(topology.retryTopics[0])
        let dlt = try await readback.records(on: topology.deadLetterTopic)
        let dltPoison = dlt.filter { record in
            guard let value = record.value, let event = try? EventCoding.decode(SecondScenarioEvent.self, from: value) else { return false }
            return event.randomValue % 10 == 0
        }.count
        let throughAllTiers = dlt.filter { $0.headerString(EventHeaders.attempts) == "\(topology.tiers.count + 1)" }.count
        let savedShare = published > 0 ? Double(saved) / Double(published) : 0
        let dltShare = published > 0 ? Double(dead) / Double(published) : 0
        let maxPool = Double(settings.poolSize)
        run.figure("messages published", published)
        run.figure("saved (DB)", "\(saved) (\(String(format: "%.1f", savedShare * 100))%)")
        run.figure("DLT", "\(dead) (\(String(format: "%.1f", dltShare * 100))%), of which randomValue % 10 == 0: \(dltPoison)")
        run.figure("records in \(topology.retryTopics[0])", retried)
        run.figure("max hikaricp_connections_active", Int(peak("active")))
        run.figure("max hikaricp_connections_pending", Int(peak("pending")))
        run.figure("hikaricp_connections_timeout_total", Int(last["timeouts_total"] ?? -1))
        run.figure("max acquire p95 (s)", String(format: "%.3f", peak("acquire_p95_s")))
        run.figure("max consumer lag (main topic)", Int(peak("lag_main")))
        run.figure("duration (s)", String(format: "%.0f", run.elapsed))

        run.check("published = API calls × 3", expect: "\(calls * 3)", observed: "\(published) on the topic, \(totals)",
                  published == Int64(calls * 3) && totals.ok == calls)
        run.check("saved + DLT = published", expect: "\(published)", observed: "\(saved) + \(dead) = \(saved + dead)", settled && saved + dead == published)
        run.check("≈90% saved, ≈10% in the DLT", expect: "saved 80–95%, DLT 5–20% (the rule hits 11 of 101 values: 10.9%)",
                  observed: String(format: "saved %.1f%%, DLT %.1f%%", savedShare * 100, dltShare * 100),
                  (0.80...0.95).contains(savedShare) && (0.05...0.20).contains(dltShare))
        run.check("every failing message went retry → DLT", expect: "no poison message saved; DLT records carry \(topology.tiers.count + 1) attempts",
                  observed: "\(poisonSaved) poison saved; \(throughAllTiers) of \(dlt.count) DLT records went through every tier; \(retried) entered retry-1",
                  poisonSaved == 0 && throughAllTiers == dlt.count && retried > 0)
        run.check("no duplicates", expect: "0 event ids saved twice", observed: "\(duplicates)", duplicates == 0)
        // The seed's pass condition 5: active near the maximum, and callers waiting (pending) or
        // timing out. Timeouts themselves are a checklist item the seed expects "10–100" of at full
        // size; with fewer messages the waits may stay under the 2 s timeout, so they are counted
        // and reported, and a run without them says so.
        let timeouts = last["timeouts_total"] ?? 0
        run.check("pool saturated during the burst", expect: "max active ≥ \(Int(maxPool * 0.9)) of \(Int(maxPool)), and pending > 0 or timeouts > 0",
                  observed: "max active \(Int(peak("active"))), max pending \(Int(peak("pending"))), timeouts \(Int(timeouts))",
                  peak("active") >= maxPool * 0.9 && (peak("pending") > 0 || timeouts > 0))
        if timeouts == 0 {
            run.note("No connection waited past the 2 s connectionTimeout in this run (hikaricp_connections_timeout_total stayed 0): "
                     + "callers waited (pending up to \(Int(peak("pending")))) but were served in time. The seed's troubleshooting item 2 "
                     + "applies: more load (a larger burst) makes the waits longer than the timeout.")
        }
        let lagText = groups.map { "\($0.replacingOccurrences(of: group, with: "main")): \(lags[$0] ?? -1)" }.joined(separator: ", ")
        run.check("after the burst: lag 0", expect: "every group (main and retry tiers) caught up", observed: lagText,
                  lags.values.allSatisfy { $0 == 0 })
        run.check("after the burst: active back to 0–2, no leak", expect: "active ≤ 2 and pending 0",
                  observed: "active \(Int(last["active"] ?? -1)), idle \(Int(last["idle"] ?? -1)), pending \(Int(last["pending"] ?? -1))",
                  (last["active"] ?? 99) <= 2 && (last["pending"] ?? 99) == 0)
        run.plot("pool.svg", title: "Consumer pool (hikaricp_connections_*)", series: ["active", "idle", "pending", "max"])
        run.plot("timeouts.svg", title: "Connection timeouts and acquire p95", series: ["timeouts_total", "acquire_p95_s"])
        run.plot("progress.svg", title: "Saved, dead-lettered and main-topic lag", series: ["saved", "dlt", "lag_main"])
    }

    static func gauges(_ last: [String: Double]) -> String {
        func v(_ name: String) -> String { last[name].map { String(Int($0)) } ?? "-" }
        return "active \(v("active")) idle \(v("idle")) pending \(v("pending")) timeouts \(v("timeouts_total")) lag \(v("lag_main"))"
    }
}

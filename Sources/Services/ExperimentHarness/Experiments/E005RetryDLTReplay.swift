import Foundation
import KafkaWire
import ServiceKit

/// E-005 ✅: failing messages go through retry topics with backoff to the dead-letter topic with
/// their key, headers and error; after the fix, a replay applies each once; a second replay
/// changes nothing.
public struct E005RetryDLTReplay: Experiment {
    public let id = "E-005"
    public let title = "Retry topics with backoff → DLT → controlled replay with a dedup key"
    public let kind = "✅"
    public let summary = """
        Scenario events (3 per API call) are consumed with the seed's failure rule on (randomValue % 10 == 0 fails). \
        A failing message is retried through TOPIC-retry-1/-2/-3 (1 s, 2 s, 10 s) and then lands in TOPIC-dlt with its \
        original key, headers, topic/partition/offset, attempt count and error. The rule is then switched off (the \
        fix is deployed) and the replay-worker replays the DLT: every dead-lettered event is applied exactly once. \
        Replaying again replays nothing (replay_log, keyed by event id) and changes nothing.
        """

    public init() {}

    public func run(_ run: ExperimentRun) async throws {
        let calls = run.quick ? 60 : 1000
        let topic = run.unique("second-scenario.v1")
        let group = run.unique("e005-consumer")
        let topology = RetryTopology(topic: topic)
        let readback = Readback(run)
        run.setting("API calls", calls)
        run.setting("retry tiers", "1 s, 2 s, 10 s, then \(topology.deadLetterTopic)")

        run.phase("start services; failure rule on")
        try await LabServices.command(run, scenarioTopic: topic)
        var settings = LabServices.ConsumerSettings(handler: "second-scenario", topic: topic, group: group)
        settings.poisonRule = "random-value-mod-10"
        settings.poisonHoldMs = 100
        try await LabServices.consumer(run, settings)
        try await LabServices.replayWorker(run)

        run.phase("load: \(calls) calls × 3 events")
        let client = HTTPClient(port: LabServices.commandPort)
        let totals = await LoadDriver.run(run, process: "client", op: "second-scenario", count: calls, concurrency: 4) { index in
            (nil, await LoadDriver.http(client, "POST", "/events/second-scenario", json: "{\"message\": \"e005 call \(index)\"}"))
        }
        run.figure("API calls", totals)
        let published = try await readback.eventIDs(on: topic)
        let poisonOnTopic = try await readback.records(on: topic).filter { isPoison($0) }.count
        run.figure("events published", published.count)
        run.figure("events with randomValue % 10 == 0", poisonOnTopic)

        run.phase("wait: saved + dead-lettered = published")
        var saved: Int64 = 0
        var dead: Int64 = 0
        let settled = try await run.wait("saved + DLT = published", timeout: .seconds(run.quick ? 120 : 600), interval: .seconds(1)) {
            saved = try await run.scalar("SELECT COUNT(DISTINCT event_id) FROM scenario_event")
            dead = try await readback.recordCount(topology.deadLetterTopic)
            return saved + dead == Int64(published.count)
        }
        run.figure("saved before the fix", saved)
        run.figure("dead-lettered", dead)
        let dlt = try await readback.records(on: topology.deadLetterTopic)
        let original = Dictionary(try await readback.records(on: topic).map { ($0.eventID ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var wrong: [String] = []
        for record in dlt {
            let id = record.eventID ?? "?"
            var problems: [String] = []
            if record.headerString(EventHeaders.attempts) != "\(topology.tiers.count + 1)" { problems.append("attempts \(record.headerString(EventHeaders.attempts) ?? "none")") }
            if record.headerString(EventHeaders.originalTopic) != topic { problems.append("original topic \(record.headerString(EventHeaders.originalTopic) ?? "none")") }
            if record.headerString(EventHeaders.originalOffset) == nil { problems.append("no original offset") }
            if (record.headerString(EventHeaders.exceptionMessage) ?? "").isEmpty { problems.append("no error") }
            if let first = original[id], first.key != record.key || first.value != record.value { problems.append("key/value changed") }
            if original[id] == nil { problems.append("not an event of the topic") }
            if !problems.isEmpty { wrong.append("\(id): \(problems.joined(separator: ", "))") }
        }
        run.check("failing messages end in the DLT after all attempts", expect: "saved + DLT = published; every poison message in the DLT",
                  observed: "saved \(saved) + DLT \(dead) = \(saved + dead) of \(published.count); poison \(poisonOnTopic)",
                  settled && dead >= Int64(poisonOnTopic) && dead > 0)
        run.check("DLT records keep their key, value and headers, with the error", expect: "attempts = \(topology.tiers.count + 1), original topic/offset, error message",
                  observed: wrong.isEmpty ? "\(dlt.count) records as expected" : "\(wrong.count) not: \(wrong.prefix(3).joined(separator: "; "))",
                  wrong.isEmpty && !dlt.isEmpty)

        run.phase("deploy the fix (failure rule off) and replay the DLT")
        await run.stopServices()
        settings.poisonRule = "none"
        try await LabServices.consumer(run, settings)
        try await LabServices.replayWorker(run)
        let replay = HTTPClient(port: LabServices.replayPort)
        let first = try await replayOnce(run, replay, dlt: topology.deadLetterTopic)
        let allSaved = try await run.wait("every event saved", timeout: .seconds(120), interval: .seconds(1)) {
            try await run.scalar("SELECT COUNT(DISTINCT event_id) FROM scenario_event") == Int64(published.count)
        }
        _ = try await readback.waitLagZero(group: group, topics: [topic], timeout: .seconds(60))
        let duplicates = try await run.scalar("SELECT COUNT(*) FROM (SELECT event_id FROM scenario_event GROUP BY event_id HAVING COUNT(*) > 1) d")
        let rows = try await run.scalar("SELECT COUNT(*) FROM scenario_event")
        run.check("replay applies each dead-lettered event once", expect: "replayed = DLT size; every published event saved once",
                  observed: "replayed \(first.replayed) of \(dlt.count); saved \(rows) rows for \(published.count) events, \(duplicates) duplicated",
                  first.replayed == dlt.count && allSaved && duplicates == 0 && rows == Int64(published.count))

        run.phase("replay again")
        let second = try await replayOnce(run, replay, dlt: topology.deadLetterTopic)
        try await Task.sleep(for: .seconds(3))
        _ = try await readback.waitLagZero(group: group, topics: [topic], timeout: .seconds(60))
        let rowsAfter = try await run.scalar("SELECT COUNT(*) FROM scenario_event")
        run.check("replaying twice changes nothing", expect: "second replay: 0 replayed, all skipped; rows unchanged",
                  observed: "replayed \(second.replayed), skipped \(second.skipped); rows \(rows) → \(rowsAfter)",
                  second.replayed == 0 && second.skipped == dlt.count && rowsAfter == rows)
        replay.close()
        client.close()
    }

    func isPoison(_ record: ConsumerRecord) -> Bool {
        guard let value = record.value, let event = try? EventCoding.decode(SecondScenarioEvent.self, from: value) else { return false }
        return event.randomValue % 10 == 0
    }

    func replayOnce(_ run: ExperimentRun, _ client: HTTPClient, dlt: String) async throws -> (replayed: Int, skipped: Int) {
        run.record("operator", "replay", .invoke, key: dlt)
        let response = try await client.request("POST", "/replays", body: Array("{\"dltTopic\": \"\(dlt)\"}".utf8), timeout: .seconds(120))
        guard response.status == 200,
              let summary = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else {
            run.record("operator", "replay", .fail, key: dlt, error: "HTTP \(response.status) \(response.text)")
            throw HarnessError.process("replay of \(dlt) failed: HTTP \(response.status) \(response.text)")
        }
        run.record("operator", "replay", .ok, key: dlt, value: response.text)
        run.figure("replay of \(dlt)", response.text)
        return ((summary["replayed"] as? Int) ?? -1, (summary["skippedAlreadyReplayed"] as? Int) ?? -1)
    }
}

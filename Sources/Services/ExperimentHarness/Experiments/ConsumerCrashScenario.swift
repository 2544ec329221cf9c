import ExperimentReport
import Foundation
import ServiceKit

/// The shape E-003 and E-004 share: events already on a topic, a consumer-service in one mode
/// with a crash failpoint armed, the crash, a restart without it, and then what the read
/// side holds per event: applied once, twice, or never.
struct ConsumerCrashScenario {
    struct Result {
        var crashed: Bool
        var events: Int
        var appliedTwice: Int
        var neverApplied: Int
        var duplicatesSkipped: Double?
        var lag: Int64
    }

    let run: ExperimentRun
    let name: String
    let mode: String
    let failpoint: String
    let events: Int

    func execute() async throws -> Result {
        let prefix = "\(run.experiment.id.lowercased())-\(name)-\(run.tag)-"
        let topic = run.unique("account-events.v1.\(name)")
        let group = run.unique("consumer.\(name)")
        let readback = Readback(run)
        run.phase("\(name): publish \(events) events to \(topic)")
        try await ServiceKafka.ensureTopics(bootstrap: run.configuration.kafkaBootstrap, [topic], partitions: 3)
        let accounts = (0..<8).map { "\(prefix)\($0)" }
        let published = try await EventPublisher.deposits(run, topic: topic, accounts: accounts, count: events)

        run.phase("\(name): consume in mode \(mode) with \(failpoint)")
        var settings = LabServices.ConsumerSettings(handler: "account", topic: topic, group: group)
        settings.mode = mode
        settings.cacheInvalidation = "none"
        settings.workers = 4
        settings.maxPollRecords = 50
        settings.retryTiers = "none"
        let consumer = try await LabServices.consumer(run, settings, failpoints: failpoint, name: "consumer-\(name)")
        let restartSettings = settings
        let (crashed, replacement) = try await LabServices.awaitCrashAndRestart(
            run, consumer, label: "\(name): consumer crashed (\(failpoint))", within: .seconds(60)
        ) {
            try await LabServices.consumer(run, restartSettings, name: "consumer-\(name)")
        }
        let lag = try await readback.waitLagZero(group: group, topics: [topic], timeout: .seconds(90))
        // The restarted consumer's own count of redelivered records it recognised.
        var skipped: Double?
        if replacement != nil {
            let client = HTTPClient(port: LabServices.consumerPort)
            if let metrics = try? await client.get("/metrics") {
                skipped = PrometheusText.parse(metrics.text).sum("lab_consumer_processed_total", where: ["outcome": "duplicate"])
            }
            client.close()
        }
        await run.stopServices()

        let effects = try await readback.appliedEffects(prefix: prefix)
        let appliedTwice = published.filter { (effects[$0.eventId] ?? 0) > 1 }.count
        let neverApplied = published.filter { effects[$0.eventId] == nil }.count
        run.figure("\(name): events published", published.count)
        run.figure("\(name): ledger rows", effects.values.reduce(0, +))
        run.figure("\(name): applied twice", appliedTwice)
        run.figure("\(name): never applied", neverApplied)
        if let skipped { run.figure("\(name): redelivered records recognised by processed_event", Int(skipped)) }
        run.check("\(name): the consumer crashed and was restarted", expect: "the failpoint fired",
                  observed: crashed ? "crashed at \(failpoint), restarted" : "the failpoint never fired", crashed)
        run.check("\(name): the restarted consumer caught up", expect: "lag 0", observed: "lag \(lag)", lag == 0)
        return Result(crashed: crashed, events: published.count, appliedTwice: appliedTwice, neverApplied: neverApplied,
                      duplicatesSkipped: skipped, lag: lag)
    }
}

/// E-003 ❌: consuming without processed_event, a crash after the effect and before the offset
/// commit redelivers records, and their effect happens twice; with processed_event, once.
public struct E003NoProcessedEvent: Experiment {
    public let id = "E-003"
    public let title = "Consume without processed_event; redelivery after a crash before the offset commit"
    public let kind = "❌"
    public let summary = """
        The consumer-service applies deposits to the read model and commits offsets after each batch. A failpoint kills \
        it after the DB commit of a batch's effects and before the offset commit; the restarted consumer gets the batch \
        again. Without processed_event (naive mode) those effects are applied a second time; with processed_event in \
        the same transaction as the effect (idempotent mode) the redelivered records are recognised and skipped.
        """

    public init() {}

    public func run(_ run: ExperimentRun) async throws {
        let events = run.quick ? 200 : 2000
        let failpoint = "consumer.after_effect_before_commit=crash,after=\(events * 3 / 8),times=1"
        run.setting("events per variant", events)
        run.setting("failpoint", failpoint)
        let naive = try await ConsumerCrashScenario(run: run, name: "naive", mode: "naive", failpoint: failpoint, events: events).execute()
        run.check("naive: side effect applied twice > 0 (the duplicate reproduced)", expect: "> 0 events applied twice",
                  observed: "\(naive.appliedTwice) of \(naive.events) applied twice", naive.appliedTwice > 0)
        let idempotent = try await ConsumerCrashScenario(run: run, name: "idempotent", mode: "idempotent", failpoint: failpoint, events: events).execute()
        run.check("idempotent: with processed_event every effect happens once", expect: "0 applied twice, 0 never applied",
                  observed: "\(idempotent.appliedTwice) applied twice, \(idempotent.neverApplied) never applied"
                      + (idempotent.duplicatesSkipped.map { ", \(Int($0)) redelivered records skipped" } ?? ""),
                  idempotent.appliedTwice == 0 && idempotent.neverApplied == 0)
    }
}

/// E-004 ❌: committing offsets before processing (at-most-once) loses the records of a batch
/// when the consumer dies mid-batch; committing after processing loses none.
public struct E004CommitFirst: Experiment {
    public let id = "E-004"
    public let title = "Commit offsets before processing (at-most-once); crash mid-processing"
    public let kind = "❌"
    public let summary = """
        In commit-first mode the consumer-service commits a batch's offsets as soon as it has polled it, then processes \
        it. A failpoint kills it in the middle of a batch; the restarted consumer starts after the committed offsets, \
        so the rest of that batch is never processed. Committing after processing (idempotent mode), the same crash \
        leads to redelivery instead, and nothing is lost.
        """

    public init() {}

    public func run(_ run: ExperimentRun) async throws {
        let events = run.quick ? 200 : 2000
        // Mid-batch (batches of 50): the records of that batch before the crash are done, the
        // rest are not — lost with commit-first, redelivered (and partly recognised) with commit-after.
        let failpoint = "consumer.before_effect=crash,after=\(events * 3 / 8),times=1"
        run.setting("events per variant", events)
        run.setting("failpoint", failpoint)
        let first = try await ConsumerCrashScenario(run: run, name: "commit-first", mode: "commit-first", failpoint: failpoint, events: events).execute()
        run.check("commit-first: messages whose effect never happened > 0 (the loss reproduced)", expect: "> 0 never applied",
                  observed: "\(first.neverApplied) of \(first.events) never applied", first.neverApplied > 0)
        let after = try await ConsumerCrashScenario(run: run, name: "commit-after", mode: "idempotent", failpoint: failpoint, events: events).execute()
        run.check("commit-after: the same crash loses nothing", expect: "0 never applied, 0 applied twice",
                  observed: "\(after.neverApplied) never applied, \(after.appliedTwice) applied twice",
                  after.neverApplied == 0 && after.appliedTwice == 0)
    }
}

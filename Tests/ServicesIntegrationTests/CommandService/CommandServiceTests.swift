import Foundation
import KafkaWire
import MySQLWire
import ServiceKit
import Testing

/// The command-service as a process (`lab service command`) against MariaDB and Kafka: what
/// its HTTP endpoints answer and what they leave in the database and on the topics.
@Suite(
    .serialized,
    .enabled(if: ServicesTestKit.mysqlAndKafka.reachable, ServicesTestKit.mysqlAndKafka.skipReason),
    .enabled(if: ServiceProcess.labPath != nil, ServiceProcess.missingLabReason)
)
struct CommandServiceTests {
    struct Started {
        let service: ServiceProcess
        let accountTopic: String
        let scenarioTopic: String
    }

    /// The service on a free port with topics of its own.
    func startService(mode: String = "outbox", environment: [String: String] = [:]) async throws -> Started {
        let accountTopic = ServicesTestKit.unique("cmdtest-accounts")
        let scenarioTopic = ServicesTestKit.unique("cmdtest-scenario")
        let service = try await ServiceProcess.start(
            arguments: [
                "service", "command", "--mode", mode, "--account-topic", accountTopic, "--scenario-topic", scenarioTopic,
                "--topic-partitions", "3", "--mysql-url", ServicesTestKit.environment.mysqlURL,
                "--kafka-bootstrap", ServicesTestKit.environment.kafkaBootstrap,
            ],
            environment: environment, port: ServiceProcess.freePort())
        return Started(service: service, accountTopic: accountTopic, scenarioTopic: scenarioTopic)
    }

    static func object(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    static func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    /// Outbox rows the test wrote go again, so that no relay elsewhere picks them up later.
    static func removeOutboxRows(_ database: ServiceDatabase, accountIDs: [String]) async {
        for id in accountIDs { _ = try? await database.query("DELETE FROM outbox WHERE aggregate_id = ?", [.string(id)]) }
    }

    @Test("a deposit answers 201 and writes account, deposit and outbox rows in one go; a second one adds up")
    func depositWritesAccountDepositAndOutbox() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let started = try await startService()
        let account = "acct-\(UUID().uuidString.lowercased().prefix(18))"

        let first = try await started.service.http.post("/accounts/\(account)/deposits", json: #"{"amountCents": 2500}"#)
        #expect(first.status == 201, "\(first.text)")
        let receipt = Self.object(first.body)
        let eventID = try #require(receipt["eventId"] as? String)
        #expect(UUID(uuidString: eventID) != nil && eventID == eventID.lowercased(), "event id \(eventID) is a lowercase UUID")
        #expect(receipt["accountId"] as? String == account)
        #expect(Self.int(receipt["amountCents"]) == 2500)
        #expect(Self.int(receipt["balanceCents"]) == 2500)
        #expect(Self.int(receipt["version"]) == 1)
        #expect(receipt["mode"] as? String == "outbox")

        let accountRow = try await database.query("SELECT balance_cents, version FROM account WHERE id = ?", [.string(account)]).rows
        #expect(accountRow.map { $0.map(\.int64) } == [[2500, 1]])
        let depositRow = try await database.query(
            "SELECT account_id, amount_cents, version FROM deposit WHERE event_id = ?", [.string(eventID)]).rows
        #expect(depositRow.count == 1)
        #expect(depositRow.first?[0].string == account && depositRow.first?[1].int64 == 2500 && depositRow.first?[2].int64 == 1)
        let outboxRow = try await database.query(
            "SELECT aggregate_type, aggregate_id, type, payload FROM outbox WHERE event_id = ?", [.string(eventID)]).rows
        #expect(outboxRow.count == 1)
        if let row = outboxRow.first {
            #expect(row[0].string == "account" && row[1].string == account && row[2].string == "AccountDeposited")
            let payload = try EventCoding.decode(AccountDeposited.self, from: row[3].bytes ?? [])
            #expect(payload.eventId == eventID && payload.accountId == account)
            #expect(payload.amountCents == 2500 && payload.balanceCents == 2500 && payload.version == 1)
        }

        let second = try await started.service.http.post("/accounts/\(account)/deposits", json: #"{"amountCents": 700}"#)
        #expect(second.status == 201, "\(second.text)")
        #expect(Self.int(Self.object(second.body)["version"]) == 2)
        #expect(Self.int(Self.object(second.body)["balanceCents"]) == 3200)
        let read = try await started.service.http.get("/accounts/\(account)")
        #expect(read.status == 200)
        #expect(Self.int(Self.object(read.body)["balanceCents"]) == 3200)
        #expect(Self.int(Self.object(read.body)["version"]) == 2)
        let rows = try await database.query(
            "SELECT (SELECT COUNT(*) FROM deposit WHERE account_id = ?), (SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?)",
            [.string(account), .string(account)]).rows
        #expect(rows.first?.map(\.int64) == [2, 2])
        #expect(try await started.service.metric("lab_command_deposits_total", labels: ["mode": "outbox"]) == 2)

        await started.service.stop()
        await Self.removeOutboxRows(database, accountIDs: [account])
    }

    @Test("invalid requests answer 400 with a reason naming the problem, and write nothing")
    func invalidRequestsAnswer400() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let started = try await startService()
        let http = started.service.http
        let account = ServicesTestKit.unique("bad")
        let deposits = "/accounts/\(account)/deposits"
        let cases: [(label: String, path: String, body: String?, reason: String)] = [
            ("missing amountCents", deposits, #"{"amount": 5}"#, "amountCents"),
            ("amountCents 0", deposits, #"{"amountCents": 0}"#, "amountCents"),
            ("negative amountCents", deposits, #"{"amountCents": -100}"#, "amountCents"),
            ("amountCents as a string", deposits, #"{"amountCents": "100"}"#, "amountCents"),
            ("fractional amountCents", deposits, #"{"amountCents": 1.5}"#, "amountCents"),
            ("amountCents over the limit", deposits, #"{"amountCents": 100000001}"#, "amountCents"),
            ("amountCents null", deposits, #"{"amountCents": null}"#, "amountCents"),
            ("body not an object", deposits, "[2500]", "JSON object"),
            ("not JSON", deposits, "amountCents=5", "JSON"),
            ("empty body", deposits, nil, "empty"),
            ("account id with bad characters", "/accounts/bad!id/deposits", #"{"amountCents": 5}"#, "account id"),
            ("account id with a dot", "/accounts/bad.id/deposits", #"{"amountCents": 5}"#, "account id"),
            ("account id of 65 characters", "/accounts/\(String(repeating: "a", count: 65))/deposits", #"{"amountCents": 5}"#, "account id"),
        ]
        for test in cases {
            let response = try await http.request("POST", test.path, body: test.body.map { Array($0.utf8) })
            #expect(response.status == 400, "\(test.label): \(response.status) \(response.text)")
            let reason = Self.object(response.body)["error"] as? String ?? ""
            #expect(reason.contains(test.reason), "\(test.label): reason '\(reason)' should name \(test.reason)")
        }
        let written = try await database.query("SELECT COUNT(*) FROM account WHERE id = ?", [.string(account)]).rows
        #expect(written.first?.first?.int64 == 0, "a rejected deposit wrote the account")

        let unknown = try await http.get("/accounts/\(ServicesTestKit.unique("nobody"))")
        #expect(unknown.status == 404)
        #expect((Self.object(unknown.body)["error"] as? String)?.contains("not found") == true, "\(unknown.text)")
        let badRead = try await http.get("/accounts/bad!id")
        #expect(badRead.status == 400, "\(badRead.text)")
        await started.service.stop()
    }

    @Test("second-scenario: 201 with three distinct event ids, and those three records are on the topic")
    func secondScenarioPublishesThreeEvents() async throws {
        let started = try await startService()
        let response = try await started.service.http.post("/events/second-scenario", json: #"{"message": "burst hello"}"#)
        #expect(response.status == 201, "\(response.text)")
        let ids = try #require(Self.object(response.body)["eventIds"] as? [String])
        #expect(ids.count == 3 && Set(ids).count == 3)
        #expect(try await started.service.metric("lab_events_published_total", labels: ["topic": started.scenarioTopic]) == 3)
        await started.service.stop()

        let records = try await ServicesTestKit.readTopic(started.scenarioTopic) { records in
            Set(ids).isSubset(of: records.compactMap { $0.headerString(EventHeaders.id) })
        }
        let mine = records.filter { ids.contains($0.headerString(EventHeaders.id) ?? "") }
        #expect(mine.count == 3, "found \(mine.count) of the 3 records (topic has \(records.count))")
        for record in mine {
            let event = try EventCoding.decode(SecondScenarioEvent.self, from: record.value ?? [])
            #expect(event.eventId == record.headerString(EventHeaders.id))
            #expect(record.keyString == event.eventId)
            #expect(record.headerString(EventHeaders.type) == SecondScenarioEvent.type)
            #expect(event.message == "burst hello")
            #expect((0...100).contains(event.randomValue))
        }
    }

    @Test("second-scenario: invalid bodies answer 400 with a reason")
    func secondScenarioRejectsInvalidBodies() async throws {
        let started = try await startService()
        let cases: [(label: String, body: String?, reason: String)] = [
            ("empty body", nil, "empty"),
            ("not JSON", "hello", "JSON"),
            ("no message", #"{"text": "x"}"#, "message"),
            ("message not a string", #"{"message": 5}"#, "message"),
            ("body not an object", #"["hello"]"#, "JSON object"),
            ("empty message", #"{"message": ""}"#, "message"),
            ("message of 201 characters", #"{"message": "\#(String(repeating: "m", count: 201))"}"#, "message"),
        ]
        for test in cases {
            let response = try await started.service.http.request("POST", "/events/second-scenario", body: test.body.map { Array($0.utf8) })
            #expect(response.status == 400, "\(test.label): \(response.status) \(response.text)")
            let reason = Self.object(response.body)["error"] as? String ?? ""
            #expect(reason.contains(test.reason), "\(test.label): reason '\(reason)' should name \(test.reason)")
        }
        #expect(try await started.service.metric("lab_events_published_total", labels: ["topic": started.scenarioTopic]) ?? 0 == 0)
        await started.service.stop()
    }

    @Test("direct mode: no outbox row; the service produces the event itself")
    func directModeProducesWithoutOutbox() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let started = try await startService(mode: "direct")
        let account = ServicesTestKit.unique("direct")
        let response = try await started.service.http.post("/accounts/\(account)/deposits", json: #"{"amountCents": 990}"#)
        #expect(response.status == 201, "\(response.text)")
        let eventID = try #require(Self.object(response.body)["eventId"] as? String)
        #expect(Self.object(response.body)["mode"] as? String == "direct")
        await started.service.stop()

        let outbox = try await database.query("SELECT COUNT(*) FROM outbox WHERE event_id = ? OR aggregate_id = ?", [.string(eventID), .string(account)]).rows
        #expect(outbox.first?.first?.int64 == 0, "direct mode wrote an outbox row")
        let deposit = try await database.query("SELECT COUNT(*) FROM deposit WHERE event_id = ?", [.string(eventID)]).rows
        #expect(deposit.first?.first?.int64 == 1)
        let records = try await ServicesTestKit.readTopic(started.accountTopic) { records in
            records.contains { $0.headerString(EventHeaders.id) == eventID }
        }
        let mine = records.filter { $0.headerString(EventHeaders.id) == eventID }
        #expect(mine.count == 1)
        if let record = mine.first {
            #expect(record.keyString == account)
            #expect(record.headerString(EventHeaders.type) == AccountDeposited.type)
            let event = try EventCoding.decode(AccountDeposited.self, from: record.value ?? [])
            #expect(event.accountId == account && event.amountCents == 990 && event.version == 1 && event.balanceCents == 990)
        }
    }

    @Test("direct mode, killed after COMMIT and before the produce: the deposit is committed, its event never reaches Kafka (E-002)")
    func directModeCrashLosesTheEvent() async throws {
        let database = try await ServicesTestKit.database()
        defer { database.shutdown() }
        let started = try await startService(mode: "direct", environment: ["LAB_FAILPOINTS": "command.after_commit_before_produce=crash"])
        let account = ServicesTestKit.unique("lost")
        let response = try? await started.service.http.post("/accounts/\(account)/deposits", json: #"{"amountCents": 4200}"#, timeout: .seconds(10))
        #expect(response == nil, "the request was answered (\(response?.status ?? 0)) although the process should have died")
        let status = await started.service.waitForExit(timeout: .seconds(10))
        #expect(status == 128 + SIGKILL, "exit status \(String(describing: status)); output:\n\(started.service.outputTail())")

        let deposits = try await database.query("SELECT event_id, amount_cents FROM deposit WHERE account_id = ?", [.string(account)]).rows
        #expect(deposits.count == 1, "the deposit was not committed")
        let eventID = try #require(deposits.first?[0].string)
        #expect(deposits.first?[1].int64 == 4200)
        let accountRow = try await database.query("SELECT balance_cents, version FROM account WHERE id = ?", [.string(account)]).rows
        #expect(accountRow.map { $0.map(\.int64) } == [[4200, 1]])
        let outbox = try await database.query("SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?", [.string(account)]).rows
        #expect(outbox.first?.first?.int64 == 0)

        let records = try await ServicesTestKit.readTopic(started.accountTopic, timeout: .seconds(3)) { _ in false }
        #expect(!records.contains { $0.headerString(EventHeaders.id) == eventID || $0.keyString == account },
                "the committed deposit's event is on the topic after all")
        await started.service.stop()
    }
}

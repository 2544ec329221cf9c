import Foundation
import MySQLWire
import ServiceKit

/// The pool-exhaustion scenario's consumer (seed 000): look the event up by id
/// (`findByEventId`), save it if absent; a poison record holds its connection inside the
/// transaction, then fails, so the save is rolled back.
enum SecondScenarioEffect {
    enum Outcome { case saved, alreadySaved }

    static func apply(
        _ event: SecondScenarioEvent, poisonRule: PoisonRule, poisonHold: Duration, on connection: MySQLConnection
    ) async throws -> Outcome {
        let found = try await connection.query("SELECT id FROM scenario_event WHERE event_id = ?", [.string(event.eventId)])
        guard found.rows.isEmpty else { return .alreadySaved }
        _ = try await connection.query(
            "INSERT INTO scenario_event (event_id, message, random_value, created_at) VALUES (?, ?, ?, NOW(6))",
            [.string(event.eventId), .string(event.message), .int(Int64(event.randomValue))])
        if poisonRule.isPoison(randomValue: event.randomValue) {
            // Held at the server (SLEEP), so the connection is visibly busy in the pool and in
            // the processlist, as the seed's Thread.sleep inside @Transactional holds it.
            if poisonHold > .zero {
                let seconds = String(format: "%.3f", Double(poisonHold.milliseconds) / 1000)
                _ = try await connection.query("SELECT SLEEP(\(seconds))")
            }
            throw PoisonMessageError(randomValue: event.randomValue)
        }
        return .saved
    }
}

/// The seed's intentional failure (a RuntimeException there).
public struct PoisonMessageError: Error, Sendable, CustomStringConvertible {
    public let randomValue: Int

    public init(randomValue: Int) {
        self.randomValue = randomValue
    }

    public var description: String {
        "😢 앗앗앗, [\(randomValue)] (poison rule random-value-mod-10: randomValue % 10 == 0 fails on purpose)"
    }
}

import Foundation
import KafkaWire
import ServiceKit

/// The seed's burst endpoint (`POST /events/second-scenario`): one call publishes three
/// `SecondScenarioEvent`s, each with a fresh id and `randomValue` uniform in 0…100 (the
/// consumer fails the ones where `randomValue % 10 == 0`, about 10%).
struct SecondScenarioPublisher: Sendable {
    static let eventsPerCall = 3

    let publisher: EventPublisher
    let topic: String

    /// Publishes the three events and waits for all three acknowledgements; their ids.
    func publish(message: String) async throws(KafkaProducerError) -> [String] {
        let events = (0..<Self.eventsPerCall).map { _ in
            SecondScenarioEvent(eventId: UUID().uuidString.lowercased(), message: message, randomValue: Int.random(in: 0...100))
        }
        _ = try await publisher.publish(events.map { event in
            EventPublisher.record(
                topic: topic, key: event.eventId, eventID: event.eventId, type: SecondScenarioEvent.type,
                value: EventCoding.encode(event))
        })
        return events.map(\.eventId)
    }
}

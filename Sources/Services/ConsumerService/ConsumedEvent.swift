import KafkaWire
import ServiceKit

/// A record's value decoded for its handler. A record that cannot be decoded is a failure
/// like any other (retried, then dead-lettered): never silently dropped.
enum ConsumedEvent: Sendable {
    case account(AccountDeposited)
    case secondScenario(SecondScenarioEvent)

    init(_ record: ConsumerRecord, handler: ConsumerHandler) throws(ServiceError) {
        guard let value = record.value else {
            throw .invalidInput("record \(record.topicPartition)@\(record.offset) has no value")
        }
        switch handler {
        case .account: self = .account(try EventCoding.decode(AccountDeposited.self, from: value))
        case .secondScenario: self = .secondScenario(try EventCoding.decode(SecondScenarioEvent.self, from: value))
        }
    }

    var eventID: String {
        switch self {
        case let .account(event): event.eventId
        case let .secondScenario(event): event.eventId
        }
    }
}

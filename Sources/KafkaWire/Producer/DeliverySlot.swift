import Synchronization

/// One record's delivery report, for `KafkaProducer.send`: the sender's callback may fill it
/// before or after the caller starts waiting, so it holds whichever comes first (the report
/// or the waiting continuation) and the second completes the pair.
final class DeliverySlot: Sendable {
    typealias Report = Result<RecordMetadata, KafkaProducerError>

    private enum State {
        case empty
        case delivered(Report)
        case waiting(CheckedContinuation<Report, Never>)
        case done
    }

    private let state = Mutex(State.empty)

    /// The delivery callback's side: resumes the waiter if there is one, else keeps the report.
    func deliver(_ report: Report) {
        let waiter = state.withLock { state -> CheckedContinuation<Report, Never>? in
            switch state {
            case .empty:
                state = .delivered(report)
                return nil
            case let .waiting(continuation):
                state = .done
                return continuation
            case .delivered, .done:
                // A record is reported once; a second report would be a sender bug, and the
                // first one stands.
                return nil
            }
        }
        waiter?.resume(returning: report)
    }

    /// The caller's side: the report, at once if it came already.
    func report() async -> Report {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Report? in
                switch state {
                case .empty:
                    state = .waiting(continuation)
                    return nil
                case let .delivered(report):
                    state = .done
                    return report
                case .waiting, .done:
                    preconditionFailure("a delivery slot is awaited once")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

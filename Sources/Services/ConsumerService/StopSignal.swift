import Synchronization

/// Set once when the service is told to stop; checked between records and during backoff
/// waits, so the batch in hand ends at a record boundary.
final class StopSignal: Sendable {
    private let stopped = Atomic(false)

    func set() { stopped.store(true, ordering: .relaxed) }
    var isSet: Bool { stopped.load(ordering: .relaxed) }
}

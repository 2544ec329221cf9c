import KafkaWire
import Synchronization

/// Hands records to the producer one after another, in the order given, then waits for
/// every acknowledgement. (Sending them from concurrent tasks would let the tasks reach the
/// producer in any order; appended in order, the idempotent producer keeps each partition's
/// records in that order, retries included.)
struct OrderedPublisher: Sendable {
    let producer: KafkaProducer

    /// Waits for the outcomes of `count` records.
    final class Outcomes: Sendable {
        struct State {
            var results: [Result<RecordMetadata, KafkaProducerError>?]
            var remaining: Int
            var waiter: CheckedContinuation<Void, Never>?
        }

        let state: Mutex<State>

        init(count: Int) {
            state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        }

        func record(_ index: Int, _ result: Result<RecordMetadata, KafkaProducerError>) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.results[index] == nil else { return nil }
                state.results[index] = result
                state.remaining -= 1
                guard state.remaining == 0 else { return nil }
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func all() async -> [Result<RecordMetadata, KafkaProducerError>] {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Bool in
                    if state.remaining == 0 { return true }
                    state.waiter = continuation
                    return false
                }
                if done { continuation.resume() }
            }
            return state.withLock { $0.results.map { $0 ?? .failure(.fatal("no delivery outcome")) } }
        }
    }

    /// Produces `records` in order and waits until each is acknowledged (bounded by the
    /// producer's delivery timeout). Throws the first failure: then some records may have been
    /// written and others not, and the caller must treat the whole batch as not published.
    func publishAll(_ records: [ProducerRecord]) async throws(KafkaProducerError) -> [RecordMetadata] {
        let outcomes = Outcomes(count: records.count)
        for (index, record) in records.enumerated() {
            do throws(KafkaProducerError) {
                try await producer.produce(record) { outcomes.record(index, $0) }
            } catch {
                // Not appended: it has no outcome coming. Those already appended still get
                // theirs; wait for them so that nothing of this batch is in flight when the
                // caller rolls back and polls again.
                outcomes.record(index, .failure(error))
                for later in (index + 1)..<records.count { outcomes.record(later, .failure(error)) }
                _ = await outcomes.all()
                throw error
            }
        }
        var delivered: [RecordMetadata] = []
        for result in await outcomes.all() {
            switch result {
            case let .success(metadata): delivered.append(metadata)
            case let .failure(error): throw error
            }
        }
        return delivered
    }
}

import Synchronization

/// Collapses concurrent loads of the same key into one: the first caller for a key (the
/// leader) runs its load; callers that arrive while it runs wait for it and receive the same
/// value, or the same error. Once the load completes the key is forgotten, so the next call
/// loads again — this deduplicates concurrent work, it is not a cache.
///
/// The load runs in the leader's own task (no unstructured task), so it inherits the
/// leader's priority, task-locals and cancellation: if the leader is cancelled and its load
/// throws, every waiter receives that error. A waiter that is cancelled keeps waiting for
/// the leader (its wait is bounded by the leader's load, which has its own deadlines).
public final class Singleflight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private enum Join: Sendable {
        case lead
        case shared(Result<Value, any Error>)
    }

    /// The waiters of each key being loaded; an entry exists exactly while its load runs.
    private let flights = Mutex<[Key: [CheckedContinuation<Join, Never>]]>([:])

    public init() {}

    /// Runs `load` for `key`, or waits for the load already running for it. `shared` is true
    /// for a caller that received another caller's result.
    public func run(_ key: Key, _ load: @Sendable () async throws -> Value) async throws -> (value: Value, shared: Bool) {
        // Deciding to lead and registering as a waiter happen under one lock, so no caller can
        // miss a result published between the two.
        let join = await withCheckedContinuation { (continuation: CheckedContinuation<Join, Never>) in
            let leads = flights.withLock { flights -> Bool in
                if flights[key] != nil {
                    flights[key]!.append(continuation)
                    return false
                }
                flights[key] = []
                return true
            }
            if leads { continuation.resume(returning: .lead) }
        }
        switch join {
        case let .shared(result):
            return (try result.get(), true)
        case .lead:
            let result: Result<Value, any Error>
            do {
                result = .success(try await load())
            } catch {
                result = .failure(error)
            }
            let waiters = flights.withLock { $0.removeValue(forKey: key) ?? [] }
            for waiter in waiters { waiter.resume(returning: .shared(result)) }
            return (try result.get(), false)
        }
    }

    /// Keys whose load is running now.
    public var inFlight: Int { flights.withLock { $0.count } }

    /// Callers waiting for the load of `key` that is running now (0 when none runs).
    public func waiters(for key: Key) -> Int { flights.withLock { $0[key]?.count ?? 0 } }
}

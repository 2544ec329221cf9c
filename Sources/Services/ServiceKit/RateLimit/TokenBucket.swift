import Synchronization

/// A token bucket: on average `ratePerSecond` acquisitions a second, with up to `burst`
/// taken at once after a quiet spell. Callers reserve a token under a lock and then sleep
/// off any debt outside it, so concurrent callers are served in the order they asked and
/// none of them holds the lock while waiting. Used where the lab throttles on purpose
/// (a replay, a backfill, a load driver).
public final class TokenBucket: Sendable {
    public let ratePerSecond: Double
    public let burst: Double

    struct State {
        /// May go negative: the debt that reserved tokens owe to the future.
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    public init(ratePerSecond: Double, burst: Double = 1) {
        precondition(ratePerSecond > 0, "a token bucket needs a positive rate")
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
        state = Mutex(State(tokens: max(1, burst), refilledAt: .now))
    }

    /// Takes one token, waiting as long as the rate requires. Throws only when the task is
    /// cancelled while waiting (the token stays spent).
    public func acquire() async throws {
        let wait = reserve(now: .now)
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// Takes one token at `now` and returns how long the caller must wait before using it.
    func reserve(now: ContinuousClock.Instant) -> Duration {
        state.withLock { state in
            let elapsed = now - state.refilledAt
            if elapsed > .zero {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.tokens = min(burst, state.tokens + seconds * ratePerSecond)
                state.refilledAt = now
            }
            state.tokens -= 1
            return state.tokens >= 0 ? .zero : .seconds(-state.tokens / ratePerSecond)
        }
    }
}

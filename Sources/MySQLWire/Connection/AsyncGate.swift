import DequeModule
import Synchronization

/// A FIFO async mutex: MySQL runs one command at a time per connection, so callers queue
/// here instead of interleaving packets.
final class AsyncGate: Sendable {
    private struct State: ~Copyable {
        var locked = false
        var waiters = Deque<UnsafeContinuation<Void, Never>>()
    }

    private let state = Mutex(State())

    func acquire() async {
        // Uncontended (the usual case): take the gate without suspending. A continuation
        // resumed at once still suspends the task and re-enqueues it on its executor: one
        // extra executor hop per command.
        if tryAcquire() { return }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    /// Takes the gate only if it is free right now.
    func tryAcquire() -> Bool {
        state.withLock { state -> Bool in
            if state.locked { return false }
            state.locked = true
            return true
        }
    }

    func release() {
        let next = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            if let next = state.waiters.popFirst() { return next }
            state.locked = false
            return nil
        }
        next?.resume()
    }
}

import Synchronization

/// A single-waiter wakeup for a background loop (a producer's sender, a consumer's fetcher):
/// `signal()` from any thread ends the current or next `wait`, and a wait also ends at its
/// deadline. Signals do not count: several before a wait end only that one wait.
public final class AsyncWakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: UnsafeContinuation<Void, Never>?
        var timer: UInt64?
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Where the deadlines fire; a waiting loop's task may prefer it too.
    public let eventLoop: EventLoop

    public init(eventLoop: EventLoop = EventLoopGroup.shared.next()) {
        self.eventLoop = eventLoop
    }

    public func signal() {
        let (waiter, timer) = state.withLock { state -> (UnsafeContinuation<Void, Never>?, UInt64?) in
            guard let waiter = state.waiter else {
                state.signalled = true
                return (nil, nil)
            }
            state.waiter = nil
            defer { state.timer = nil }
            return (waiter, state.timer)
        }
        if let timer { eventLoop.cancelTimer(timer) }
        waiter?.resume()
    }

    /// Returns when signalled (at once if a signal came since the last wait) or at
    /// `deadline` (nil: no deadline). One waiter at a time.
    public func wait(until deadline: NanoTime?) async {
        if let deadline, deadline <= NanoTime.now() { return }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let (resumeNow, generation) = state.withLock { state -> (Bool, UInt64) in
                if state.signalled {
                    state.signalled = false
                    return (true, 0)
                }
                precondition(state.waiter == nil, "AsyncWakeup has one waiter at a time")
                state.waiter = continuation
                state.generation &+= 1
                return (false, state.generation)
            }
            if resumeNow {
                continuation.resume()
                return
            }
            guard let deadline else { return }
            let id = eventLoop.scheduleTimer(at: deadline) { [self] in self.expire(generation) }
            // The signal may already have come and gone; then the timer is cancelled here.
            let stillWaiting = state.withLock { state -> Bool in
                guard state.waiter != nil, state.generation == generation else { return false }
                state.timer = id
                return true
            }
            if !stillWaiting { eventLoop.cancelTimer(id) }
        }
    }

    private func expire(_ generation: UInt64) {
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.timer = nil
            return waiter
        }
        waiter?.resume()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import CWireSystem

/// Something registered with an event loop that wants readiness notifications for its file
/// descriptor. Called on the loop's thread only.
protocol EventLoopSelectable: AnyObject {
    func handleReadiness(readable: Bool, writable: Bool, hangup: Bool)
    /// Called at the end of a loop iteration for selectables that asked for a deferred flush.
    func flushDeferredWrites()
}

/// One thread running epoll: it owns sockets' readiness, timers, and a queue of work that
/// other threads submit. It is also a `TaskExecutor`, so tasks can run on the loop thread
/// itself (`withTaskExecutorPreference`) and exchange bytes with their sockets without a
/// thread hop.
///
/// Sockets are registered edge-triggered for both directions once, so steady-state I/O needs
/// no `epoll_ctl` calls; work submitted from other threads wakes the loop through an eventfd
/// only when it is asleep.
public final class EventLoop: @unchecked Sendable, TaskExecutor {
    enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    struct Shared {
        var work: [Work] = []
        var timers = TimerQueue()
        var sleeping = false
        var wakePending = false
        var shuttingDown = false
    }

    public let name: String
    private let shared = Mutex(Shared())
    private let epollFD: Int32
    private let wakeFD: Int32
    private let threadID = Atomic<UInt>(0)

    // Loop-thread-only state. Confined to one thread, so exclusive by construction: the
    // dynamic exclusivity check (a thread-local lookup per access, several per loop turn)
    // is switched off for it.
    @exclusivity(unchecked) private var selectables: [EventLoopSelectable?] = []
    @exclusivity(unchecked) private var deferredFlushes: [EventLoopSelectable] = []
    @exclusivity(unchecked) private var workInFlight: [Work] = []

    public init(name: String = "lab-loop") {
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: errno \(errno)")
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(wakeFD >= 0, "eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        precondition(epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0)
        startThread()
    }

    private func startThread() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
        // Wait until the thread has published its id so `inEventLoop` is valid immediately.
        while threadID.load(ordering: .acquiring) == 0 { sched_yield() }
    }

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    // MARK: Submitting work

    /// Runs `body` on the loop thread, soon.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        submit(.closure(body))
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    private func submit(_ work: Work) {
        // The loop's own thread never needs waking: it looks at the queue before it sleeps.
        // (`sleeping` stays set while the loop handles the I/O that woke it, see `run`.)
        let onLoop = inEventLoop
        let mustWake = shared.withLock { state -> Bool in
            state.work.append(work)
            if state.sleeping && !state.wakePending && !onLoop {
                state.wakePending = true
                return true
            }
            return false
        }
        if mustWake { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: Timers

    /// Schedules `callback` on the loop thread at `deadline`; returns an id for `cancelTimer`.
    @discardableResult
    public func scheduleTimer(at deadline: NanoTime, _ callback: @escaping @Sendable () -> Void) -> UInt64 {
        let onLoop = inEventLoop
        let (id, mustWake) = shared.withLock { state -> (UInt64, Bool) in
            let earliest = state.timers.nextDeadline()
            let id = state.timers.schedule(at: deadline, callback)
            let becomesEarliest = earliest.map { deadline < $0 } ?? true
            if becomesEarliest && state.sleeping && !state.wakePending && !onLoop {
                state.wakePending = true
                return (id, true)
            }
            return (id, false)
        }
        if mustWake { wake() }
        return id
    }

    public func cancelTimer(_ id: UInt64) {
        shared.withLock { $0.timers.cancel(id) }
    }

    // MARK: Registration (loop thread only)

    func register(fd: Int32, _ selectable: EventLoopSelectable) throws(WireError) {
        precondition(inEventLoop)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.fd = fd
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 {
            throw WireError.io(operation: "epoll_ctl(ADD)", errno: errno)
        }
        let index = Int(fd)
        if index >= selectables.count {
            selectables.append(contentsOf: repeatElement(nil, count: index - selectables.count + 1))
        }
        selectables[index] = selectable
    }

    /// Forgets `fd`'s selectable and closes `fd`. Closing the last descriptor of a socket
    /// removes it from the epoll set, so there is no EPOLL_CTL_DEL (one syscall fewer per
    /// connection; our sockets are never dup'ed and are close-on-exec). A reference a forked
    /// child briefly holds may keep the registration a moment longer: its events name a
    /// number with no selectable, or one reused by a new socket that then sees a spurious
    /// readiness and reads EAGAIN, which every selectable tolerates.
    func closeRegistered(fd: Int32) {
        precondition(inEventLoop)
        let index = Int(fd)
        if index < selectables.count { selectables[index] = nil }
        Glibc.close(fd)
    }

    /// Asks for `flushDeferredWrites` at the end of the current iteration, so writes issued
    /// by tasks running on the loop coalesce into one syscall.
    func deferFlush(_ selectable: EventLoopSelectable) {
        deferredFlushes.append(selectable)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        // Otherwise the thread shows up in top, perf and backtraces under the name of the
        // thread that created it (often a dispatch worker's).
        _ = cws_set_current_thread_name(Self.threadName(name))
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }

        while true {
            // Decide how long to sleep: not at all if work is queued, until the next timer otherwise.
            let (timeout, stop) = shared.withLock { state -> (Int32, Bool) in
                if state.shuttingDown && state.work.isEmpty { return (0, true) }
                if !state.work.isEmpty { return (0, false) }
                state.sleeping = true
                guard let next = state.timers.nextDeadline() else { return (-1, false) }
                let now = NanoTime.now()
                if next <= now { state.sleeping = false; return (0, false) }
                let millis = (next.nanoseconds - now.nanoseconds + 999_999) / 1_000_000
                return (Int32(min(millis, 60_000)), false)
            }
            if stop { break }

            let count = epoll_wait(epollFD, events, Int32(maxEvents), timeout)
            // `sleeping` is cleared under the next acquisition of the lock, after the I/O,
            // not in one of its own: a lock round trip fewer between a reply's arrival and
            // the request its task sends next. Meanwhile other threads may wake the loop
            // needlessly (one eventfd read); its own thread never does (`submit`).

            if count > 0 {
                for i in 0..<Int(count) {
                    let event = events[i]
                    let fd = event.data.fd
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                        shared.withLock { $0.wakePending = false }
                        continue
                    }
                    let index = Int(fd)
                    guard index < selectables.count, let selectable = selectables[index] else { continue }
                    let flags = event.events
                    selectable.handleReadiness(
                        readable: flags & (EPOLLIN.rawValue | EPOLLPRI.rawValue) != 0,
                        writable: flags & EPOLLOUT.rawValue != 0,
                        hangup: flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0
                    )
                }
            }

            // Expired timers, and the work queued so far, taken under one lock (the clock is
            // read only when timers exist). Work queued from here on runs on the next turn,
            // after I/O.
            let expired = shared.withLock { state -> [@Sendable () -> Void] in
                state.sleeping = false
                swap(&state.work, &workInFlight)
                if state.timers.isEmpty { return [] }
                return state.timers.popExpired(now: NanoTime.now())
            }
            for callback in expired { callback() }
            for work in workInFlight {
                switch work {
                case let .closure(body): body()
                case let .job(job): job.runSynchronously(on: asUnownedTaskExecutor())
                }
            }
            workInFlight.removeAll(keepingCapacity: true)

            if !deferredFlushes.isEmpty {
                let flushes = deferredFlushes
                deferredFlushes.removeAll(keepingCapacity: true)
                for selectable in flushes { selectable.flushDeferredWrites() }
            }
        }
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
    }

    /// The kernel keeps 15 bytes of a thread's name: long names keep their head and their
    /// tail (the loop's number in a group), joined by "~".
    static func threadName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > 15 else { return name }
        let tail = bytes.suffix(6)
        let head = bytes.prefix(8)
        return String(decoding: head + Array("~".utf8) + tail, as: UTF8.self)
    }

    /// Stops the loop after the queued work has run. Registered channels should be closed first.
    public func shutdown() {
        shared.withLock { $0.shuttingDown = true }
        wake()
    }
}

/// A fixed set of event loops; connections are spread over them round-robin.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let counter = Atomic<Int>(0)

    public init(loopCount: Int, name: String = "lab-loop") {
        precondition(loopCount > 0)
        loops = (0..<loopCount).map { EventLoop(name: "\(name)-\($0)") }
    }

    public func next() -> EventLoop {
        let index = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[index % loops.count]
    }

    /// The process-wide group: one loop per core, at most the count given by `LAB_EVENT_LOOPS`.
    public static let shared: EventLoopGroup = {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var count = max(1, cores)
        if let raw = getenv("LAB_EVENT_LOOPS"), let configured = Int(String(cString: raw)), configured > 0 {
            count = configured
        }
        return EventLoopGroup(loopCount: count)
    }()
}

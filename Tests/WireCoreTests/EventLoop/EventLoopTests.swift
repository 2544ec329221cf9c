#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import Testing
import WireCore

/// Each test owns its loop and shuts it down, so tests running in parallel do not share one.
@Suite struct EventLoopTests {
    /// Runs `body` with a fresh loop that is shut down afterwards.
    func withLoop<T>(_ body: (EventLoop) async throws -> T) async rethrows -> T {
        let loop = EventLoop(name: "event-loop-test")
        defer { loop.shutdown() }
        return try await body(loop)
    }

    @Test func executeRunsOnTheLoopThread() async {
        await withLoop { loop in
            #expect(!loop.inEventLoop, "the test's own thread is not the loop")
            let onLoop = await withCheckedContinuation { continuation in
                loop.execute { continuation.resume(returning: loop.inEventLoop) }
            }
            #expect(onLoop)
        }
    }

    @Test func executeRunsWorkInSubmissionOrder() async {
        await withLoop { loop in
            let order = Mutex<[Int]>([])
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                for index in 0..<1000 {
                    loop.execute { order.withLock { $0.append(index) } }
                }
                loop.execute { continuation.resume() }
            }
            #expect(order.withLock { $0 } == Array(0..<1000))
        }
    }

    /// Work submitted while the loop sleeps in epoll_wait with no timer must wake it.
    @Test func executeWakesAnIdleLoop() async {
        await withLoop { loop in
            try? await Task.sleep(for: .milliseconds(50))  // let it fall asleep
            let start = ContinuousClock.now
            await withCheckedContinuation { continuation in loop.execute { continuation.resume() } }
            #expect(ContinuousClock.now - start < .seconds(1))
        }
    }

    @Test func timersFireInDeadlineOrderAndNotBeforeTheirDeadline() async {
        await withLoop { loop in
            let fired = Mutex<[(index: Int, onTime: Bool)]>([])
            let base = NanoTime.now() + .milliseconds(20)
            let offsets = [50, 10, 40, 0, 30, 20, 70, 60]  // milliseconds, scheduled out of order
            for (index, offset) in offsets.enumerated() {
                let deadline = base + .milliseconds(offset)
                loop.scheduleTimer(at: deadline) {
                    let onTime = NanoTime.now() >= deadline && loop.inEventLoop
                    fired.withLock { $0.append((index, onTime: onTime)) }
                }
            }
            #expect(await eventually(timeout: .seconds(5)) { fired.withLock { $0.count } == offsets.count })
            let record = fired.withLock { $0 }
            #expect(record.map { offsets[$0.index] } == offsets.sorted())
            let early = record.filter { !$0.onTime }.map(\.index)
            #expect(early.isEmpty, "timers \(early) fired before their deadline or off the loop")
        }
    }

    /// Timers that all expire during one busy turn still run in deadline order (the heap).
    @Test func timersExpiringTogetherRunInDeadlineOrder() async {
        await withLoop { loop in
            let fired = Mutex<[UInt64]>([])
            let started = Atomic<Bool>(false)
            loop.execute {
                started.store(true, ordering: .releasing)
                usleep(150_000)  // keep the loop busy while the timers expire
            }
            while !started.load(ordering: .acquiring) { sched_yield() }
            let base = NanoTime.now()
            var offsets = Array(1...200).map { UInt64($0) * 100_000 }  // 0.1 ms apart
            offsets.shuffle()
            for offset in offsets {
                loop.scheduleTimer(at: NanoTime(nanoseconds: base.nanoseconds + offset)) {
                    fired.withLock { $0.append(offset) }
                }
            }
            #expect(await eventually(timeout: .seconds(5)) { fired.withLock { $0.count } == offsets.count })
            #expect(fired.withLock { $0 } == offsets.sorted())
        }
    }

    @Test func cancelledTimersDoNotFire() async {
        await withLoop { loop in
            let fired = Mutex<Set<Int>>([])
            let start = NanoTime.now()
            var ids: [Int: UInt64] = [:]
            for index in 0..<40 {
                ids[index] = loop.scheduleTimer(at: start + .milliseconds(20 + index)) {
                    fired.withLock { _ = $0.insert(index) }
                }
            }
            let cancelled = Set((0..<40).filter { $0 % 3 == 0 })
            for index in cancelled { loop.cancelTimer(ids[index]!) }
            // A sentinel after every other deadline: once it fires, all the others had their turn.
            let sentinel = Atomic<Bool>(false)
            loop.scheduleTimer(at: start + .milliseconds(120)) { sentinel.store(true, ordering: .releasing) }
            #expect(await eventually(timeout: .seconds(5)) { sentinel.load(ordering: .acquiring) })
            #expect(fired.withLock { $0 } == Set(0..<40).subtracting(cancelled))
        }
    }

    /// Timer IDs outlive their timers (a connection cancels its timer after it fired or was
    /// cancelled once already) while the queue reuses their storage: an old ID must never
    /// cancel the timer scheduled after it.
    @Test func anOldTimerIDCancelsNothingScheduledLater() async {
        await withLoop { loop in
            let start = NanoTime.now()
            let cancelled = loop.scheduleTimer(at: start + .seconds(30)) {}
            loop.cancelTimer(cancelled)
            let firedEarly = Atomic<Bool>(false)
            let early = loop.scheduleTimer(at: start) { firedEarly.store(true, ordering: .releasing) }
            #expect(await eventually(timeout: .seconds(5)) { firedEarly.load(ordering: .acquiring) })
            let fired = Mutex<[Int]>([])
            for index in 0..<3 {
                loop.scheduleTimer(at: start + .milliseconds(20 + index)) { fired.withLock { $0.append(index) } }
            }
            loop.cancelTimer(cancelled)
            loop.cancelTimer(early)
            loop.cancelTimer(cancelled)
            #expect(await eventually(timeout: .seconds(5)) { fired.withLock { $0.count } == 3 })
            #expect(fired.withLock { $0 } == [0, 1, 2])
        }
    }

    /// A loop sleeping until a far timer must wake for an earlier one scheduled later.
    @Test func anEarlierTimerWakesALoopSleepingOnALaterOne() async {
        await withLoop { loop in
            let far = loop.scheduleTimer(at: NanoTime.now() + .seconds(30)) {}
            try? await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            await withCheckedContinuation { continuation in
                loop.scheduleTimer(at: NanoTime.now() + .milliseconds(20)) { continuation.resume() }
            }
            #expect(ContinuousClock.now - start < .seconds(2))
            loop.cancelTimer(far)
        }
    }

    @Test func aTimerInThePastFiresAtOnce() async {
        await withLoop { loop in
            let start = ContinuousClock.now
            await withCheckedContinuation { continuation in
                loop.scheduleTimer(at: NanoTime(nanoseconds: 1)) { continuation.resume() }
            }
            // The failure this guards against is a timer left until the loop's longest sleep
            // (60 s); a loaded test machine can take a second to schedule the loop thread.
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test func aTaskPreferringTheLoopRunsOnTheLoopThread() async throws {
        try await withLoop { loop in
            let (before, afterSleep, inChild) = try await withTaskExecutorPreference(loop) {
                let before = loop.inEventLoop
                try await Task.sleep(for: .milliseconds(10))
                let afterSleep = loop.inEventLoop
                // Child tasks inherit the preference.
                async let child = loop.inEventLoop
                let inChild = await child
                return (before, afterSleep, inChild)
            }
            #expect(before)
            #expect(afterSleep, "resumed off the loop after a suspension")
            #expect(inChild)
            #expect(!loop.inEventLoop)
        }
    }

    /// The name the kernel reports for the calling thread (what top, perf and ps show).
    static func currentThreadName() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        return String(decoding: buffer.prefix(max(0, count)).filter { $0 != 0x0a }, as: UTF8.self)
    }

    @Test func theLoopThreadCarriesTheLoopsName() async {
        let group = EventLoopGroup(loopCount: 2, name: "group-test")
        let long = EventLoop(name: "a-rather-long-loop-name-7")
        defer {
            group.loops.forEach { $0.shutdown() }
            long.shutdown()
        }
        for (loop, expected) in [(group.loops[0], "group-test-0"), (group.loops[1], "group-test-1")] {
            let name = await withCheckedContinuation { continuation in
                loop.execute { continuation.resume(returning: Self.currentThreadName()) }
            }
            #expect(name == expected)
        }
        // The kernel keeps 15 bytes: the head and the loop's number survive.
        let shortened = await withCheckedContinuation { continuation in
            long.execute { continuation.resume(returning: Self.currentThreadName()) }
        }
        #expect(shortened.utf8.count == 15, "\(shortened)")
        #expect(shortened.hasPrefix("a-rather") && shortened.hasSuffix("name-7"), "\(shortened)")
    }

    @Test func aGroupHandsOutItsLoopsRoundRobin() {
        let group = EventLoopGroup(loopCount: 3, name: "group-test")
        defer { group.loops.forEach { $0.shutdown() } }
        let picked = (0..<6).map { _ in ObjectIdentifier(group.next()) }
        #expect(Set(picked).count == 3)
        #expect(Array(picked[0..<3]) == Array(picked[3..<6]))
    }
}

import Foundation

/// Keeps every thread of Swift's cooperative pool blocked for a while: what an application's
/// own synchronous work does to the pool, used to show that what must not wait for it
/// (heartbeats, a producer's sender, timeouts) does not.
public enum CooperativePoolBlocker {
    /// Blocks the pool would stall every other suite of a parallel run, so the tests that do
    /// it run only in serial runs (`scripts/test` runs `swift test --no-parallel` with
    /// `LAB_TESTS_SERIAL=1`) and are skipped, saying so, otherwise.
    public static let isSerialRun = ProcessInfo.processInfo.environment["LAB_TESTS_SERIAL"] == "1"
    public static let serialRunOnlyReason =
        "blocks the whole cooperative pool for seconds: runs only in serial runs (scripts/test sets LAB_TESTS_SERIAL=1)"

    /// Returns at `deadline`, having kept every cooperative thread sleeping (blocking) until
    /// then: twice as many tasks as threads, the ones that start late finding the time up.
    public static func block(until deadline: ContinuousClock.Instant) async {
        let width = ProcessInfo.processInfo.activeProcessorCount
        await withTaskGroup(of: Void.self) { blockers in
            for _ in 0..<(2 * width) {
                blockers.addTask {
                    let remaining = deadline - ContinuousClock.now
                    if remaining > .zero { usleep(UInt32(remaining / .microseconds(1))) }
                }
            }
        }
    }
}

@testable import ServiceKit
import Testing

@Suite("TokenBucketTests")
struct TokenBucketTests {
    @Test("reservations are spaced 1/rate apart once the burst is spent")
    func spacing() {
        let bucket = TokenBucket(ratePerSecond: 10, burst: 1)
        let now = ContinuousClock.now
        let waits = (0..<11).map { _ in bucket.reserve(now: now) }
        #expect(waits[0] == .zero)
        for (index, wait) in waits.enumerated().dropFirst() {
            let expected = Duration.milliseconds(100 * index)
            #expect(abs((wait - expected) / .milliseconds(1)) < 1, "wait \(index): \(wait)")
        }
        // After a quiet second the bucket has refilled only up to its burst.
        #expect(bucket.reserve(now: now + .seconds(3)) == .zero)
        #expect(bucket.reserve(now: now + .seconds(3)) > .milliseconds(50))
    }

    @Test("acquire lets about `rate` through per second")
    func rate() async throws {
        let bucket = TokenBucket(ratePerSecond: 50)
        let start = ContinuousClock.now
        var acquired = 0
        while ContinuousClock.now - start < .seconds(1) {
            try await bucket.acquire()
            acquired += 1
        }
        // Generous: scheduling on a loaded 2-core machine only ever slows it down.
        #expect((20...60).contains(acquired), "acquired \(acquired) in one second at 50/s")
    }
}

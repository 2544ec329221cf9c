import QueryService
import ServiceKit
import Testing

@Suite("QueryService account ids")
struct QueryServiceAccountIDTests {
    @Test("1–64 characters of [A-Za-z0-9_-] are valid", arguments: ["a", "acc-1_B9", String(repeating: "x", count: 64)])
    func valid(_ text: String) throws {
        #expect(try AccountID(validating: text).value == text)
    }

    @Test("empty, too long or other characters are rejected with a reason",
          arguments: [("", "empty"), (String(repeating: "y", count: 65), "65 characters"), ("a b", "found"),
                      ("é", "found"), ("a/b", "found"), ("a{b}", "found")])
    func invalid(_ text: String, _ reason: String) {
        #expect {
            _ = try AccountID(validating: text)
        } throws: { error in
            guard case let .invalidInput(why) = error as? ServiceError else { return false }
            return why.contains(reason)
        }
    }
}

@Suite("QueryService TTL jitter")
struct QueryServiceTTLTests {
    @Test("the TTL is spread uniformly within ± jitter and never below 1 ms")
    func jitterStaysInBounds() {
        let samples = (0..<2000).map { _ in AccountReadCache.jitteredMilliseconds(.seconds(10), jitter: 0.1) }
        #expect(samples.allSatisfy { (9000...11000).contains($0) }, "\(samples.min()!)…\(samples.max()!)")
        // Spread over the whole band, not a constant: both tails are reached.
        #expect(samples.contains { $0 < 9400 } && samples.contains { $0 > 10600 })
        #expect(AccountReadCache.jitteredMilliseconds(.seconds(60), jitter: 0) == 60000)
        #expect(AccountReadCache.jitteredMilliseconds(.zero, jitter: 0.5) == 1)
    }
}

import QueryService
import Synchronization
import Testing

@Suite("Singleflight")
struct SingleflightTests {
    struct Boom: Error, Equatable {
        let id: Int
    }

    /// Loads counted across the concurrent callers.
    final class Loads: Sendable {
        private let count = Atomic<Int>(0)
        /// Counts one load; returns how many there were so far.
        @discardableResult func add() -> Int { count.add(1, ordering: .relaxed).newValue }
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// Waits (bounded) until `count` callers wait for `key`'s running load.
    static func waitForWaiters<Key, Value>(_ flights: Singleflight<Key, Value>, key: Key, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while flights.waiters(for: key) < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("only \(flights.waiters(for: key)) of \(count) callers joined within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    @Test("N concurrent calls for one key run one load and all receive its value")
    func concurrentCallsShareOneLoad() async throws {
        let flights = Singleflight<String, Int>()
        let loads = Loads()
        let callers = 50
        let results = try await withThrowingTaskGroup(of: (value: Int, shared: Bool).self) { group in
            for _ in 0..<callers {
                group.addTask {
                    try await flights.run("hot") {
                        loads.add()
                        // Hold the load until every other caller has joined it.
                        try await Self.waitForWaiters(flights, key: "hot", count: callers - 1)
                        return 42
                    }
                }
            }
            var collected: [(value: Int, shared: Bool)] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(loads.value == 1)
        #expect(results.count == callers)
        #expect(results.allSatisfy { $0.value == 42 })
        #expect(results.filter { !$0.shared }.count == 1, "exactly one caller led the load")
        #expect(results.filter(\.shared).count == callers - 1)
        #expect(flights.inFlight == 0, "the key is forgotten once the load completed")
    }

    @Test("an error of the load reaches every waiter")
    func errorReachesAllWaiters() async throws {
        let flights = Singleflight<String, Int>()
        let loads = Loads()
        let callers = 10
        let outcomes = await withTaskGroup(of: Result<Int, Boom>.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    do {
                        return .success(try await flights.run("failing") {
                            let n = loads.add()
                            try await Self.waitForWaiters(flights, key: "failing", count: callers - 1)
                            throw Boom(id: n)
                        }.value)
                    } catch let error as Boom {
                        return .failure(error)
                    } catch {
                        Issue.record("unexpected error \(error)")
                        return .failure(Boom(id: -1))
                    }
                }
            }
            var collected: [Result<Int, Boom>] = []
            for await outcome in group { collected.append(outcome) }
            return collected
        }
        #expect(loads.value == 1)
        #expect(outcomes.count == callers)
        #expect(outcomes.allSatisfy { $0 == .failure(Boom(id: 1)) }, "\(outcomes)")
        #expect(flights.inFlight == 0)
    }

    @Test("a call after the load completed loads again; different keys do not share")
    func laterCallLoadsAgain() async throws {
        let flights = Singleflight<String, Int>()
        let loads = Loads()
        let first = try await flights.run("k") { loads.add() }
        let second = try await flights.run("k") { loads.add() }
        #expect(first.value == 1 && !first.shared)
        #expect(second.value == 2 && !second.shared)

        // Two keys at once: each leads its own load.
        async let a = flights.run("a") {
            try await Task.sleep(for: .milliseconds(50))
            return loads.add()
        }
        async let b = flights.run("b") {
            try await Task.sleep(for: .milliseconds(50))
            return loads.add()
        }
        let (ra, rb) = try await (a, b)
        #expect(!ra.shared && !rb.shared)
        #expect(Set([ra.value, rb.value]) == [3, 4])
        #expect(loads.value == 4)
    }

    @Test("after a failed load the next call loads again")
    func failureIsNotRemembered() async throws {
        let flights = Singleflight<Int, String>()
        await #expect(throws: Boom.self) {
            _ = try await flights.run(7) { throw Boom(id: 7) }
        }
        let next = try await flights.run(7) { "recovered" }
        #expect(next.value == "recovered" && !next.shared)
    }
}

import ConsumerService
import KafkaWire
import ServiceKit
import Testing

@Suite("RetryRoutingTests")
struct RetryRoutingTests {
    struct Boom: Error, CustomStringConvertible {
        var description: String { "boom 40" }
    }

    static let topology = RetryTopology(topic: "orders", tiers: [.seconds(1), .seconds(2), .seconds(10)])

    /// The record a listener of `routed.topic` would read back.
    static func consumed(_ routed: ProducerRecord, partition: Int32, offset: Int64, timestamp: Int64) -> ConsumerRecord {
        ConsumerRecord(topic: routed.topic, partition: partition, offset: offset, timestamp: timestamp,
                       key: routed.key, value: routed.value, headers: routed.headers)
    }

    @Test("attempts 1…4: tier topics with their delays, then the DLT; the first failure's origin is kept")
    func fourAttempts() throws {
        var record = ConsumerRecord(topic: "orders", partition: 2, offset: 7, timestamp: 1_000, key: Array("k".utf8),
                                    value: Array("v".utf8), headers: [RecordHeader(key: EventHeaders.id, value: Array("e-1".utf8))])
        let expected: [(topic: String, delay: Duration?)] = [
            ("orders-retry-1", .seconds(1)), ("orders-retry-2", .seconds(2)), ("orders-retry-3", .seconds(10)), ("orders-dlt", nil),
        ]
        for (index, hop) in expected.enumerated() {
            let attempt = index + 1
            let now: Int64 = 50_000 + Int64(attempt) * 1_000
            let routed = RetryRouting.route(record, error: Boom(), topology: Self.topology, now: now)
            #expect(routed.record.topic == hop.topic)
            #expect(routed.attempts == attempt)
            #expect(routed.delay == hop.delay)
            #expect(routed.tier == (hop.delay == nil ? nil : attempt))
            #expect(routed.isDeadLetter == (attempt == 4))
            #expect(routed.record.key == Array("k".utf8) && routed.record.value == Array("v".utf8))
            let next = Self.consumed(routed.record, partition: 0, offset: Int64(100 + attempt), timestamp: now)
            #expect(next.headerString(EventHeaders.attempts) == "\(attempt)")
            #expect(next.headerString(EventHeaders.originalTopic) == "orders")
            #expect(next.headerString(EventHeaders.originalPartition) == "2")
            #expect(next.headerString(EventHeaders.originalOffset) == "7")
            #expect(next.headerString(EventHeaders.originalTimestamp) == "1000")
            #expect(next.headerString(EventHeaders.exceptionMessage) == "boom 40")
            #expect(next.headerString(EventHeaders.exceptionClass)?.hasSuffix("Boom") == true)
            #expect(next.headerString(EventHeaders.id) == "e-1")
            if let delay = hop.delay {
                #expect(next.headerString(EventHeaders.backoffTimestamp) == "\(now + delay.milliseconds)")
            } else {
                #expect(next.headerString(EventHeaders.backoffTimestamp) == nil)
            }
            // One copy of each header, however many hops.
            let keys = routed.record.headers.map(\.key)
            #expect(keys.count == Set(keys).count, "duplicated headers: \(keys)")
            record = next
        }
    }

    @Test("no retry tiers: the first failure goes to the DLT")
    func noTiers() {
        let record = ConsumerRecord(topic: "orders", partition: 1, offset: 3, timestamp: 5, key: nil, value: nil)
        let routed = RetryRouting.route(record, error: Boom(), topology: RetryTopology(topic: "orders", tiers: []), now: 10)
        #expect(routed.record.topic == "orders-dlt")
        #expect(routed.isDeadLetter)
        #expect(routed.attempts == 1)
    }

    @Test("retry tiers parse from milliseconds or none")
    func parseTiers() throws {
        #expect(try ConsumerService.Options.parseRetryTiers("1000,2000,10000") == [.seconds(1), .seconds(2), .seconds(10)])
        #expect(try ConsumerService.Options.parseRetryTiers("none").isEmpty)
        #expect(throws: ServiceError.self) { try ConsumerService.Options.parseRetryTiers("1000,-5") }
        #expect(throws: ServiceError.self) { try ConsumerService.Options.parseRetryTiers("fast") }
    }
}

import ConsumerService
import KafkaWire
import Testing

@Suite("ConsumerLanesTests")
struct ConsumerLanesTests {
    /// 300 records of 37 keys over 6 partitions, offsets increasing per partition.
    static func batch(keys: Int = 37, count: Int = 300) -> [ConsumerRecord] {
        var next = [Int32: Int64]()
        return (0..<count).map { index in
            let key = "key-\((index * 7919) % keys)"
            let partition = Int32(abs(key.hashValue) % 6)
            defer { next[partition, default: 0] += 1 }
            return ConsumerRecord(topic: "t", partition: partition, offset: next[partition, default: 0], timestamp: 0,
                                  key: Array(key.utf8), value: Array("\(index)".utf8))
        }
    }

    @Test("every record lands in exactly one group")
    func partitionsTheBatch() {
        let records = Self.batch()
        let groups = ConsumerLanes.keyGroups(records)
        #expect(groups.allSatisfy { !$0.isEmpty })
        #expect(groups.reduce(0) { $0 + $1.count } == records.count)
        #expect(Set(groups.flatMap { $0.map(\.position) }) == Set(records.map(\.position)))
    }

    @Test("one group per key, holding that key's records in batch order")
    func keepsPerKeyOrder() {
        let records = Self.batch()
        let groups = ConsumerLanes.keyGroups(records)
        #expect(groups.count == 37)
        for group in groups {
            let key = group[0].keyString!
            #expect(group.allSatisfy { $0.keyString == key }, "group of \(key) holds another key")
            let inBatch = records.filter { $0.keyString == key }.map { $0.valueString! }
            #expect(group.map { $0.valueString! } == inBatch, "key \(key) out of order")
        }
    }

    @Test("groups come in the order of each key's first record")
    func groupOrder() {
        let records = Self.batch()
        let firstSeen = records.map { $0.keyString! }.reduce(into: [String]()) { seen, key in if !seen.contains(key) { seen.append(key) } }
        #expect(ConsumerLanes.keyGroups(records).map { $0[0].keyString! } == firstSeen)
    }

    @Test("keyless records group by partition, in offset order")
    func keylessByPartition() {
        let records = (0..<40).map { index in
            ConsumerRecord(topic: "t", partition: Int32(index % 4), offset: Int64(index / 4), timestamp: 0, key: nil, value: nil)
        }
        let groups = ConsumerLanes.keyGroups(records)
        #expect(groups.count == 4)
        for group in groups {
            #expect(Set(group.map(\.partition)).count == 1)
            #expect(group.map(\.offset) == Array(0..<10))
        }
    }

    @Test("unique keys (the scenario's event ids) give one group per record, so no worker waits behind another's slow record")
    func uniqueKeys() {
        #expect(ConsumerLanes.keyGroups(Self.batch(keys: 1_000, count: 300)).count == 300)
        #expect(ConsumerLanes.keyGroups(Self.batch(keys: 1)).count == 1)
    }
}

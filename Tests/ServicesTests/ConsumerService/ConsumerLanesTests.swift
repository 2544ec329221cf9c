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

    @Test("every record lands in exactly one of at most `workers` lanes", arguments: [1, 3, 10, 64])
    func partitionsTheBatch(workers: Int) {
        let records = Self.batch()
        let lanes = ConsumerLanes.split(records, workers: workers)
        #expect(lanes.count <= workers)
        #expect(lanes.allSatisfy { !$0.isEmpty })
        #expect(lanes.reduce(0) { $0 + $1.count } == records.count)
        #expect(Set(lanes.flatMap { $0.map(\.position) }) == Set(records.map(\.position)))
    }

    @Test("a key's records share one lane, in batch order", arguments: [2, 10])
    func keepsPerKeyOrder(workers: Int) {
        let records = Self.batch()
        let lanes = ConsumerLanes.split(records, workers: workers)
        var laneOfKey: [String: Int] = [:]
        for (index, lane) in lanes.enumerated() {
            for record in lane {
                let key = record.keyString!
                #expect(laneOfKey[key, default: index] == index, "key \(key) is in two lanes")
                laneOfKey[key] = index
            }
            for key in Set(lane.map { $0.keyString! }) {
                let inLane = lane.filter { $0.keyString == key }.map { $0.valueString! }
                let inBatch = records.filter { $0.keyString == key }.map { $0.valueString! }
                #expect(inLane == inBatch, "key \(key) out of order")
            }
        }
    }

    @Test("more than one lane is used when there are several keys")
    func spreadsKeys() {
        #expect(ConsumerLanes.split(Self.batch(), workers: 10).count > 1)
        #expect(ConsumerLanes.split(Self.batch(keys: 1), workers: 10).count == 1)
    }

    @Test("keyless records go by partition")
    func keylessByPartition() {
        let records = (0..<20).map { ConsumerRecord(topic: "t", partition: Int32($0 % 4), offset: Int64($0 / 4), timestamp: 0, key: nil, value: nil) }
        let lanes = ConsumerLanes.split(records, workers: 10)
        #expect(lanes.count == 4)
        #expect(lanes.allSatisfy { Set($0.map(\.partition)).count == 1 && $0.map(\.offset) == $0.map(\.offset).sorted() })
    }
}

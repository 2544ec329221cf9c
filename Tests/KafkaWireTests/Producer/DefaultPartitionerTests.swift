import KafkaWire
import Testing

@Suite("DefaultPartitioner")
struct DefaultPartitionerTests {
    /// The vectors of the Java client's UtilsTest.testMurmur2.
    @Test("murmur2 matches the Java client", arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", Int32(-790_332_482)),
        ("a-little-bit-long-string", Int32(-985_981_536)),
        ("a-little-bit-longer-string", Int32(-1_486_304_829)),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", Int32(-58_897_971)),
        ("abc", Int32(479_470_107)),
    ])
    func murmur2(input: String, expected: Int32) {
        #expect(DefaultPartitioner.murmur2(Array(input.utf8)) == expected)
    }

    @Test("keyed partition is toPositive(murmur2) mod count, stable for a key")
    func keyed() {
        let key = Array("order-42".utf8)
        let partition = DefaultPartitioner.partition(forKey: key, partitionCount: 12)
        #expect((0..<12).contains(Int(partition)))
        #expect(partition == Int32(Int(DefaultPartitioner.murmur2(key) & 0x7fff_ffff) % 12))
        #expect(DefaultPartitioner.partition(forKey: [], partitionCount: 7) == Int32(Int(DefaultPartitioner.murmur2([UInt8]()) & 0x7fff_ffff) % 7))
    }

    @Test("keyless records stick to one partition until its batch completes, then move")
    func sticky() {
        var partitioner = DefaultPartitioner()
        let first = partitioner.partitionForKeyless(topic: "t", available: [0, 1, 2], partitionCount: 3)
        for _ in 0..<100 { #expect(partitioner.partitionForKeyless(topic: "t", available: [0, 1, 2], partitionCount: 3) == first) }
        partitioner.batchCompleted(topic: "t", partition: first, available: [0, 1, 2], partitionCount: 3)
        #expect(partitioner.partitionForKeyless(topic: "t", available: [0, 1, 2], partitionCount: 3) != first)
        // Only partitions with a leader are chosen.
        var other = DefaultPartitioner()
        #expect(other.partitionForKeyless(topic: "u", available: [2], partitionCount: 3) == 2)
    }
}

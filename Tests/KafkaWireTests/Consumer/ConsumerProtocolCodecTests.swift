import PropertyBased
import Testing
import WireCore
@testable import KafkaWire

@Suite("Consumer protocol subscription and assignment")
struct ConsumerProtocolCodecTests {
    // MARK: golden bytes, derived by hand from ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json

    /// v3: version, topics ["t0"], userData null, ownedPartitions [{t0, [1]}], generationId 5, rackId "r1".
    static let subscriptionV3: [UInt8] = [
        0x00, 0x03,                          // version 3
        0x00, 0x00, 0x00, 0x01,              // topics: 1
        0x00, 0x02, 0x74, 0x30,              //   "t0"
        0xff, 0xff, 0xff, 0xff,              // userData: null
        0x00, 0x00, 0x00, 0x01,              // ownedPartitions: 1
        0x00, 0x02, 0x74, 0x30,              //   topic "t0"
        0x00, 0x00, 0x00, 0x01,              //   partitions: 1
        0x00, 0x00, 0x00, 0x01,              //     1
        0x00, 0x00, 0x00, 0x05,              // generationId 5
        0x00, 0x02, 0x72, 0x31,              // rackId "r1"
    ]

    /// v3: assignedPartitions [{t0, [0, 2]}, {t1, [1]}], userData null.
    static let assignmentV3: [UInt8] = [
        0x00, 0x03,                          // version 3
        0x00, 0x00, 0x00, 0x02,              // assignedPartitions: 2
        0x00, 0x02, 0x74, 0x30,              //   topic "t0"
        0x00, 0x00, 0x00, 0x02,              //   partitions: 2
        0x00, 0x00, 0x00, 0x00,              //     0
        0x00, 0x00, 0x00, 0x02,              //     2
        0x00, 0x02, 0x74, 0x31,              //   topic "t1"
        0x00, 0x00, 0x00, 0x01,              //   partitions: 1
        0x00, 0x00, 0x00, 0x01,              //     1
        0xff, 0xff, 0xff, 0xff,              // userData: null
    ]

    static let subscription = ConsumerProtocolSubscription(
        topics: ["t0"], ownedPartitions: [TopicPartition(topic: "t0", partition: 1)], generationId: 5, rackId: "r1"
    )
    static let assignment = ConsumerProtocolAssignment(assignedPartitions: [
        TopicPartition(topic: "t0", partition: 0), TopicPartition(topic: "t0", partition: 2), TopicPartition(topic: "t1", partition: 1),
    ])

    @Test("subscription golden bytes, both directions")
    func subscriptionGolden() throws {
        #expect(try Self.subscription.encoded() == Self.subscriptionV3)
        #expect(try ConsumerProtocolSubscription.decode(Self.subscriptionV3) == Self.subscription)
    }

    @Test("assignment golden bytes, both directions")
    func assignmentGolden() throws {
        #expect(try Self.assignment.encoded() == Self.assignmentV3)
        #expect(try ConsumerProtocolAssignment.decode(Self.assignmentV3) == Self.assignment)
    }

    @Test("v0 subscription with user data; fields a version lacks are dropped, as Java drops ignorable fields")
    func subscriptionV0() throws {
        let bytes: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02]
        let value = ConsumerProtocolSubscription(topics: ["a"], userData: [1, 2])
        #expect(try value.encoded(version: 0) == bytes)
        #expect(try ConsumerProtocolSubscription.decode(bytes) == value)
        var richer = value
        richer.ownedPartitions = [TopicPartition(topic: "a", partition: 0)]
        richer.generationId = 9
        richer.rackId = "r"
        #expect(try richer.encoded(version: 0) == bytes)
        #expect(try ConsumerProtocolSubscription.decode(richer.encoded(version: 2)).rackId == nil)
        #expect(try ConsumerProtocolSubscription.decode(richer.encoded(version: 2)).generationId == 9)
    }

    @Test("versions above 3 are read as v3 and the rest ignored; negative versions and encoding above 3 are refused")
    func versions() throws {
        var future = Self.subscriptionV3
        future[1] = 7
        #expect(try ConsumerProtocolSubscription.decode(future + [0xab, 0xcd, 0x00]) == Self.subscription)
        var futureAssignment = Self.assignmentV3
        futureAssignment[1] = 4
        #expect(try ConsumerProtocolAssignment.decode(futureAssignment + [0x01]) == Self.assignment)

        var negative = Self.subscriptionV3
        negative[0] = 0xff
        negative[1] = 0xff
        #expect(throws: KafkaDecodingError.unsupportedVersion(message: "ConsumerProtocolSubscription", version: -1)) {
            try ConsumerProtocolSubscription.decode(negative)
        }
        #expect(throws: KafkaEncodingError.unsupportedVersion(message: "ConsumerProtocolAssignment", version: 4)) {
            try Self.assignment.encoded(version: 4)
        }
        #expect(throws: KafkaDecodingError.trailingBytes(message: "ConsumerProtocolSubscription", version: 3, count: 1)) {
            try ConsumerProtocolSubscription.decode(Self.subscriptionV3 + [0])
        }
        #expect(throws: KafkaDecodingError.trailingBytes(message: "ConsumerProtocolAssignment", version: 3, count: 2)) {
            try ConsumerProtocolAssignment.decode(Self.assignmentV3 + [0, 0])
        }
    }

    @Test("every strict prefix is a truncation error")
    func truncation() throws {
        for (bytes, decode) in [
            (Self.subscriptionV3, { (b: [UInt8]) throws(KafkaDecodingError) in _ = try ConsumerProtocolSubscription.decode(b) }),
            (Self.assignmentV3, { (b: [UInt8]) throws(KafkaDecodingError) in _ = try ConsumerProtocolAssignment.decode(b) }),
        ] {
            for length in 0..<bytes.count {
                do {
                    try decode(Array(bytes.prefix(length)))
                    Issue.record("a \(length)-byte prefix decoded")
                } catch {
                    #expect(error.isTruncation, "prefix \(length): \(error)")
                }
            }
        }
    }

    @Test("hostile counts and lengths are errors, not allocations or traps")
    func hostile() {
        // topics count Int32.max with nothing behind it
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolSubscription.decode([0, 1, 0x7f, 0xff, 0xff, 0xff]) }
        // negative topic count
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolSubscription.decode([0, 1, 0xff, 0xff, 0xff, 0xfe]) }
        // null topics array
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolSubscription.decode([0, 1, 0xff, 0xff, 0xff, 0xff]) }
        // partition count larger than what remains
        #expect(throws: KafkaDecodingError.self) {
            try ConsumerProtocolAssignment.decode([0, 0, 0, 0, 0, 1, 0, 1, 0x61, 0x7f, 0, 0, 0, 0, 0, 0, 0])
        }
        // userData length -2
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolAssignment.decode([0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe]) }
        // an empty input reports the missing version
        #expect(throws: KafkaDecodingError.self) { try ConsumerProtocolAssignment.decode([]) }
    }

    @Test("round trip at every version, random values")
    func roundTrip() async {
        await propertyCheck(count: 100, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            for version in Int16(0)...3 {
                do {
                    let subscription = randomSubscription(version: version, rng: &rng)
                    #expect(try ConsumerProtocolSubscription.decode(subscription.encoded(version: version)) == subscription)
                    let assignment = ConsumerProtocolAssignment(assignedPartitions: randomPartitions(rng: &rng), userData: randomBytes(rng: &rng))
                    #expect(try ConsumerProtocolAssignment.decode(assignment.encoded(version: version)) == assignment)
                } catch {
                    Issue.record("v\(version): \(error)")
                }
            }
        }
    }

    @Test("random bytes never trap, bare or behind a plausible version")
    func randomInput() async {
        await propertyCheck(count: 400, input: Gen<UInt8>.value(in: 0...255).array(of: 0...80)) { bytes in
            _ = try? ConsumerProtocolSubscription.decode(bytes)
            _ = try? ConsumerProtocolAssignment.decode(bytes)
            for version in UInt8(0)...5 {
                _ = try? ConsumerProtocolSubscription.decode([0, version] + bytes)
                _ = try? ConsumerProtocolAssignment.decode([0, version] + bytes)
            }
        }
    }

    @Test("mutated valid encodings never trap; what decodes re-encodes and decodes to the same value")
    func mutations() async {
        await propertyCheck(count: 100, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            let version = Int16(rng.next() % 4)
            do {
                var bytes = try randomSubscription(version: version, rng: &rng).encoded(version: version)
                for _ in 0..<4 where !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if let value = try? ConsumerProtocolSubscription.decode(bytes), (0...3).contains(Int(bytes[1])), bytes[0] == 0 {
                    #expect(try ConsumerProtocolSubscription.decode(value.encoded(version: Int16(bytes[1]))) == value)
                }
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}

private func randomPartitions(rng: inout KafkaTestRandom) -> [TopicPartition] {
    (0..<Int(rng.next() % 6)).map { _ in TopicPartition(topic: rng.string(), partition: rng.int32()) }
}

private func randomBytes(rng: inout KafkaTestRandom) -> [UInt8]? {
    rng.chance(3) ? nil : (0..<Int(rng.next() % 9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

private func randomSubscription(version: Int16, rng: inout KafkaTestRandom) -> ConsumerProtocolSubscription {
    ConsumerProtocolSubscription(
        topics: (0..<Int(rng.next() % 4)).map { _ in rng.string() },
        userData: randomBytes(rng: &rng),
        ownedPartitions: version >= 1 ? randomPartitions(rng: &rng) : [],
        generationId: version >= 2 ? rng.int32() : -1,
        rackId: version >= 3 && !rng.chance(3) ? rng.string() : nil
    )
}

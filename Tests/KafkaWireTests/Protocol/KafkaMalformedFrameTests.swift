import Foundation
import PropertyBased
import Testing
import WireCore

@testable import KafkaWire

@Suite("Kafka malformed frames and unrepresentable values")
struct KafkaMalformedFrameTests {
    // MARK: decoding

    @Test("a negative string length names the message, version and field")
    func negativeStringLength() {
        // JoinGroupRequest v5: group id length -2.
        #expect(throws: KafkaDecodingError.invalidField(
            message: "JoinGroupRequest", version: 5,
            error: .malformed(field: "groupId", reason: "negative length -2", offset: 0))
        ) {
            try JoinGroupRequest.decode(hex("fffe"), version: 5)
        }
    }

    @Test("null where the version does not allow it")
    func nullNotAllowed() {
        // MetadataRequest v0: the topic array is not nullable (v1+ is).
        #expect(throws: KafkaDecodingError.invalidField(
            message: "MetadataRequest", version: 0,
            error: .malformed(field: "topics", reason: "null for a non-nullable array", offset: 0))
        ) {
            try MetadataRequest.decode(hex("ffffffff"), version: 0)
        }
        // HeartbeatRequest v4: compact null for the (non-nullable) group id.
        #expect(throws: KafkaDecodingError.self) { try HeartbeatRequest.decode(hex("00"), version: 4) }
    }

    @Test("a huge array count is refused before allocating")
    func hugeArrayCount() {
        do {
            _ = try MetadataResponse.decode(hex("00000000 7fffffff"), version: 3)
            Issue.record("decoded")
        } catch {
            #expect(error.isTruncation)
            #expect("\(error)".contains("brokers"))
        }
        // Compact: a count varint beyond Int32.
        #expect(throws: KafkaDecodingError.self) {
            try DescribeClusterRequest.decode(hex("00 01 ffffffff0f"), version: 0)
        }
    }

    @Test("a varint longer than five bytes or a tag size past the end is an error")
    func badTaggedSection() {
        #expect(throws: KafkaDecodingError.self) { try HeartbeatResponse.decode(hex("00000000 0000 ffffffffff01"), version: 4) }
        #expect(throws: KafkaDecodingError.self) { try HeartbeatResponse.decode(hex("00000000 0000 01 00 09 00"), version: 4) }
        // A known tagged field whose value does not fill its declared size.
        #expect(throws: KafkaDecodingError.self) {
            try ApiVersionsResponse.decode(hex("0000 01 00000000 01 01 09 0000000000000005 00"), version: 3)
        }
    }

    @Test("trailing bytes, unknown API keys and unsupported versions")
    func frameLevel() {
        #expect(throws: KafkaDecodingError.trailingBytes(message: "HeartbeatResponse", version: 0, count: 1)) {
            try HeartbeatResponse.decode(hex("0000 00"), version: 0)
        }
        var reader = ByteReader(hex("00"))
        #expect(throws: KafkaDecodingError.unknownApiKey(999)) {
            try KafkaRequest.decode(apiKey: 999, version: 0, from: &reader)
        }
        #expect(throws: KafkaDecodingError.unsupportedVersion(message: "ProduceRequest", version: 2)) {
            try ProduceRequest.decode([], version: 2)
        }
        var header = ByteReader(hex("03e7 0000 00000001 ffff"))
        #expect(throws: KafkaDecodingError.unknownApiKey(999)) { try KafkaRequestHeader(from: &header) }
    }

    // MARK: encoding

    @Test("a non-default value for a field the version lacks is refused")
    func fieldNotInVersion() {
        #expect(throws: KafkaEncodingError.fieldNotInVersion(message: "MetadataRequest", field: "allowAutoTopicCreation", version: 3)) {
            try MetadataRequest(topics: [], allowAutoTopicCreation: false).encoded(version: 3)
        }
        let byId = ProduceRequest(topicData: [.init(topicId: KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2))])
        #expect(throws: KafkaEncodingError.fieldNotInVersion(message: "ProduceRequest", field: "TopicProduceData.topicId", version: 12)) {
            try byId.encoded(version: 12)
        }
        #expect(throws: KafkaEncodingError.fieldNotInVersion(message: "HeartbeatRequest", field: "HeartbeatRequest.unknownTaggedFields", version: 3)) {
            try HeartbeatRequest(unknownTaggedFields: [.init(tag: 1, data: [])]).encoded(version: 3)
        }
    }

    @Test("ignorable fields are dropped at versions that lack them")
    func ignorableDropped() throws {
        let request = FetchRequest(maxWaitMs: 500, minBytes: 1, rackId: "rack-a")
        let bytes = try request.encoded(version: 10)
        var expected = request
        expected.rackId = ""
        #expect(try FetchRequest.decode(bytes, version: 10) == expected)
    }

    @Test("nil where the version does not allow null, and over-long strings")
    func nullAndLength() {
        #expect(throws: KafkaEncodingError.nullNotAllowed(message: "MetadataRequest", field: "topics", version: 0)) {
            try MetadataRequest(topics: nil).encoded(version: 0)
        }
        let long = String(repeating: "x", count: 40_000)
        #expect(throws: KafkaEncodingError.tooLong(message: "HeartbeatRequest", field: "groupId", count: 40_000, limit: 32767)) {
            try HeartbeatRequest(groupId: long).encoded(version: 4)
        }
    }

    // MARK: fuzz-like loops

    @Test("mutated encodings never trap; what decodes re-encodes to an equal value", arguments: ApiKey.allCases)
    func mutations(key: ApiKey) async {
        await propertyCheck(count: 40, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            for version in key.supportedVersions {
                let request = GeneratedSamples.randomRequest(key, version: version, using: &rng)
                let response = GeneratedSamples.randomResponse(key, version: version, using: &rng)
                var writer = ByteWriter()
                try request.encode(into: &writer, version: version)
                checkMutations(of: writer.bytes, rng: &rng, key: key, version: version) { reader throws(KafkaDecodingError) in
                    try KafkaRequest.decode(apiKey: key.rawValue, version: version, from: &reader)
                } encode: { value, writer throws(KafkaEncodingError) in
                    try value.encode(into: &writer, version: version)
                }
                writer = ByteWriter()
                try response.encode(into: &writer, version: version)
                checkMutations(of: writer.bytes, rng: &rng, key: key, version: version) { reader throws(KafkaDecodingError) in
                    try KafkaResponse.decode(apiKey: key.rawValue, version: version, from: &reader)
                } encode: { value, writer throws(KafkaEncodingError) in
                    try value.encode(into: &writer, version: version)
                }
            }
        }
    }

    @Test("random bytes never trap", arguments: ApiKey.allCases)
    func randomBytes(key: ApiKey) async {
        await propertyCheck(count: 200, input: Gen<UInt8>.value(in: 0...255).array(of: 0...64)) { bytes in
            for version in key.supportedVersions {
                var reader = ByteReader(bytes)
                _ = try? KafkaRequest.decode(apiKey: key.rawValue, version: version, from: &reader)
                reader = ByteReader(bytes)
                _ = try? KafkaResponse.decode(apiKey: key.rawValue, version: version, from: &reader)
            }
        }
    }
}

private func checkMutations<Message: Equatable>(
    of bytes: [UInt8], rng: inout KafkaTestRandom, key: ApiKey, version: Int16,
    decode: (inout ByteReader) throws(KafkaDecodingError) -> Message,
    encode: (Message, inout ByteWriter) throws(KafkaEncodingError) -> Void
) {
    for _ in 0..<8 {
        var mutated = bytes
        switch rng.next() % 4 {
        case 0 where !mutated.isEmpty:
            mutated[Int(rng.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: rng.next())
        case 1 where !mutated.isEmpty:
            mutated[Int(rng.next() % UInt64(mutated.count))] ^= 0x80
        case 2:
            mutated.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(mutated.count + 1)))
        default:
            if !mutated.isEmpty { mutated.remove(at: Int(rng.next() % UInt64(mutated.count))) }
        }
        var reader = ByteReader(mutated)
        guard let value = try? decode(&reader) else { continue }
        do {
            var writer = ByteWriter()
            try encode(value, &writer)
            var again = ByteReader(writer.bytes)
            let redecoded = try decode(&again)
            #expect(redecoded == value, "\(key) v\(version): mutated input \(mutated)")
        } catch {
            Issue.record("\(key) v\(version): a decoded value failed to round-trip: \(error); input \(mutated)")
        }
    }
}

@Suite("Kafka error codes")
struct KafkaErrorCodeTests {
    @Test("names, retriability and unknown codes")
    func table() {
        #expect(KafkaErrorCode.notLeaderOrFollower.name == "NOT_LEADER_OR_FOLLOWER")
        #expect(KafkaErrorCode.notLeaderOrFollower.isRetriable)
        #expect(KafkaErrorCode(3) == .unknownTopicOrPartition)
        #expect(!KafkaErrorCode.topicAuthorizationFailed.isRetriable)
        #expect(KafkaErrorCode.outOfOrderSequenceNumber.rawValue == 45)
        #expect(KafkaErrorCode.unknownProducerId.rawValue == 59)
        #expect(KafkaErrorCode(-1).name == "UNKNOWN_SERVER_ERROR")
        #expect(KafkaErrorCode(32000).name == "UNKNOWN_ERROR_CODE_32000")
        #expect(!KafkaErrorCode(32000).isRetriable)
        #expect(KafkaErrorCode.allKnown.count > 130)
        #expect(throws: KafkaBrokerError(code: .notCoordinator)) { try KafkaErrorCode(16).check() }
    }
}

@Suite("Kafka codec generation")
struct KafkaCodegenTests {
    /// The committed Swift must be what the definitions generate (skipped without python3).
    @Test("scripts/codegen/kafka_messages.py --check finds nothing to change")
    func generatedFilesUpToDate() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/codegen/kafka_messages.py")
        guard FileManager.default.fileExists(atPath: script.path),
              let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile(atPath:))
        else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, "--check"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
    }
}

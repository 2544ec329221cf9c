import PropertyBased
import Testing
import WireCore

@testable import KafkaWire

/// Every message at every version: random values (fields absent at a version keep their
/// defaults) encode, decode to an equal value consuming every byte, and re-encode to the
/// same bytes; every cut of a valid encoding is reported as truncation, never a trap.
@Suite("Kafka messages round-trip at every version")
struct KafkaMessageRoundTripTests {
    @Test("requests", arguments: ApiKey.allCases)
    func requests(key: ApiKey) async {
        await propertyCheck(count: 25, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            for version in key.supportedVersions {
                let value = GeneratedSamples.randomRequest(key, version: version, using: &rng)
                try checkRoundTrip(value, key: key, version: version, seed: seed) { reader throws(KafkaDecodingError) in
                    try KafkaRequest.decode(apiKey: key.rawValue, version: version, from: &reader)
                } encode: { value, writer throws(KafkaEncodingError) in
                    try value.encode(into: &writer, version: version)
                }
            }
        }
    }

    @Test("responses", arguments: ApiKey.allCases)
    func responses(key: ApiKey) async {
        await propertyCheck(count: 25, input: Gen<UInt64>.value(in: 0...UInt64.max)) { seed in
            var rng = KafkaTestRandom(seed: seed)
            for version in key.supportedVersions {
                let value = GeneratedSamples.randomResponse(key, version: version, using: &rng)
                try checkRoundTrip(value, key: key, version: version, seed: seed) { reader throws(KafkaDecodingError) in
                    try KafkaResponse.decode(apiKey: key.rawValue, version: version, from: &reader)
                } encode: { value, writer throws(KafkaEncodingError) in
                    try value.encode(into: &writer, version: version)
                }
            }
        }
    }

    @Test("versions outside the supported range are refused both ways", arguments: ApiKey.allCases)
    func outOfRangeVersions(key: ApiKey) throws {
        let below = key.supportedVersions.lowerBound - 1
        let above = key.supportedVersions.upperBound + 1
        var rng = KafkaTestRandom(seed: 1)
        let request = GeneratedSamples.randomRequest(key, version: key.supportedVersions.upperBound, using: &rng)
        for version in [below, above] where version >= 0 {
            var writer = ByteWriter()
            #expect(throws: KafkaEncodingError.self) { try request.encode(into: &writer, version: version) }
            var reader = ByteReader([0, 0, 0, 0, 0, 0, 0, 0])
            #expect(throws: KafkaDecodingError.self) {
                try KafkaRequest.decode(apiKey: key.rawValue, version: version, from: &reader)
            }
        }
    }
}

func checkRoundTrip<Message: Equatable>(
    _ value: Message, key: ApiKey, version: Int16, seed: UInt64,
    decode: (inout ByteReader) throws(KafkaDecodingError) -> Message,
    encode: (Message, inout ByteWriter) throws(KafkaEncodingError) -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var writer = ByteWriter()
    try encode(value, &writer)
    let bytes = writer.bytes
    var reader = ByteReader(bytes)
    let decoded = try decode(&reader)
    #expect(decoded == value, "\(key) v\(version) seed \(seed)", sourceLocation: sourceLocation)
    #expect(reader.isAtEnd, "\(key) v\(version) seed \(seed): \(reader.remaining) bytes left", sourceLocation: sourceLocation)
    var again = ByteWriter()
    try encode(decoded, &again)
    #expect(again.bytes == bytes, "\(key) v\(version) seed \(seed): re-encoding differs", sourceLocation: sourceLocation)
    // Every strict prefix is a truncation: the schema is fixed per version, so a prefix
    // follows the same path as the whole until it runs out.
    let cuts = bytes.count <= 64 ? Array(0..<bytes.count) : (0..<48).map { _ in Int.random(in: 0..<bytes.count) }
    for cut in cuts {
        var prefix = ByteReader(Array(bytes[..<cut]))
        do {
            _ = try decode(&prefix)
            Issue.record("\(key) v\(version) seed \(seed): a cut at \(cut) of \(bytes.count) decoded", sourceLocation: sourceLocation)
            return
        } catch {
            if !error.isTruncation {
                Issue.record("\(key) v\(version) seed \(seed): cut at \(cut) gave \(error)", sourceLocation: sourceLocation)
                return
            }
        }
    }
}

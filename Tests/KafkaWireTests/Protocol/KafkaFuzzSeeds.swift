import Foundation
import Testing
import WireCore

@testable import KafkaWire

/// Writes the seed corpora of the Kafka fuzz harnesses (Fuzz/Corpus/kafka-request-decoder,
/// kafka-response-decoder) when `LAB_WRITE_KAFKA_FUZZ_SEEDS` names the Fuzz/Corpus directory:
///   LAB_WRITE_KAFKA_FUZZ_SEEDS=$PWD/Fuzz/Corpus swift test --filter KafkaFuzzSeeds
/// Each seed is the harness's input format: API index, version offset, body. Without the
/// variable the test only checks that seeds can be built.
@Suite("Kafka fuzz seeds")
struct KafkaFuzzSeeds {
    @Test("seed inputs for every API at its lowest, first flexible and highest version")
    func writeSeeds() throws {
        let target = ProcessInfo.processInfo.environment["LAB_WRITE_KAFKA_FUZZ_SEEDS"]
        var rng = KafkaTestRandom(seed: 0x5eed)
        for kind in ["request", "response"] {
            let directory = target.map { URL(fileURLWithPath: $0).appendingPathComponent("kafka-\(kind)-decoder") }
            if let directory { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
            for (index, key) in ApiKey.allCases.enumerated() {
                let range = key.supportedVersions
                let versions = Set([range.lowerBound, range.upperBound, key.firstFlexibleVersion.map { max($0, range.lowerBound) } ?? range.lowerBound])
                for version in versions.sorted() {
                    var writer = ByteWriter()
                    writer.writeUInt8(UInt8(index))
                    writer.writeUInt8(UInt8(version - range.lowerBound))
                    if kind == "request" {
                        try GeneratedSamples.randomRequest(key, version: version, using: &rng).encode(into: &writer, version: version)
                    } else {
                        try GeneratedSamples.randomResponse(key, version: version, using: &rng).encode(into: &writer, version: version)
                    }
                    if let directory {
                        let file = directory.appendingPathComponent("\(key)-v\(version)")
                        try Data(writer.bytes).write(to: file)
                    }
                }
            }
        }
    }
}

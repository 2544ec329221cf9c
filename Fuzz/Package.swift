// swift-tools-version: 6.1
// libFuzzer harnesses for the lab's decoders, built against the root package's modules.
// Build and run them with `scripts/fuzz` (it passes `--sanitize=fuzzer --sanitize=address`,
// which instruments every module, the decoders included, not just the harness).
//
// To add a harness: an entry below, its entry point in `Sources/<Target>/main.swift`
// (`@_cdecl("LLVMFuzzerTestOneInput")`), seed inputs in `Corpus/<name>/`, and optionally a
// libFuzzer dictionary in `Dictionaries/<name>.dict`.
import PackageDescription

/// Each harness: its name (the executable `scripts/fuzz` builds and runs, and its corpus
/// directory) and the target holding its entry point.
let harnesses: [(name: String, target: String, dependencies: [Target.Dependency])] = [
    (
        name: "resp-decoder", target: "RESPDecoderFuzz",
        dependencies: [
            .product(name: "RESP", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
        ]
    ),
    (
        name: "kafka-request-decoder", target: "KafkaRequestDecoderFuzz",
        dependencies: [
            .product(name: "KafkaWire", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
            .target(name: "KafkaFuzzSupport"),
        ]
    ),
    (
        name: "kafka-response-decoder", target: "KafkaResponseDecoderFuzz",
        dependencies: [
            .product(name: "KafkaWire", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
            .target(name: "KafkaFuzzSupport"),
        ]
    ),
    (
        name: "record-batch-decoder", target: "RecordBatchDecoderFuzz",
        dependencies: [
            .product(name: "KafkaWire", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
        ]
    ),
    (
        name: "kafka-consumer-decoders", target: "ConsumerDecodersFuzz",
        dependencies: [
            .product(name: "KafkaWire", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
        ]
    ),
    (
        name: "mysql-packet-decoder", target: "MySQLPacketDecoderFuzz",
        dependencies: [.product(name: "MySQLWire", package: "ReliabilityLab")]
    ),
    (
        name: "mysql-resultset-decoder", target: "MySQLResultSetDecoderFuzz",
        dependencies: [
            .product(name: "MySQLWire", package: "ReliabilityLab"),
            .product(name: "WireCore", package: "ReliabilityLab"),
        ]
    ),
]

let package = Package(
    name: "ReliabilityLabFuzz",
    platforms: [.macOS(.v15)],
    products: harnesses.map { .executable(name: $0.name, targets: [$0.target]) },
    dependencies: [.package(name: "ReliabilityLab", path: "..")],
    targets: harnesses.map { .executableTarget(name: $0.target, dependencies: $0.dependencies) } + [
        // What the Kafka request and response harnesses share.
        .target(
            name: "KafkaFuzzSupport",
            dependencies: [
                .product(name: "KafkaWire", package: "ReliabilityLab"),
                .product(name: "WireCore", package: "ReliabilityLab"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import PackageDescription

/// Links the Swift runtime and Foundation into the `lab` executable. The modules are compiled
/// against the shared Foundation, whose autolink entries do not name the static archives'
/// own dependencies, so those are listed here (as one group: they refer to each other).
let staticSwiftRuntime = [
    "-static-stdlib",
    "-Xlinker", "--start-group",
    "-lFoundation", "-lFoundationEssentials", "-lFoundationInternationalization", "-lCoreFoundation",
    "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections", "-ldispatch", "-lBlocksRuntime",
    "-Xlinker", "--end-group",
    "-lstdc++",
]

let package = Package(
    name: "ReliabilityLab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lab", targets: ["Lab"]),
        .library(name: "WireCore", targets: ["WireCore"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "MySQLWire", targets: ["MySQLWire"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "LabProxy", targets: ["LabProxy"]),
        // The lab's services (each also runnable as `lab service NAME`) and the experiment harness.
        .library(
            name: "Services",
            targets: ["ServiceKit", "CommandService", "OutboxRelay", "ConsumerService", "QueryService", "ReplayWorker",
                      "ExperimentReport", "ExperimentHarness"]
        ),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // OpenSSL for TLS and digests; thin inline shims for its function-like macros.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Compression libraries for Kafka record batches.
        .systemLibrary(name: "CZlib", path: "Sources/CCompression/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CCompression/CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CCompression/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", path: "Sources/CCompression/CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        // Linux system interfaces (epoll, eventfd) that the Glibc module leaves out.
        .target(name: "CWireSystem"),
        // Starting child processes (posix_spawn) and waiting for them off the cooperative pool:
        // the experiment harness's services and the tests' helper programs.
        .target(name: "ProcessSupport"),
        .target(name: "WireCore", dependencies: ["COpenSSL", "CWireSystem"]),
        .target(
            name: "RESP",
            dependencies: ["WireCore", .product(name: "DequeModule", package: "swift-collections")]
        ),
        .target(
            name: "MySQLWire",
            dependencies: [
                "WireCore", "COpenSSL",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "KafkaWire",
            dependencies: [
                "WireCore", "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["Protocol/Definitions"]
        ),
        // The tracing and fault-injection proxy (`lab proxy`).
        .target(name: "LabProxy", dependencies: ["WireCore", "RESP", "MySQLWire", "KafkaWire"]),
        // Services: what every service shares (HTTP with /health and /metrics, failpoints,
        // migrations, the MySQL pool, topics, event formats, a small HTTP client).
        .target(
            name: "ServiceKit",
            dependencies: [
                "WireCore", "RESP", "MySQLWire", "KafkaWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Services/ServiceKit",
            resources: [.copy("Schema/migrations")]
        ),
        .target(name: "CommandService", dependencies: ["ServiceKit"], path: "Sources/Services/CommandService"),
        .target(name: "OutboxRelay", dependencies: ["ServiceKit"], path: "Sources/Services/OutboxRelay"),
        .target(name: "ConsumerService", dependencies: ["ServiceKit"], path: "Sources/Services/ConsumerService"),
        .target(name: "QueryService", dependencies: ["ServiceKit"], path: "Sources/Services/QueryService"),
        .target(name: "ReplayWorker", dependencies: ["ServiceKit"], path: "Sources/Services/ReplayWorker"),
        // Reports of experiment runs: history, metric series, SVG plots, report.md. No I/O but files.
        .target(name: "ExperimentReport", dependencies: ["WireCore"], path: "Sources/Services/ExperimentReport"),
        // Runs experiments: starts servers' clients and service processes, drives load, injects
        // faults, reads everything back, checks invariants.
        .target(
            name: "ExperimentHarness",
            dependencies: ["ServiceKit", "ExperimentReport", "LabProxy", "ProcessSupport"],
            path: "Sources/Services/ExperimentHarness"
        ),
        // Every `lab` command (a library, so tests can run commands in-process).
        .target(
            name: "LabCLI",
            dependencies: [
                "WireCore", "RESP", "MySQLWire", "KafkaWire", "LabProxy",
                "ServiceKit", "CommandService", "OutboxRelay", "ConsumerService", "QueryService", "ReplayWorker",
                "ExperimentHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The `lab` executable, with the Swift runtime and Foundation linked in: calls into the
        // runtime (retain/release, task switches) go direct instead of through the PLT, and its
        // thread-locals (the current task, executor tracking) are plain offsets instead of a
        // `__tls_get_addr` call each; it also starts faster (no large shared libraries to load
        // for every `lab service` process). Only this executable: test bundles link the
        // libraries dynamically, as the test frameworks do.
        .executableTarget(
            name: "Lab",
            dependencies: ["LabCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: [.unsafeFlags(staticSwiftRuntime, .when(platforms: [.linux]))]
        ),
        // Helpers shared by the integration test targets.
        .target(name: "LabTestSupport", dependencies: ["ProcessSupport"], path: "Tests/LabTestSupport"),
        .testTarget(
            name: "WireCoreTests",
            dependencies: ["WireCore", "LabTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "RESPTests",
            dependencies: ["RESP", "WireCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "RESPIntegrationTests",
            dependencies: ["RESP", "WireCore", "LabTestSupport"]
        ),
        .testTarget(
            name: "KafkaWireTests",
            dependencies: ["KafkaWire", "WireCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "KafkaIntegrationTests",
            // LabCLI: the `lab kafka` commands run in-process (@testable import LabCLI).
            dependencies: ["KafkaWire", "WireCore", "LabTestSupport", "LabCLI", .product(name: "MetricsTestKit", package: "swift-metrics")],
            // Run by the interop tests with the .venv python, found through #filePath.
            exclude: ["Interop/librdkafka_peer.py"]
        ),
        .testTarget(
            name: "MySQLWireTests",
            dependencies: [
                "MySQLWire", "WireCore", .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LabProxyTests",
            dependencies: ["LabProxy", "WireCore", "RESP", "MySQLWire", "KafkaWire", "LabTestSupport"]
        ),
        .testTarget(
            name: "MySQLIntegrationTests",
            dependencies: ["MySQLWire", "WireCore", "LabTestSupport", .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
        .testTarget(
            name: "LabCLITests",
            dependencies: ["LabCLI", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "ServicesTests",
            dependencies: ["ServiceKit", "ConsumerService", "QueryService", "ExperimentReport", "ExperimentHarness"]
        ),
        .testTarget(
            name: "ServicesIntegrationTests",
            dependencies: [
                "ServiceKit", "CommandService", "OutboxRelay", "ConsumerService", "QueryService", "ReplayWorker",
                "LabTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

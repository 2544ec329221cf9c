import Foundation
import Testing
import WireCore

@testable import KafkaWire

@Suite struct RecordsCompressionTests {
    static let codecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]
    static let limit = 64 << 20

    static func sample(count: Int, seed: UInt64, compressible: Bool) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let random = UInt8(truncatingIfNeeded: state >> 33)
            bytes[index] = compressible ? (random & 0x03) &+ UInt8(ascii: "a") : random
        }
        return bytes
    }

    @Test(arguments: codecs)
    func roundTripsEmptySmallAndLargeInputs(codec: CompressionCodec) throws {
        let inputs: [[UInt8]] = [
            [], [0], Array("hello, kafka".utf8),
            Self.sample(count: 100_000, seed: 1, compressible: true),
            Self.sample(count: 70_000, seed: 2, compressible: false),
            Self.sample(count: 1 << 20, seed: 3, compressible: true),
            Self.sample(count: 1 << 20, seed: 4, compressible: false),
        ]
        for input in inputs {
            let compressed = try codec.compress(input)
            #expect(compressed.count <= codec.maxCompressedSize(input.count))
            #expect(try codec.decompress(compressed, limit: Self.limit) == input, "\(codec), \(input.count) bytes")
        }
    }

    @Test func snappyFramings() throws {
        let input = Self.sample(count: 100_000, seed: 5, compressible: true)
        for framing in [Snappy.Framing.raw, .xerial] {
            let settings = CompressionSettings(snappyFraming: framing)
            let compressed = try CompressionCodec.snappy.compress(input, settings: settings)
            #expect(compressed.withUnsafeBytes { Snappy.isXerialFramed($0) } == (framing == .xerial))
            #expect(try CompressionCodec.snappy.decompress(compressed, limit: Self.limit) == input)
        }
        // xerial framing: header, then one [length][block] per 32 KiB of input.
        let xerial = try CompressionCodec.snappy.compress(input)
        #expect(Array(xerial.prefix(16)) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        // An empty xerial stream is its header alone.
        let empty = try CompressionCodec.snappy.compress([])
        #expect(empty.count == 16)
        #expect(try CompressionCodec.snappy.decompress(empty, limit: 10) == [])
    }

    @Test(arguments: codecs)
    func randomInputsRoundTrip(codec: CompressionCodec) throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            let count = Int.random(in: 0...5000, using: &generator)
            let input = Self.sample(count: count, seed: generator.next(), compressible: Bool.random(using: &generator))
            #expect(try codec.decompress(try codec.compress(input), limit: Self.limit) == input)
        }
    }

    // MARK: Output limits (decompression bombs)

    @Test(arguments: codecs)
    func outputBeyondTheLimitIsATypedError(codec: CompressionCodec) throws {
        let input = [UInt8](repeating: 0x61, count: 1 << 20)
        let compressed = try codec.compress(input)
        #expect(compressed.count < 60_000)
        #expect(throws: CompressionError.outputLimitExceeded(codec: codec, limit: 100_000)) {
            try codec.decompress(compressed, limit: 100_000)
        }
        // Exactly at the limit is fine.
        #expect(try codec.decompress(compressed, limit: input.count) == input)
        #expect(throws: CompressionError.outputLimitExceeded(codec: codec, limit: input.count - 1)) {
            try codec.decompress(compressed, limit: input.count - 1)
        }
    }

    @Test func aRawSnappyBlockClaimingHugeOutputIsRefusedBeforeAllocating() {
        // Preamble: uncompressed length 2^32 - 1, then nothing.
        let bomb: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(throws: CompressionError.outputLimitExceeded(codec: .snappy, limit: 1 << 20)) {
            try CompressionCodec.snappy.decompress(bomb, limit: 1 << 20)
        }
    }

    // MARK: Truncated and corrupt input

    @Test(arguments: codecs)
    func everyTruncationIsATypedErrorOrAPrefix(codec: CompressionCodec) throws {
        let input = Self.sample(count: 3000, seed: 9, compressible: true)
        let compressed = try codec.compress(input)
        for cut in 0..<compressed.count {
            do {
                let output = try codec.decompress(Array(compressed[..<cut]), limit: Self.limit)
                // Some formats end on a block boundary that looks complete (xerial snappy,
                // gzip without trailer is not one of them); the output must then be a prefix.
                #expect(input.starts(with: output), "\(codec) cut at \(cut) gave \(output.count) bytes that are not a prefix")
            } catch {
                _ = error as CompressionError
            }
        }
    }

    @Test(arguments: codecs)
    func corruptionAtEveryByteNeverTraps(codec: CompressionCodec) throws {
        let input = Self.sample(count: 2000, seed: 10, compressible: true)
        let compressed = try codec.compress(input)
        for index in 0..<compressed.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = compressed
                corrupt[index] ^= flip
                _ = try? codec.decompress(corrupt, limit: 1 << 20)
            }
        }
    }

    @Test(arguments: codecs)
    func garbageIsATypedError(codec: CompressionCodec) {
        // ([0x00] is a valid raw snappy stream: length 0.)
        for garbage: [UInt8] in [[], [0x01], [0xFF, 0xFF, 0xFF], Array("not compressed at all".utf8)] {
            #expect(throws: CompressionError.self) { try codec.decompress(garbage, limit: 1 << 20) }
        }
    }

    // MARK: Data compressed by independent tools (committed fixtures)

    @Test func decodesFixturesFromIndependentEncoders() throws {
        let text = IndependentFixtures.plaintext(lines: 700)
        let fixtures: [(CompressionCodec, [UInt8], String)] = [
            (.gzip, IndependentFixtures.plaintextGzip, "python gzip"),
            (.gzip, IndependentFixtures.plaintextGzipTwoMembers, "two gzip members"),
            (.lz4, IndependentFixtures.plaintextLZ4, "lz4 CLI"),
            (.lz4, IndependentFixtures.plaintextLZ4Checksums, "lz4 CLI, linked blocks, content size"),
            (.zstd, IndependentFixtures.plaintextZstd, "zstd CLI"),
            (.zstd, IndependentFixtures.plaintextZstdStreamed, "zstd CLI without content size"),
            (.snappy, IndependentFixtures.plaintextSnappyRaw, "python snappy, raw"),
            (.snappy, IndependentFixtures.plaintextSnappyXerial, "python snappy, xerial"),
        ]
        for (codec, compressed, source) in fixtures {
            #expect(try codec.decompress(compressed, limit: Self.limit) == text, "\(source)")
        }
    }

    // MARK: Independent tools at test time (skipped when a tool is missing)

    @Test func decodesWhatTheToolsWriteNow() throws {
        let input = Self.sample(count: 200_000, seed: 11, compressible: true)
        let tools: [(CompressionCodec, [String])] = [
            (.gzip, ["python3", "-c", "import gzip, sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read()))"]),
            (.lz4, ["lz4", "-c", "-q"]),
            (.lz4, ["lz4", "-c", "-q", "-BD", "-B4", "--content-size"]),
            (.zstd, ["zstd", "-c", "-q"]),
            (.zstd, ["zstd", "-c", "-q", "--no-content-size", "-19"]),
        ]
        var ran = 0
        for (codec, command) in tools {
            guard let compressed = runTool(command, input: input) else { continue }
            ran += 1
            #expect(try codec.decompress(compressed, limit: Self.limit) == input, "\(command.joined(separator: " "))")
        }
        // And the reverse: the tools decode what the codecs write.
        let reverse: [(CompressionCodec, [String])] = [
            (.gzip, ["python3", "-c", "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"]),
            (.lz4, ["lz4", "-d", "-c", "-q"]),
            (.zstd, ["zstd", "-d", "-c", "-q"]),
        ]
        for (codec, command) in reverse {
            guard let output = runTool(command, input: try codec.compress(input)) else { continue }
            ran += 1
            #expect(output == input, "\(command.joined(separator: " "))")
        }
        if ran == 0 { print("RecordsCompressionTests: no compression tools installed, only the committed fixtures were checked") }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4") && FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd") {
            #expect(ran >= 6, "the installed tools did not run")
        }
    }
}

/// Runs `command` with `input` on stdin; nil if it cannot run or fails.
func runTool(_ command: [String], input: [UInt8]) -> [UInt8]? {
    let path = NSTemporaryDirectory() + "records-tool-input-\(UUID().uuidString)"
    guard FileManager.default.createFile(atPath: path, contents: Data(input)),
          let stdin = FileHandle(forReadingAtPath: path)
    else { return nil }
    defer {
        try? stdin.close()
        try? FileManager.default.removeItem(atPath: path)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return [UInt8](output)
}

/// The compression of a record batch: attribute bits 0–2. The codec applies to the records
/// section only (everything after the record count).
public enum CompressionCodec: Int16, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    public var description: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }
}

/// How the producer side compresses. Defaults follow the Java client where it matters for
/// interoperability (xerial framing for snappy, zstd level 3) and librdkafka where it is
/// about speed (lz4's fast mode).
public struct CompressionSettings: Sendable, Equatable {
    /// zlib level, -1 = zlib's default (6).
    public var gzipLevel: Int32
    /// LZ4 frame level; 0 is the fast (non-HC) compressor.
    public var lz4Level: Int32
    public var zstdLevel: Int32
    /// The Java client writes (and older Java consumers only read) xerial framing.
    public var snappyFraming: Snappy.Framing

    public init(gzipLevel: Int32 = -1, lz4Level: Int32 = 0, zstdLevel: Int32 = 3, snappyFraming: Snappy.Framing = .xerial) {
        self.gzipLevel = gzipLevel
        self.lz4Level = lz4Level
        self.zstdLevel = zstdLevel
        self.snappyFraming = snappyFraming
    }
}

/// Why a codec refused to compress or decompress.
public enum CompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Decompressing would produce more than `limit` bytes (a decompression bomb, or a
    /// batch larger than this consumer is configured to accept).
    case outputLimitExceeded(codec: CompressionCodec, limit: Int)
    /// The compressed input ended before the stream did.
    case truncated(codec: CompressionCodec)
    /// The input is not a valid stream of this codec.
    case corrupt(codec: CompressionCodec, reason: String)
    /// The library failed to compress (allocation failure, invalid level).
    case compressionFailed(codec: CompressionCodec, reason: String)

    public var description: String {
        switch self {
        case let .outputLimitExceeded(codec, limit):
            return "\(codec) data decompresses to more than the limit of \(limit) bytes"
        case let .truncated(codec):
            return "\(codec) data ends before its stream does"
        case let .corrupt(codec, reason):
            return "corrupt \(codec) data: \(reason)"
        case let .compressionFailed(codec, reason):
            return "\(codec) compression failed: \(reason)"
        }
    }
}

extension CompressionCodec {
    /// An upper bound of the compressed size of `count` input bytes (what `compress(_:into:)`
    /// needs as output space).
    public func maxCompressedSize(_ count: Int, settings: CompressionSettings = CompressionSettings()) -> Int {
        switch self {
        case .none: return count
        case .gzip: return Gzip.maxCompressedSize(count)
        case .snappy: return Snappy.maxCompressedSize(count, framing: settings.snappyFraming)
        case .lz4: return LZ4Frame.maxCompressedSize(count, level: settings.lz4Level)
        case .zstd: return Zstd.maxCompressedSize(count)
        }
    }

    /// Compresses `input` into `output` (at least `maxCompressedSize(input.count)` bytes);
    /// returns the number of bytes written.
    public func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        settings: CompressionSettings = CompressionSettings()
    ) throws(CompressionError) -> Int {
        switch self {
        case .none:
            guard output.count >= input.count else {
                throw .compressionFailed(codec: self, reason: "output space too small")
            }
            if let source = input.baseAddress, let target = output.baseAddress, input.count > 0 {
                target.copyMemory(from: source, byteCount: input.count)
            }
            return input.count
        case .gzip: return try Gzip.compress(input, into: output, level: settings.gzipLevel)
        case .snappy: return try Snappy.compress(input, into: output, framing: settings.snappyFraming)
        case .lz4: return try LZ4Frame.compress(input, into: output, level: settings.lz4Level)
        case .zstd: return try Zstd.compress(input, into: output, level: settings.zstdLevel)
        }
    }

    public func compress(_ input: [UInt8], settings: CompressionSettings = CompressionSettings()) throws(CompressionError) -> [UInt8] {
        let bound = maxCompressedSize(input.count, settings: settings)
        let result: Result<[UInt8], CompressionError> = input.withUnsafeBytes { source in
            compressedArray(capacity: bound) { output throws(CompressionError) in
                try compress(source, into: output, settings: settings)
            }
        }
        return try result.get()
    }

    /// Decompresses `input`, refusing to produce more than `limit` bytes.
    public func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        switch self {
        case .none:
            guard input.count <= limit else { throw .outputLimitExceeded(codec: self, limit: limit) }
            return Array(input)
        case .gzip: return try Gzip.decompress(input, limit: limit)
        case .snappy: return try Snappy.decompress(input, limit: limit)
        case .lz4: return try LZ4Frame.decompress(input, limit: limit)
        case .zstd: return try Zstd.decompress(input, limit: limit)
        }
    }

    public func decompress(_ input: [UInt8], limit: Int) throws(CompressionError) -> [UInt8] {
        let result: Result<[UInt8], CompressionError> = input.withUnsafeBytes { raw in
            Result { () throws(CompressionError) in try decompress(raw, limit: limit) }
        }
        return try result.get()
    }
}

/// Runs `body` over `capacity` bytes of fresh, uninitialized output and returns the array
/// cut to the count `body` reports.
@usableFromInline
func compressedArray(
    capacity: Int, _ body: (UnsafeMutableRawBufferPointer) throws(CompressionError) -> Int
) -> Result<[UInt8], CompressionError> {
    var failure: CompressionError?
    let array = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, initialized in
        do throws(CompressionError) {
            initialized = try body(UnsafeMutableRawBufferPointer(buffer))
        } catch {
            failure = error
            initialized = 0
        }
    }
    if let failure { return .failure(failure) }
    return .success(array)
}

/// A growable output buffer for decompressors that do not know the final size: doubles up
/// to `limit + 1` bytes (one past the limit, so output beyond it is detected, not cut).
struct DecompressionOutput: ~Copyable {
    private(set) var pointer: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var count = 0
    let hardCapacity: Int

    init(initialCapacity: Int, limit: Int) {
        hardCapacity = limit < Int.max ? limit + 1 : limit
        capacity = max(1, min(initialCapacity, hardCapacity))
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
    }

    deinit { pointer.deallocate() }

    var available: Int { capacity - count }
    var freeSpace: UnsafeMutableRawPointer { pointer + count }

    /// Makes room for more output; false when already at `limit + 1` bytes.
    mutating func grow() -> Bool {
        guard capacity < hardCapacity else { return false }
        let newCapacity = capacity > hardCapacity / 2 ? hardCapacity : capacity * 2
        let newPointer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
        newPointer.copyMemory(from: pointer, byteCount: count)
        pointer.deallocate()
        pointer = newPointer
        capacity = newCapacity
        return true
    }

    func makeArray() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count)) }
            initialized = count
        }
    }
}

/// A first guess at the decompressed size: compressed record batches shrink 2–10×.
@inlinable
func initialDecompressionCapacity(_ inputCount: Int, limit: Int) -> Int {
    let guess = inputCount > Int.max / 4 ? Int.max : max(inputCount * 4, 4096)
    return min(guess, limit < Int.max ? limit + 1 : limit)
}

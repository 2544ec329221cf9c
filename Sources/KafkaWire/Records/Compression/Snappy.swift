import CSnappy

/// Snappy, raw (one snappy block, as librdkafka writes by default) or in the xerial framing
/// the Java client writes: the header `0x82 "SNAPPY" 0x00`, version and compatible-version
/// int32s, then blocks of `[int32 compressed length][raw snappy block]`. Decoding accepts
/// both, telling them apart by the header as the Java client and librdkafka do.
public enum Snappy {
    public enum Framing: Sendable, Equatable {
        case raw
        case xerial
    }

    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16
    /// xerial's SnappyOutputStream default block size.
    static let xerialBlockSize = 32 * 1024

    public static func maxCompressedSize(_ count: Int, framing: Framing = .xerial) -> Int {
        switch framing {
        case .raw:
            return snappy_max_compressed_length(count)
        case .xerial:
            let blocks = max(1, (count + xerialBlockSize - 1) / xerialBlockSize)
            return xerialHeaderSize + blocks * (4 + snappy_max_compressed_length(xerialBlockSize))
        }
    }

    public static func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, framing: Framing = .xerial
    ) throws(CompressionError) -> Int {
        guard let outBase = output.baseAddress else { throw .compressionFailed(codec: .snappy, reason: "no output space") }
        switch framing {
        case .raw:
            return try compressBlock(input, into: outBase, capacity: output.count)
        case .xerial:
            guard output.count >= xerialHeaderSize else { throw .compressionFailed(codec: .snappy, reason: "output space too small") }
            for (index, byte) in xerialMagic.enumerated() { outBase.storeBytes(of: byte, toByteOffset: index, as: UInt8.self) }
            storeBigEndian(1, at: outBase + 8)  // version
            storeBigEndian(1, at: outBase + 12)  // minimum compatible version
            var written = xerialHeaderSize
            var position = 0
            // An empty input is a header with no blocks, as SnappyOutputStream writes it.
            while position < input.count {
                let blockCount = min(xerialBlockSize, input.count - position)
                guard output.count - written >= 4 else { throw .compressionFailed(codec: .snappy, reason: "output space too small") }
                let block = UnsafeRawBufferPointer(rebasing: input[position..<(position + blockCount)])
                let blockLength = try compressBlock(block, into: outBase + written + 4, capacity: output.count - written - 4)
                storeBigEndian(UInt32(blockLength), at: outBase + written)
                written += 4 + blockLength
                position += blockCount
            }
            return written
        }
    }

    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        if isXerialFramed(input) {
            return try decompressXerial(input, limit: limit)
        }
        return try decompressRaw(input, limit: limit)
    }

    public static func isXerialFramed(_ input: UnsafeRawBufferPointer) -> Bool {
        guard input.count >= xerialHeaderSize else { return false }
        for index in 0..<xerialMagic.count where input[index] != xerialMagic[index] { return false }
        return true
    }

    public static func decompressRaw(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        let length = try uncompressedLength(input)
        guard length <= limit else { throw .outputLimitExceeded(codec: .snappy, limit: limit) }
        var failure: CompressionError?
        let result = [UInt8](unsafeUninitializedCapacity: max(length, 1)) { buffer, initialized in
            do throws(CompressionError) {
                initialized = try uncompressBlock(input, into: UnsafeMutableRawPointer(buffer.baseAddress!), length: length)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return result
    }

    static func decompressXerial(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        // Versions are informational; xerial has only ever written 1/1.
        var output = DecompressionOutput(initialCapacity: initialDecompressionCapacity(input.count, limit: limit), limit: limit)
        var position = xerialHeaderSize
        while position < input.count {
            guard input.count - position >= 4 else { throw .truncated(codec: .snappy) }
            let blockLength = Int(loadBigEndian(input, at: position))
            position += 4
            guard blockLength <= input.count - position else { throw .truncated(codec: .snappy) }
            let block = UnsafeRawBufferPointer(rebasing: input[position..<(position + blockLength)])
            position += blockLength
            let length = try uncompressedLength(block)
            guard length <= limit - output.count else { throw .outputLimitExceeded(codec: .snappy, limit: limit) }
            while output.available < length {
                guard output.grow() else { throw .outputLimitExceeded(codec: .snappy, limit: limit) }
            }
            output.count += try uncompressBlock(block, into: output.freeSpace, length: length)
        }
        return output.makeArray()
    }

    private static func compressBlock(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int
    ) throws(CompressionError) -> Int {
        guard capacity >= snappy_max_compressed_length(input.count) else {
            throw .compressionFailed(codec: .snappy, reason: "output space too small")
        }
        var empty: CChar = 0
        var outLength = capacity
        let status = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            snappy_compress(
                input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(emptyPointer), input.count,
                output.assumingMemoryBound(to: CChar.self), &outLength)
        }
        guard status == SNAPPY_OK else { throw .compressionFailed(codec: .snappy, reason: "snappy_compress returned \(status.rawValue)") }
        return outLength
    }

    private static func uncompressedLength(_ block: UnsafeRawBufferPointer) throws(CompressionError) -> Int {
        guard let base = block.baseAddress, block.count > 0 else { throw .truncated(codec: .snappy) }
        var length = 0
        let status = snappy_uncompressed_length(base.assumingMemoryBound(to: CChar.self), block.count, &length)
        guard status == SNAPPY_OK else { throw .corrupt(codec: .snappy, reason: "invalid length preamble") }
        return length
    }

    private static func uncompressBlock(
        _ block: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, length: Int
    ) throws(CompressionError) -> Int {
        var outLength = length
        // snappy_uncompress checks every copy against the input and output bounds.
        let status = snappy_uncompress(
            block.baseAddress!.assumingMemoryBound(to: CChar.self), block.count, output.assumingMemoryBound(to: CChar.self), &outLength)
        guard status == SNAPPY_OK else { throw .corrupt(codec: .snappy, reason: "invalid snappy block") }
        return outLength
    }

    private static func storeBigEndian(_ value: UInt32, at pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    private static func loadBigEndian(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

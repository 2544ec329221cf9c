import CZstd

/// Zstandard frames (Kafka ≥ 2.1). Decompression streams, because frames written by
/// streaming compressors (librdkafka, Java's ZstdOutputStream) do not carry their content
/// size, and a declared size would not be trusted anyway.
public enum Zstd {
    public static func maxCompressedSize(_ count: Int) -> Int {
        ZSTD_compressBound(count)
    }

    public static func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, level: Int32 = 3
    ) throws(CompressionError) -> Int {
        let written = ZSTD_compress(output.baseAddress, output.count, input.baseAddress, input.count, level)
        if ZSTD_isError(written) != 0 {
            throw .compressionFailed(codec: .zstd, reason: String(cString: ZSTD_getErrorName(written)))
        }
        return written
    }

    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        guard let inputBase = input.baseAddress, input.count > 0 else { throw .truncated(codec: .zstd) }
        guard let context = ZSTD_createDCtx() else { throw .corrupt(codec: .zstd, reason: "cannot create a context") }
        defer { ZSTD_freeDCtx(context) }
        var output = DecompressionOutput(initialCapacity: initialDecompressionCapacity(input.count, limit: limit), limit: limit)
        var inBuffer = ZSTD_inBuffer(src: inputBase, size: input.count, pos: 0)
        var frameDone = false
        while !(frameDone && inBuffer.pos == inBuffer.size) {
            if output.available == 0 && !output.grow() {
                throw .outputLimitExceeded(codec: .zstd, limit: limit)
            }
            var outBuffer = ZSTD_outBuffer(dst: output.freeSpace, size: output.available, pos: 0)
            let inBefore = inBuffer.pos
            let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw .corrupt(codec: .zstd, reason: String(cString: ZSTD_getErrorName(hint)))
            }
            output.count += outBuffer.pos
            // 0: a frame is complete and flushed; another frame may follow.
            frameDone = hint == 0
            if !frameDone && inBuffer.pos == inBuffer.size && outBuffer.pos < outBuffer.size {
                // All input consumed, output space left, frame unfinished: the input is cut.
                throw .truncated(codec: .zstd)
            }
            if !frameDone && inBuffer.pos == inBefore && outBuffer.pos == 0 && outBuffer.size > 0 {
                throw .corrupt(codec: .zstd, reason: "decoder made no progress")
            }
        }
        if output.count > limit { throw .outputLimitExceeded(codec: .zstd, limit: limit) }
        return output.makeArray()
    }
}

import CLZ4

/// The LZ4 frame format (magic 0x184D2204), what Kafka ≥ 0.10 writes for `lz4`. Frames are
/// written with independent 64 KiB blocks and no checksums, as the Java client does, so
/// every reader (including Java's block-at-a-time one) accepts them.
public enum LZ4Frame {
    static func preferences(level: Int32) -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.compressionLevel = level
        return preferences
    }

    public static func maxCompressedSize(_ count: Int, level: Int32 = 0) -> Int {
        var preferences = preferences(level: level)
        return LZ4F_compressFrameBound(count, &preferences)
    }

    public static func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, level: Int32 = 0
    ) throws(CompressionError) -> Int {
        var preferences = preferences(level: level)
        var empty: UInt8 = 0
        let written = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            LZ4F_compressFrame(
                output.baseAddress, output.count, input.baseAddress ?? UnsafeRawPointer(emptyPointer), input.count, &preferences)
        }
        if LZ4F_isError(written) != 0 {
            throw .compressionFailed(codec: .lz4, reason: String(cString: LZ4F_getErrorName(written)))
        }
        return written
    }

    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        guard let inputBase = input.baseAddress, input.count > 0 else { throw .truncated(codec: .lz4) }
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw .corrupt(codec: .lz4, reason: "cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = DecompressionOutput(initialCapacity: initialDecompressionCapacity(input.count, limit: limit), limit: limit)
        var consumed = 0
        var frameDone = false
        while true {
            if consumed == input.count && frameDone { break }
            if output.available == 0 && !output.grow() {
                throw .outputLimitExceeded(codec: .lz4, limit: limit)
            }
            var outSize = output.available
            var inSize = input.count - consumed
            let hint = LZ4F_decompress(context, output.freeSpace, &outSize, inputBase + consumed, &inSize, nil)
            if LZ4F_isError(hint) != 0 {
                throw .corrupt(codec: .lz4, reason: String(cString: LZ4F_getErrorName(hint)))
            }
            consumed += inSize
            output.count += outSize
            // 0: a frame ended; another may follow (concatenated frames decode as one stream).
            frameDone = hint == 0
            if consumed == input.count && !frameDone && outSize == 0 && output.available > 0 {
                throw .truncated(codec: .lz4)
            }
            if inSize == 0 && outSize == 0 && output.available > 0 && !frameDone {
                throw .corrupt(codec: .lz4, reason: "decoder made no progress")
            }
        }
        if output.count > limit { throw .outputLimitExceeded(codec: .lz4, limit: limit) }
        return output.makeArray()
    }
}

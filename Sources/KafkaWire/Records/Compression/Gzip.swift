import CZlib

/// gzip (RFC 1952) through zlib: what Kafka's `compression.type=gzip` means. Decompression
/// also accepts a zlib stream and concatenated gzip members (as Java's GZIPInputStream does).
public enum Gzip {
    /// deflateBound for the gzip wrapper with default settings is compressBound plus the
    /// difference between gzip's 18-byte and zlib's 6-byte framing; 32 leaves room.
    public static func maxCompressedSize(_ count: Int) -> Int {
        Int(compressBound(uLong(count))) + 32
    }

    public static func compress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, level: Int32 = Z_DEFAULT_COMPRESSION
    ) throws(CompressionError) -> Int {
        guard input.count <= Int(UInt32.max), output.count > 0 else {
            throw .compressionFailed(codec: .gzip, reason: "input of \(input.count) bytes or output space of \(output.count) out of range")
        }
        var stream = z_stream()
        let initStatus = lab_deflateInit2(&stream, level, 15 + 16)
        guard initStatus == Z_OK else {
            throw .compressionFailed(codec: .gzip, reason: "deflateInit2 returned \(initStatus)")
        }
        defer { deflateEnd(&stream) }
        // zlib accepts a null next_in when avail_in is 0 (empty input).
        stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(min(output.count, Int(UInt32.max)))
        let status = deflate(&stream, Z_FINISH)
        guard status == Z_STREAM_END else {
            throw .compressionFailed(codec: .gzip, reason: "deflate returned \(status) (output space \(output.count) bytes)")
        }
        return Int(stream.total_out)
    }

    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        guard input.count <= Int(UInt32.max) else { throw .corrupt(codec: .gzip, reason: "input larger than 4 GiB") }
        guard input.count > 0 else { throw .truncated(codec: .gzip) }
        var stream = z_stream()
        // 15 + 32: a window of up to 32 KiB, gzip or zlib header detected automatically.
        let initStatus = lab_inflateInit2(&stream, 15 + 32)
        guard initStatus == Z_OK else { throw .corrupt(codec: .gzip, reason: "inflateInit2 returned \(initStatus)") }
        defer { inflateEnd(&stream) }
        var output = DecompressionOutput(initialCapacity: initialDecompressionCapacity(input.count, limit: limit), limit: limit)
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            if output.available == 0 && !output.grow() {
                throw .outputLimitExceeded(codec: .gzip, limit: limit)
            }
            let chunk = min(output.available, Int(UInt32.max))
            stream.next_out = output.freeSpace.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(chunk)
            let inBefore = stream.avail_in
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = chunk - Int(stream.avail_out)
            output.count += produced
            switch status {
            case Z_STREAM_END:
                if output.count > limit { throw .outputLimitExceeded(codec: .gzip, limit: limit) }
                if stream.avail_in == 0 { return output.makeArray() }
                // Another gzip member follows.
                guard inflateReset(&stream) == Z_OK else { throw .corrupt(codec: .gzip, reason: "inflateReset failed") }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: either out of input (truncated) or out of output.
                if stream.avail_in == 0 || (inBefore == stream.avail_in && produced == 0 && output.available > 0) {
                    throw .truncated(codec: .gzip)
                }
            case Z_NEED_DICT:
                throw .corrupt(codec: .gzip, reason: "stream needs a preset dictionary")
            case Z_DATA_ERROR:
                let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw .corrupt(codec: .gzip, reason: message)
            case Z_MEM_ERROR:
                throw .corrupt(codec: .gzip, reason: "zlib out of memory")
            default:
                throw .corrupt(codec: .gzip, reason: "inflate returned \(status)")
            }
        }
    }
}

import WireCore

/// The byte layout shared by `RecordBatch.encode` and `RecordBatchBuilder`.
enum RecordWire {
    static let headerSize = RecordBatchHeader.size
    /// Offset of `attributes`, where the CRC-covered part begins.
    static let crcStart = 21
    static let magicOffset = 16
    static let crcOffset = 17
    /// attributes, timestampDelta, offsetDelta, key length, value length, header count.
    static let minimumRecordBodySize = 6

    @inline(__always)
    static func varintSize(_ value: Int64) -> Int {
        let zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        return zigzag == 0 ? 1 : (64 - zigzag.leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    static func nullableSize(_ count: Int?) -> Int {
        guard let count else { return 1 }
        return varintSize(Int64(count)) + count
    }

    static func headersSize(_ headers: [RecordHeader]) -> Int {
        var size = varintSize(Int64(headers.count))
        for header in headers {
            size += nullableSize(header.key.utf8.count) + nullableSize(header.value?.count)
        }
        return size
    }

    /// The record's size after its length prefix.
    @inline(__always)
    static func bodySize(
        timestampDelta: Int64, offsetDelta: Int32, keyCount: Int?, valueCount: Int?, headers: [RecordHeader]
    ) -> Int {
        1 + varintSize(timestampDelta) + varintSize(Int64(offsetDelta)) + nullableSize(keyCount) + nullableSize(valueCount)
            + (headers.isEmpty ? 1 : headersSize(headers))
    }

    @inline(__always)
    static func writeNullable(_ bytes: [UInt8]?, into writer: inout ByteWriter) {
        if let bytes {
            writer.writeVarint(Int64(bytes.count))
            writer.writeBytes(bytes)
        } else {
            writer.writeUInt8(1)  // zigzag(-1)
        }
    }

    static func writeRecord(
        into writer: inout ByteWriter, bodySize: Int, attributes: Int8, timestampDelta: Int64, offsetDelta: Int32,
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]
    ) {
        writer.writeVarint(Int64(bodySize))
        writer.writeInt8(attributes)
        writer.writeVarint(timestampDelta)
        writer.writeVarint(Int64(offsetDelta))
        writeNullable(key, into: &writer)
        writeNullable(value, into: &writer)
        writer.writeVarint(Int64(headers.count))
        for header in headers {
            writer.writeVarint(Int64(header.key.utf8.count))
            writer.writeString(header.key)
            writeNullable(header.value, into: &writer)
        }
    }

    /// `buffer` holds `headerSize` placeholder bytes and then the uncompressed records.
    /// Compresses the records if the attributes say so, then writes the header, the
    /// batchLength and the CRC. `header`'s batchLength, magic and crc are ignored.
    static func finish(
        _ buffer: inout [UInt8], header: RecordBatchHeader, settings: CompressionSettings
    ) throws(RecordBatchError) {
        guard let codec = header.attributes.compression else {
            throw .encoding(reason: "attributes name unknown compression \(header.attributes.compressionBits)")
        }
        if codec != .none {
            let bound = codec.maxCompressedSize(buffer.count - headerSize, settings: settings)
            let compressed: Result<[UInt8], CompressionError> = buffer.withUnsafeBytes { raw in
                compressedArray(capacity: headerSize + bound) { output throws(CompressionError) in
                    let written = try codec.compress(
                        UnsafeRawBufferPointer(rebasing: raw[headerSize...]),
                        into: UnsafeMutableRawBufferPointer(rebasing: output[headerSize...]), settings: settings)
                    return headerSize + written
                }
            }
            switch compressed {
            case .success(let bytes): buffer = bytes
            case .failure(let error): throw .encoding(reason: "\(error)")
            }
        }
        guard buffer.count - 12 <= Int(Int32.max) else {
            throw .encoding(reason: "batch of \(buffer.count) bytes exceeds the int32 batchLength")
        }
        let batchLength = Int32(buffer.count - 12)
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: header.baseOffset.bigEndian, toByteOffset: 0, as: Int64.self)
            raw.storeBytes(of: batchLength.bigEndian, toByteOffset: 8, as: Int32.self)
            raw.storeBytes(of: header.partitionLeaderEpoch.bigEndian, toByteOffset: 12, as: Int32.self)
            raw.storeBytes(of: 2, toByteOffset: 16, as: Int8.self)
            raw.storeBytes(of: header.attributes.rawValue.bigEndian, toByteOffset: 21, as: Int16.self)
            raw.storeBytes(of: header.lastOffsetDelta.bigEndian, toByteOffset: 23, as: Int32.self)
            raw.storeBytes(of: header.baseTimestamp.bigEndian, toByteOffset: 27, as: Int64.self)
            raw.storeBytes(of: header.maxTimestamp.bigEndian, toByteOffset: 35, as: Int64.self)
            raw.storeBytes(of: header.producerId.bigEndian, toByteOffset: 43, as: Int64.self)
            raw.storeBytes(of: header.producerEpoch.bigEndian, toByteOffset: 51, as: Int16.self)
            raw.storeBytes(of: header.baseSequence.bigEndian, toByteOffset: 53, as: Int32.self)
            raw.storeBytes(of: header.recordCount.bigEndian, toByteOffset: 57, as: Int32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[crcStart...]))
            raw.storeBytes(of: crc.bigEndian, toByteOffset: crcOffset, as: UInt32.self)
        }
    }
}

extension RecordBatch {
    /// The batch's wire bytes (magic 2, CRC and lengths filled in, records compressed with
    /// `attributes.compression`).
    public func encode(settings: CompressionSettings = CompressionSettings()) throws(RecordBatchError) -> [UInt8] {
        guard records.count <= Int(Int32.max) else { throw .encoding(reason: "\(records.count) records exceed the int32 count") }
        var size = RecordWire.headerSize
        for record in records {
            let offsetDelta = try Self.offsetDelta(record.offset, baseOffset)
            let body = RecordWire.bodySize(
                timestampDelta: record.timestamp &- baseTimestamp, offsetDelta: offsetDelta,
                keyCount: record.key?.count, valueCount: record.value?.count, headers: record.headers)
            size += RecordWire.varintSize(Int64(body)) + body
        }
        var writer = ByteWriter(capacity: size)
        writer.writeBytes(repeatElement(0 as UInt8, count: RecordWire.headerSize))
        for record in records {
            let offsetDelta = try Self.offsetDelta(record.offset, baseOffset)
            let timestampDelta = record.timestamp &- baseTimestamp
            let body = RecordWire.bodySize(
                timestampDelta: timestampDelta, offsetDelta: offsetDelta,
                keyCount: record.key?.count, valueCount: record.value?.count, headers: record.headers)
            guard body <= Int(Int32.max) else { throw .encoding(reason: "record at offset \(record.offset) is larger than 2 GiB") }
            RecordWire.writeRecord(
                into: &writer, bodySize: body, attributes: record.attributes, timestampDelta: timestampDelta,
                offsetDelta: offsetDelta, key: record.key, value: record.value, headers: record.headers)
        }
        var bytes = writer.bytes
        writer = ByteWriter(capacity: 0)
        try RecordWire.finish(&bytes, header: header(recordCount: Int32(records.count)), settings: settings)
        return bytes
    }

    /// Appends the batch's wire bytes to `writer` (a produce request's records field).
    public func encode(into writer: inout ByteWriter, settings: CompressionSettings = CompressionSettings()) throws(RecordBatchError) {
        writer.writeBytes(try encode(settings: settings))
    }

    func header(recordCount: Int32) -> RecordBatchHeader {
        RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: attributes, lastOffsetDelta: lastOffsetDelta, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: recordCount)
    }

    private static func offsetDelta(_ offset: Int64, _ baseOffset: Int64) throws(RecordBatchError) -> Int32 {
        let delta = offset &- baseOffset
        guard let narrow = Int32(exactly: delta) else {
            throw .encoding(reason: "record offset \(offset) is not within int32 of the base offset \(baseOffset)")
        }
        return narrow
    }
}

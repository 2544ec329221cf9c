import WireCore

/// A decoded batch header with its records section kept as bytes (decompressed if the batch
/// was compressed) and decoded record by record on demand. For an uncompressed batch
/// `recordBytes` is the input buffer itself: nothing is copied.
public struct RecordBatchView: Sendable {
    public let header: RecordBatchHeader
    /// The buffer holding the (uncompressed) records section at `recordRange`.
    public let recordBytes: [UInt8]
    public let recordRange: Range<Int>

    /// Decodes the batch that starts at `start`. Unlike `RecordBatchReader`, a batch cut
    /// short by `end` is an error (`.truncatedBatch`).
    public static func decode(
        _ bytes: [UInt8], from start: Int = 0, to end: Int? = nil,
        options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()
    ) throws(RecordBatchError) -> RecordBatchView {
        let end = min(end ?? bytes.count, bytes.count)
        guard start >= 0, start <= end else {
            throw .truncatedBatch(needed: RecordWire.headerSize, available: 0, offset: start)
        }
        let total = try Self.frameSize(bytes, from: start, to: end, partialIsError: true)!
        return try decodeFramed(bytes, from: start, total: total, options: options)
    }

    /// Checks magic and batchLength; the batch's total size, or nil if it does not fit
    /// before `end` (when `partialIsError` is false).
    static func frameSize(_ bytes: [UInt8], from start: Int, to end: Int, partialIsError: Bool) throws(RecordBatchError) -> Int? {
        let available = end - start
        // magic sits at byte 16 in every format (v0/v1: offset, size, crc, magic).
        guard available > RecordWire.magicOffset else {
            if partialIsError { throw .truncatedBatch(needed: RecordWire.headerSize, available: available, offset: start) }
            return nil
        }
        let magic = Int8(bitPattern: bytes[start + RecordWire.magicOffset])
        guard magic == 2 else {
            if magic == 0 || magic == 1 { throw .legacyMessageFormat(magic: magic, offset: start) }
            throw .unknownMagic(magic, offset: start)
        }
        let batchLength = Int32(bitPattern: loadUInt32(bytes, start + 8))
        guard batchLength >= Int32(RecordWire.headerSize - 12) else { throw .invalidBatchLength(batchLength, offset: start) }
        let total = 12 + Int(batchLength)
        guard total <= available else {
            if partialIsError { throw .truncatedBatch(needed: total, available: available, offset: start) }
            return nil
        }
        return total
    }

    static func decodeFramed(
        _ bytes: [UInt8], from start: Int, total: Int, options: RecordBatchDecodingOptions
    ) throws(RecordBatchError) -> RecordBatchView {
        let header = RecordBatchHeader(
            baseOffset: Int64(bitPattern: loadUInt64(bytes, start)),
            batchLength: Int32(bitPattern: loadUInt32(bytes, start + 8)),
            partitionLeaderEpoch: Int32(bitPattern: loadUInt32(bytes, start + 12)),
            magic: Int8(bitPattern: bytes[start + 16]),
            crc: loadUInt32(bytes, start + 17),
            attributes: RecordBatchAttributes(rawValue: Int16(bitPattern: loadUInt16(bytes, start + 21))),
            lastOffsetDelta: Int32(bitPattern: loadUInt32(bytes, start + 23)),
            baseTimestamp: Int64(bitPattern: loadUInt64(bytes, start + 27)),
            maxTimestamp: Int64(bitPattern: loadUInt64(bytes, start + 35)),
            producerId: Int64(bitPattern: loadUInt64(bytes, start + 43)),
            producerEpoch: Int16(bitPattern: loadUInt16(bytes, start + 51)),
            baseSequence: Int32(bitPattern: loadUInt32(bytes, start + 53)),
            recordCount: Int32(bitPattern: loadUInt32(bytes, start + 57)))
        let end = start + total
        if options.verifyCRC {
            let actual = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + RecordWire.crcStart)..<end]))
            }
            guard actual == header.crc else {
                throw .crcMismatch(expected: header.crc, actual: actual, baseOffset: header.baseOffset)
            }
        }
        guard let codec = header.attributes.compression else {
            throw .unknownCompression(bits: header.attributes.compressionBits, baseOffset: header.baseOffset)
        }
        guard header.recordCount >= 0 else { throw .invalidRecordCount(header.recordCount, baseOffset: header.baseOffset) }
        let recordsStart = start + RecordWire.headerSize
        if codec == .none {
            return RecordBatchView(header: header, recordBytes: bytes, recordRange: recordsStart..<end)
        }
        let decompressed: Result<[UInt8], CompressionError> = bytes.withUnsafeBytes { raw in
            Result { () throws(CompressionError) in
                try codec.decompress(UnsafeRawBufferPointer(rebasing: raw[recordsStart..<end]), limit: options.maxDecompressedBytes)
            }
        }
        switch decompressed {
        case .success(let records):
            return RecordBatchView(header: header, recordBytes: records, recordRange: 0..<records.count)
        case .failure(let error):
            throw .compression(error, baseOffset: header.baseOffset)
        }
    }

    /// An iterator that decodes one record per `next()`.
    public func makeRecordIterator() -> RecordIterator {
        RecordIterator(
            reader: ByteReader(recordBytes, from: recordRange.lowerBound, to: recordRange.upperBound),
            baseOffset: header.baseOffset, baseTimestamp: header.baseTimestamp, declaredCount: Int(header.recordCount))
    }

    /// Every record, materialized.
    public func records() throws(RecordBatchError) -> [Record] {
        var records: [Record] = []
        // A record takes at least 7 bytes: never reserve for more than the bytes can hold.
        records.reserveCapacity(min(Int(header.recordCount), recordRange.count / 7))
        var iterator = makeRecordIterator()
        while let record = try iterator.next() {
            records.append(record.record)
        }
        return records
    }

    /// The whole batch as a value.
    public func recordBatch() throws(RecordBatchError) -> RecordBatch {
        RecordBatch(
            baseOffset: header.baseOffset, partitionLeaderEpoch: header.partitionLeaderEpoch, attributes: header.attributes,
            lastOffsetDelta: header.lastOffsetDelta, baseTimestamp: header.baseTimestamp, maxTimestamp: header.maxTimestamp,
            producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
            records: try records())
    }
}

extension RecordBatch {
    /// Decodes exactly one batch starting at `start`; returns it and the index after it.
    public static func decode(
        _ bytes: [UInt8], from start: Int = 0, options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()
    ) throws(RecordBatchError) -> (batch: RecordBatch, endIndex: Int) {
        let view = try RecordBatchView.decode(bytes, from: start, options: options)
        return (try view.recordBatch(), start + view.header.totalSize)
    }
}

/// One record of a batch, its key, value and headers still slices of the batch's buffer.
public struct RecordView: Sendable {
    public let offset: Int64
    public let timestamp: Int64
    public let attributes: Int8
    public let key: ArraySlice<UInt8>?
    public let value: ArraySlice<UInt8>?
    public let headerCount: Int
    /// The record's buffer and where its headers (after the count) are, validated by the iterator.
    let buffer: [UInt8]
    let headersRange: Range<Int>

    /// Calls `body` with each header's key and value, without materializing them.
    public func forEachHeader<E: Error>(_ body: (ArraySlice<UInt8>, ArraySlice<UInt8>?) throws(E) -> Void) throws(E) {
        guard headerCount > 0 else { return }
        var reader = ByteReader(buffer, from: headersRange.lowerBound, to: headersRange.upperBound)
        for _ in 0..<headerCount {
            // Validated when the record was read; a failure here cannot happen, and would end the walk.
            guard let keyLength = try? reader.readVarint32(), keyLength >= 0,
                  let key = try? reader.readSlice(Int(keyLength)),
                  let valueLength = try? reader.readVarint32()
            else { return }
            if valueLength < 0 {
                try body(key, nil)
            } else {
                guard let value = try? reader.readSlice(Int(valueLength)) else { return }
                try body(key, value)
            }
        }
    }

    public var headers: [RecordHeader] {
        var headers: [RecordHeader] = []
        headers.reserveCapacity(headerCount)
        forEachHeader { key, value in
            headers.append(RecordHeader(key: String(decoding: key, as: UTF8.self), value: value.map { Array($0) }))
        }
        return headers
    }

    public var record: Record {
        Record(
            offset: offset, timestamp: timestamp, key: key.map { Array($0) }, value: value.map { Array($0) },
            headers: headers, attributes: attributes)
    }
}

/// Decodes the records of one batch one at a time. Each `next()` validates the whole record
/// (lengths, headers); after the declared count the records section must be exhausted.
public struct RecordIterator: Sendable {
    var reader: ByteReader
    let baseOffset: Int64
    let baseTimestamp: Int64
    public let declaredCount: Int
    public private(set) var index = 0

    public mutating func next() throws(RecordBatchError) -> RecordView? {
        if index == declaredCount {
            guard reader.isAtEnd else { throw .trailingBytes(count: reader.remaining, baseOffset: baseOffset) }
            return nil
        }
        guard !reader.isAtEnd else {
            throw .recordCountMismatch(declared: declaredCount, found: index, baseOffset: baseOffset)
        }
        do throws(WireDecodingError) {
            let record = try readRecord()
            index += 1
            return record
        } catch {
            // Stop here: a later next() must not resume in the middle of a bad record.
            let failedIndex = index
            reader.moveReaderIndex(to: reader.endIndex)
            index = declaredCount
            throw .malformedRecord(index: failedIndex, error, baseOffset: baseOffset)
        }
    }

    private mutating func readRecord() throws(WireDecodingError) -> RecordView {
        let lengthOffset = reader.readerIndex
        let length = Int(try reader.readVarint32("record length"))
        guard length >= RecordWire.minimumRecordBodySize else {
            throw .malformed(field: "record length", reason: "\(length) is less than the smallest record body", offset: lengthOffset)
        }
        try reader.require(length, "record")
        let end = reader.readerIndex + length
        var body = ByteReader(reader.bytes, from: reader.readerIndex, to: end)
        let attributes = try body.readInt8("record attributes")
        let timestampDelta = try body.readVarint("timestampDelta")
        let offsetDelta = try body.readVarint32("offsetDelta")
        let key = try Self.readNullable(&body, "key")
        let value = try Self.readNullable(&body, "value")
        let headerCountOffset = body.readerIndex
        let headerCount = try body.readVarint32("header count")
        guard headerCount >= 0 else {
            throw .malformed(field: "header count", reason: "negative count \(headerCount)", offset: headerCountOffset)
        }
        let headersStart = body.readerIndex
        for _ in 0..<Int(headerCount) {
            let keyOffset = body.readerIndex
            let keyLength = try body.readVarint32("header key length")
            guard keyLength >= 0 else {
                throw .malformed(field: "header key", reason: "length \(keyLength) (header keys are not nullable)", offset: keyOffset)
            }
            try body.skip(Int(keyLength), field: "header key")
            _ = try Self.readNullable(&body, "header value")
        }
        guard body.isAtEnd else {
            throw .malformed(field: "record", reason: "length \(length) but its fields end \(body.remaining) bytes earlier", offset: lengthOffset)
        }
        reader.moveReaderIndex(to: end)
        return RecordView(
            offset: baseOffset &+ Int64(offsetDelta), timestamp: baseTimestamp &+ timestampDelta, attributes: attributes,
            key: key, value: value, headerCount: Int(headerCount), buffer: reader.bytes, headersRange: headersStart..<end)
    }

    @inline(__always)
    private static func readNullable(_ reader: inout ByteReader, _ field: StaticString) throws(WireDecodingError) -> ArraySlice<UInt8>? {
        let offset = reader.readerIndex
        let length = try reader.readVarint32("\(field) length")
        if length == -1 { return nil }
        guard length >= 0 else {
            throw .malformed(field: "\(field) length", reason: "\(length) is neither -1 (null) nor a length", offset: offset)
        }
        return try reader.readSlice(Int(length), "\(field)")
    }
}

/// Reads the batches of a fetch response's records field one by one. Brokers cut the field
/// at the fetch size limit, so it may end in a partial batch: the reader then stops (returns
/// nil) and reports the partial bytes instead of failing.
public struct RecordBatchReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var position: Int
    public let endIndex: Int
    public let options: RecordBatchDecodingOptions
    /// After `next()` returned nil: the size of the incomplete batch left at the end (0 if
    /// the input ended at a batch boundary).
    public private(set) var partialTrailingBytes = 0

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) {
        self.bytes = bytes
        endIndex = min(max(end ?? bytes.count, 0), bytes.count)
        position = min(max(start, 0), endIndex)
        self.options = options
    }

    /// Whether the input ended inside a batch.
    public var stoppedAtPartialBatch: Bool { partialTrailingBytes > 0 }

    public mutating func next() throws(RecordBatchError) -> RecordBatchView? {
        guard position < endIndex else { return nil }
        do throws(RecordBatchError) {
            guard let total = try RecordBatchView.frameSize(bytes, from: position, to: endIndex, partialIsError: false) else {
                partialTrailingBytes = endIndex - position
                position = endIndex
                return nil
            }
            let view = try RecordBatchView.decodeFramed(bytes, from: position, total: total, options: options)
            position += total
            return view
        } catch {
            position = endIndex
            throw error
        }
    }

    /// Every complete batch, as views.
    public mutating func batches() throws(RecordBatchError) -> [RecordBatchView] {
        var batches: [RecordBatchView] = []
        while let batch = try next() { batches.append(batch) }
        return batches
    }
}

@inline(__always)
private func loadUInt16(_ bytes: [UInt8], _ index: Int) -> UInt16 {
    UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
}

@inline(__always)
private func loadUInt32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
    UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
}

@inline(__always)
private func loadUInt64(_ bytes: [UInt8], _ index: Int) -> UInt64 {
    UInt64(loadUInt32(bytes, index)) << 32 | UInt64(loadUInt32(bytes, index + 4))
}

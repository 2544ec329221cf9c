/// Reassembles logical packets from bytes that arrive split anywhere: frame headers, frame
/// bodies and 16 MiB continuation frames may all be cut at any byte. Returns whole payloads
/// or nil when more bytes are needed; a payload above `maxPayloadSize` or a broken
/// continuation sequence is a typed error.
public struct MySQLPacketDecoder: Sendable {
    public var maxPayloadSize: Int

    // Bytes given through `append` (tests, proxies); the connection decodes in place instead.
    private var buffer: [UInt8] = []
    private var bufferIndex = 0
    // A multi-frame payload being reassembled.
    private var partial: [UInt8] = []
    private var partialSequence: UInt8 = 0
    private var partialNextSequence: UInt8 = 0
    private var inPartial = false
    // The last single-frame payload handed out. Once the caller has dropped that packet the
    // array is uniquely referenced again and the next payload is copied into its storage:
    // no allocation per packet. A payload the caller kept stays intact (copy-on-write).
    private var scratch: [UInt8] = []

    public init(maxPayloadSize: Int = 256 * 1024 * 1024) {
        self.maxPayloadSize = maxPayloadSize
    }

    /// True when no bytes are held back (neither buffered nor a partial multi-frame payload).
    public var isIdle: Bool { bufferIndex == buffer.count && !inPartial }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if bufferIndex > 0 && bufferIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            bufferIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// True when bytes given through `append` are waiting (then keep appending: in-place
    /// decoding would see them out of order).
    public var hasBufferedBytes: Bool { bufferIndex < buffer.count }

    /// The next whole packet from the bytes appended so far.
    public mutating func next() throws(MySQLProtocolError) -> MySQLPacket? {
        // Move the buffer out so it stays uniquely referenced (compaction must not copy it).
        var bytes = buffer
        buffer = []
        var index = bufferIndex
        defer {
            if index == bytes.count {
                bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 20)
                index = 0
            } else if index > 64 * 1024 && index * 2 > bytes.count {
                bytes.removeSubrange(0..<index)
                index = 0
            }
            bufferIndex = index
            buffer = bytes
        }
        return try next(from: bytes, index: &index, end: bytes.count)
    }

    /// Length of the frame that starts at `index`, if its header is complete.
    public static func frameLength(in bytes: [UInt8], at index: Int, end: Int) -> Int? {
        guard end - index >= 4 else { return nil }
        return Int(bytes[index]) | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2]) << 16
    }

    /// The next whole packet from `bytes[index..<end]`, advancing `index` past every frame
    /// consumed (frames of an unfinished multi-frame payload are consumed and kept here).
    public mutating func next(from bytes: [UInt8], index: inout Int, end: Int) throws(MySQLProtocolError) -> MySQLPacket? {
        while end - index >= 4 {
            let length = Int(bytes[index]) | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2]) << 16
            let sequence = bytes[index + 3]
            let total = (inPartial ? partial.count : 0) + length
            if total > maxPayloadSize {
                throw .payloadTooLarge(size: total, limit: maxPayloadSize)
            }
            guard end - index - 4 >= length else { return nil }
            let bodyStart = index + 4
            if inPartial {
                guard sequence == partialNextSequence else {
                    throw .sequenceMismatch(expected: partialNextSequence, received: sequence)
                }
                partial.append(contentsOf: bytes[bodyStart..<(bodyStart + length)])
                index = bodyStart + length
                partialNextSequence = sequence &+ 1
                if length < MySQLPacket.maxFrameLength {
                    inPartial = false
                    let payload = partial
                    partial = []
                    return MySQLPacket(sequenceID: partialSequence, payload: payload)
                }
                continue
            }
            index = bodyStart + length
            if length < MySQLPacket.maxFrameLength {
                if length > 16 * 1024 || scratch.capacity > 16 * 1024 {
                    scratch = []
                    return MySQLPacket(sequenceID: sequence, payload: Array(bytes[bodyStart..<(bodyStart + length)]))
                }
                // One replace from a buffer pointer: a plain memcpy into the kept storage
                // (emptying it first and appending costs two trips through the generic paths).
                bytes.withUnsafeBufferPointer { all in
                    scratch.replaceSubrange(scratch.indices, with: UnsafeBufferPointer(rebasing: all[bodyStart..<(bodyStart + length)]))
                }
                return MySQLPacket(sequenceID: sequence, payload: scratch)
            }
            inPartial = true
            partialSequence = sequence
            partialNextSequence = sequence &+ 1
            partial = []
            partial.reserveCapacity(length * 2)
            partial.append(contentsOf: bytes[bodyStart..<(bodyStart + length)])
        }
        return nil
    }

    /// What `nextFrame` found.
    public enum Frame: Sendable {
        /// A whole one-frame packet, still in the caller's bytes at `start..<end`.
        case inPlace(sequenceID: UInt8, start: Int, end: Int)
        /// A packet reassembled from several frames (payloads of 16 MiB and more).
        case reassembled(MySQLPacket)
    }

    /// Like `next(from:index:end:)`, without copying a one-frame payload out of `bytes`: the
    /// caller decodes it where it lies, and copies only what it keeps.
    public mutating func nextFrame(from bytes: [UInt8], index: inout Int, end: Int) throws(MySQLProtocolError) -> Frame? {
        if !inPartial, let length = Self.frameLength(in: bytes, at: index, end: end), length < MySQLPacket.maxFrameLength {
            if length > maxPayloadSize { throw .payloadTooLarge(size: length, limit: maxPayloadSize) }
            guard end - index - 4 >= length else { return nil }
            let sequence = bytes[index + 3]
            let start = index + 4
            index = start + length
            return .inPlace(sequenceID: sequence, start: start, end: index)
        }
        guard let packet = try next(from: bytes, index: &index, end: end) else { return nil }
        return .reassembled(packet)
    }
}

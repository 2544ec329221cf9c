/// One logical packet: a payload and the sequence id of its first frame. On the wire a
/// payload is framed as 3-byte little-endian length + 1-byte sequence id; a payload of
/// 0xffffff bytes or more is split into 0xffffff-byte frames (each with the next sequence
/// id) and ends with a shorter frame, empty if the payload length is an exact multiple.
public struct MySQLPacket: Sendable, Hashable {
    public static let maxFrameLength = 0xff_ffff

    public var sequenceID: UInt8
    public var payload: [UInt8]

    public init(sequenceID: UInt8, payload: [UInt8]) {
        self.sequenceID = sequenceID
        self.payload = payload
    }

    /// Frames `payload` into `buffer` starting at `sequenceID`; returns the sequence id the
    /// next packet of the exchange must use.
    @discardableResult
    @inlinable
    public static func encode<C: Collection>(
        payload: C, sequenceID: UInt8, into buffer: inout [UInt8]
    ) -> UInt8 where C.Element == UInt8, C.Index == Int {
        var sequence = sequenceID
        var start = payload.startIndex
        buffer.reserveCapacity(buffer.count + payload.count + 4 * (payload.count / maxFrameLength + 1))
        while true {
            let length = min(maxFrameLength, payload.endIndex - start)
            buffer.append(UInt8(truncatingIfNeeded: length))
            buffer.append(UInt8(truncatingIfNeeded: length >> 8))
            buffer.append(UInt8(truncatingIfNeeded: length >> 16))
            buffer.append(sequence)
            buffer.append(contentsOf: payload[start..<(start + length)])
            sequence &+= 1
            start += length
            if length < maxFrameLength { return sequence }
        }
    }

    /// Frames a payload that is being built in place: `body` appends the payload to the
    /// buffer after a 4-byte header placeholder, which is then filled in (and the payload
    /// split if it reached 16 MiB). Avoids a copy for the common small packet.
    @discardableResult
    public static func encode(
        sequenceID: UInt8, into buffer: inout [UInt8], _ body: (inout [UInt8]) -> Void
    ) -> UInt8 {
        let headerIndex = buffer.count
        buffer.append(contentsOf: [0, 0, 0, sequenceID])
        body(&buffer)
        let length = buffer.count - headerIndex - 4
        if length < maxFrameLength {
            buffer[headerIndex] = UInt8(truncatingIfNeeded: length)
            buffer[headerIndex + 1] = UInt8(truncatingIfNeeded: length >> 8)
            buffer[headerIndex + 2] = UInt8(truncatingIfNeeded: length >> 16)
            return sequenceID &+ 1
        }
        let payload = Array(buffer[(headerIndex + 4)...])
        buffer.removeSubrange(headerIndex...)
        return encode(payload: payload, sequenceID: sequenceID, into: &buffer)
    }

    /// The wire bytes of this packet.
    public func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        MySQLPacket.encode(payload: payload, sequenceID: sequenceID, into: &buffer)
        return buffer
    }

    /// Sequence id expected for the packet that answers this one (after its last frame).
    public var nextSequenceID: UInt8 {
        sequenceID &+ UInt8(truncatingIfNeeded: payload.count / MySQLPacket.maxFrameLength + 1)
    }

    /// First payload byte (the packet's kind in most exchanges).
    public var header: UInt8? { payload.first }
}

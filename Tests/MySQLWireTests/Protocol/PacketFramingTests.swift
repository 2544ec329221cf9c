import MySQLWire
import PropertyBased
import Testing
import WireCore

@Suite struct PacketFramingTests {
    @Test func smallPacketGoldenBytes() {
        // COM_QUERY "select @@version_comment limit 1" (MySQL protocol docs).
        let payload = COMQuery(sql: "select @@version_comment limit 1").encoded()
        let bytes = MySQLPacket(sequenceID: 0, payload: payload).encoded()
        #expect(bytes == hex("21000000 03 73656c65637420404076657273696f6e5f636f6d6d656e74206c696d69742031"))
    }

    @Test func emptyPayloadIsAFourByteFrame() {
        #expect(MySQLPacket(sequenceID: 7, payload: []).encoded() == [0, 0, 0, 7])
    }

    @Test func payloadOfExactly16MiBMinusOneIsFollowedByAnEmptyFrame() throws {
        let payload = [UInt8](repeating: 0xab, count: MySQLPacket.maxFrameLength)
        var bytes: [UInt8] = []
        let next = MySQLPacket.encode(payload: payload, sequenceID: 3, into: &bytes)
        #expect(next == 5)
        #expect(bytes.count == MySQLPacket.maxFrameLength + 8)
        #expect(Array(bytes[0..<4]) == [0xff, 0xff, 0xff, 3])
        #expect(Array(bytes.suffix(4)) == [0, 0, 0, 4])
        var decoder = MySQLPacketDecoder()
        decoder.append(bytes)
        let packet = try decoder.next()
        #expect(packet?.payload.count == payload.count)
        #expect(packet?.sequenceID == 3)
        #expect(packet?.nextSequenceID == 5)
        #expect(try decoder.next() == nil)
        #expect(decoder.isIdle)
    }

    @Test func largePayloadSplitsAndJoins() throws {
        let count = 2 * MySQLPacket.maxFrameLength + 1000
        var payload = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 4093) { payload[i] = UInt8(truncatingIfNeeded: i / 4093) }
        var bytes: [UInt8] = []
        let next = MySQLPacket.encode(payload: payload, sequenceID: 255, into: &bytes)
        #expect(next == 2)  // 255, 0, 1 — the sequence id wraps
        #expect(bytes.count == count + 12)
        // In-place encoding gives the same frames.
        var inPlace: [UInt8] = []
        let nextInPlace = MySQLPacket.encode(sequenceID: 255, into: &inPlace) { $0.append(contentsOf: payload) }
        #expect(nextInPlace == next)
        #expect(inPlace == bytes)

        // Fed in uneven pieces, including cuts inside headers.
        var decoder = MySQLPacketDecoder()
        var decoded: [MySQLPacket] = []
        var offset = 0
        var step = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            decoder.append(bytes[offset..<end])
            while let packet = try decoder.next() { decoded.append(packet) }
            offset = end
            step = step * 7 % 3_000_017 + 1
        }
        #expect(decoded.count == 1)
        #expect(decoded.first?.payload == payload)
        #expect(decoded.first?.sequenceID == 255)
    }

    @Test func packetsSplitAnywhereDecodeTheSame() async {
        let generator = Generator<([[UInt8]], [Int]), Shrink.None<([[UInt8]], [Int])>> { rng in
            let payloads = (0..<Int.random(in: 1...6, using: &rng)).map { _ in
                (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let cuts = (0..<Int.random(in: 0...10, using: &rng)).map { _ in Int.random(in: 0...2000, using: &rng) }
            return (payloads, cuts)
        }
        await propertyCheck(count: 300, input: generator) { input in
            let (payloads, cuts) = input
            var bytes: [UInt8] = []
            for (index, payload) in payloads.enumerated() {
                MySQLPacket.encode(payload: payload, sequenceID: UInt8(index), into: &bytes)
            }
            let points = ([0, bytes.count] + cuts.map { min($0, bytes.count) }).sorted()
            var decoder = MySQLPacketDecoder()
            var decoded: [MySQLPacket] = []
            do {
                for (start, end) in zip(points, points.dropFirst()) {
                    decoder.append(bytes[start..<end])
                    while let packet = try decoder.next() { decoded.append(packet) }
                }
            } catch {
                Issue.record("decoding failed: \(error)")
            }
            #expect(decoded.map(\.payload) == payloads)
            #expect(decoded.map(\.sequenceID) == payloads.indices.map { UInt8($0) })
            #expect(decoder.isIdle)
        }
    }

    @Test func decodingInPlaceLeavesPartialFramesUnconsumed() throws {
        let bytes = MySQLPacket(sequenceID: 1, payload: [1, 2, 3]).encoded() + [5, 0, 0, 2, 9]
        var decoder = MySQLPacketDecoder()
        var index = 0
        let first = try decoder.next(from: bytes, index: &index, end: bytes.count)
        #expect(first == MySQLPacket(sequenceID: 1, payload: [1, 2, 3]))
        #expect(index == 7)
        #expect(try decoder.next(from: bytes, index: &index, end: bytes.count) == nil)
        #expect(index == 7)
    }

    @Test func oversizedPayloadIsRefusedBeforeItArrives() {
        var decoder = MySQLPacketDecoder(maxPayloadSize: 1000)
        decoder.append([0xe9, 0x03, 0x00, 0x00])  // announces 1001 bytes
        #expect(throws: MySQLProtocolError.payloadTooLarge(size: 1001, limit: 1000)) { try decoder.next() }
    }

    @Test func brokenContinuationSequenceIsTyped() {
        var decoder = MySQLPacketDecoder()
        decoder.append([0xff, 0xff, 0xff, 0x04])
        decoder.append([UInt8](repeating: 0, count: MySQLPacket.maxFrameLength))
        decoder.append([0x00, 0x00, 0x00, 0x09])  // should be 5
        #expect(throws: MySQLProtocolError.sequenceMismatch(expected: 5, received: 9)) { try decoder.next() }
    }
}

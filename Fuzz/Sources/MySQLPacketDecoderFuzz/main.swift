// libFuzzer entry point for `MySQLPacketDecoder`, the framing layer every MySQL byte passes
// through. Besides "never traps", it checks what the connection relies on, and traps (so
// libFuzzer saves the input) when one fails:
// - the same bytes split anywhere (appended piece by piece, or decoded in place from a
//   growing buffer as `MySQLConnection.channelRead` does) give the same packets and the
//   same error as the whole input appended at once;
// - the packets re-encode (`MySQLPacket.encode`) to exactly the bytes they were decoded
//   from, and a decoder with nothing pending reports itself idle;
// - a tighter `maxPayloadSize` only turns the outcome into `.payloadTooLarge` earlier,
//   never into different packets or a different error.
import MySQLWire

private struct Outcome: Equatable, CustomStringConvertible {
    var packets: [MySQLPacket] = []
    var error: MySQLProtocolError?
    var idle = true

    var description: String {
        let heads = packets.map { "#\($0.sequenceID):\($0.payload.count)B" }.joined(separator: " ")
        return "packets [\(heads)] error \(error.map { "\($0)" } ?? "none") idle \(idle)"
    }
}

private func fail(_ message: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(message)\ninput (\(bytes.count) bytes): \(bytes.prefix(64).map { String($0, radix: 16) }.joined(separator: " "))")
}

/// Appends `pieces` one by one and drains the decoder after each (the `append` API).
private func decodeAppending(_ pieces: [ArraySlice<UInt8>], limit: Int) -> Outcome {
    var decoder = MySQLPacketDecoder(maxPayloadSize: limit)
    var outcome = Outcome()
    do {
        for piece in pieces {
            decoder.append(piece)
            while let packet = try decoder.next() { outcome.packets.append(packet) }
        }
        outcome.idle = decoder.isIdle
    } catch {
        outcome.error = error
        outcome.idle = false
    }
    return outcome
}

/// Decodes in place from a buffer that grows by `pieces`, consuming from a read index (the
/// connection's path for frames that are not large).
private func decodeInPlace(_ pieces: [ArraySlice<UInt8>], limit: Int) -> Outcome {
    var decoder = MySQLPacketDecoder(maxPayloadSize: limit)
    var outcome = Outcome()
    var storage: [UInt8] = []
    var index = 0
    do {
        for piece in pieces {
            storage.append(contentsOf: piece)
            while let packet = try decoder.next(from: storage, index: &index, end: storage.count) {
                outcome.packets.append(packet)
            }
            // Like InboundBuffer: drop what was consumed now and then.
            if index > 0 && index == storage.count {
                storage.removeAll(keepingCapacity: true)
                index = 0
            }
        }
        outcome.idle = decoder.isIdle && index == storage.count
    } catch {
        outcome.error = error
        outcome.idle = false
    }
    return outcome
}

/// Cuts `bytes` at up to 8 points derived from the input itself (a saved crash reproduces).
private func pieces(_ bytes: [UInt8], seed: UInt64) -> [ArraySlice<UInt8>] {
    guard !bytes.isEmpty else { return [bytes[...]] }
    var state = seed | 1
    var cuts: [Int] = []
    for _ in 0..<Int(seed % 9) {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        cuts.append(Int(state % UInt64(bytes.count + 1)))
    }
    cuts.sort()
    var result: [ArraySlice<UInt8>] = []
    var start = 0
    for cut in cuts {
        result.append(bytes[start..<cut])
        start = cut
    }
    result.append(bytes[start...])
    return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func mysqlPacketDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let seed = bytes.reduce(UInt64(size)) { ($0 &* 31) &+ UInt64($1) }
    // Limits small enough that fuzzed lengths reach them; 16 MiB frames cannot complete
    // in a fuzz input, but their headers exercise the multi-frame path and its checks.
    let limit = (1 << 24) + 64
    let tight = Int((seed >> 40) % 512)

    let whole = decodeAppending([bytes[...]], limit: limit)
    let split = decodeAppending(pieces(bytes, seed: seed), limit: limit)
    guard split == whole else { fail("split input gave \(split), whole \(whole)", bytes) }
    let inPlace = decodeInPlace(pieces(bytes, seed: seed >> 8), limit: limit)
    guard inPlace == whole else { fail("in-place decoding gave \(inPlace), whole \(whole)", bytes) }
    let byteByByte = decodeInPlace(bytes.indices.map { bytes[$0...$0] }, limit: limit)
    guard byteByByte == whole else { fail("byte-by-byte decoding gave \(byteByByte), whole \(whole)", bytes) }

    // Re-encoding reproduces the consumed bytes exactly.
    var encoded: [UInt8] = []
    for packet in whole.packets {
        MySQLPacket.encode(payload: packet.payload, sequenceID: packet.sequenceID, into: &encoded)
    }
    guard encoded.count <= bytes.count, encoded[...] == bytes[..<encoded.count] else {
        fail("packets re-encode to \(encoded.count) bytes that differ from the input", bytes)
    }
    if whole.error == nil, whole.idle, encoded.count != bytes.count {
        fail("decoder idle with \(bytes.count - encoded.count) bytes unconsumed", bytes)
    }

    // A tighter limit: same packets up to where it first bites, then .payloadTooLarge.
    let limited = decodeAppending([bytes[...]], limit: tight)
    if limited != whole {
        guard case .payloadTooLarge(_, let reported) = limited.error, reported == tight,
              limited.packets.count <= whole.packets.count,
              Array(whole.packets.prefix(limited.packets.count)) == limited.packets
        else { fail("limit \(tight) gave \(limited), default limit \(whole)", bytes) }
    }
    return 0
}

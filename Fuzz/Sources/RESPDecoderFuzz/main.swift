// libFuzzer entry point for `RESPDecoder`. Besides "never traps", it checks the properties
// the client relies on, and traps (so libFuzzer saves the input) when one fails:
// - every thrown error is `.malformed` or `.limitExceeded`, never `.truncated`;
// - a decoded value re-encodes to bytes that decode to an equal value, consuming them all;
// - cutting the input short gives nil or the same verdict as the whole input, never a
//   different value or error (bytes arrive in arbitrary pieces);
// - tighter limits only turn outcomes into `.limitExceeded`, never into anything else.
import RESP
import WireCore

private let decoder = RESPDecoder()
private let tightDecoder = RESPDecoder(maxDepth: 3, maxBulkLength: 16, maxAggregateCount: 4, maxLineLength: 8)

private enum Outcome: Equatable {
    case incomplete
    case value(RESPValue, endIndex: Int)
    case failure(WireDecodingError)

    init(_ decoder: RESPDecoder, _ bytes: [UInt8], from start: Int, to end: Int) {
        do {
            if let (value, endIndex) = try decoder.decode(bytes, from: start, to: end) {
                self = .value(value, endIndex: endIndex)
            } else {
                self = .incomplete
            }
        } catch {
            self = .failure(error)
        }
    }
}

private func fail(_ message: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(message)\ninput: \(RESPValue.bulkString(bytes).description)")
}

private func checkRoundTrip(_ value: RESPValue, _ input: [UInt8]) {
    let encoded = RESPEncoder.encode(value)
    let redecoded = Outcome(decoder, encoded, from: 0, to: encoded.count)
    guard redecoded == .value(value, endIndex: encoded.count) else {
        fail("re-encoding \(value.debugDescription) gave \(encoded) which decodes to \(redecoded)", input)
    }
}

/// A cut of the input must not contradict the whole: nil is always allowed before the
/// value ends; a value must be the same value; an error must be the same error.
private func checkCut(at cut: Int, from start: Int, whole: Outcome, _ bytes: [UInt8]) {
    // For the first value, decode a separate array that ends at the cut, so a read past
    // `end` leaves the allocation, where AddressSanitizer sees it. Later values decode the
    // original array: copying every prefix would make long inputs quadratic.
    let partial = start == 0
        ? Outcome(decoder, Array(bytes[..<cut]), from: start, to: cut)
        : Outcome(decoder, bytes, from: start, to: cut)
    switch (whole, partial) {
    case (.value(_, let endIndex), .incomplete) where cut < endIndex: return
    case (.failure, .incomplete), (.incomplete, .incomplete): return
    case (.value(_, let endIndex), .value) where cut >= endIndex && partial == whole: return
    case (.failure, .failure) where partial == whole: return
    default: fail("cut at \(cut) gave \(partial), the whole input \(whole)", bytes)
    }
}

private func checkLimits(from start: Int, whole: Outcome, _ bytes: [UInt8]) {
    let limited = Outcome(tightDecoder, bytes, from: start, to: bytes.count)
    if case .failure(.limitExceeded) = limited { return }
    guard limited == whole else { fail("tight limits gave \(limited), default limits \(whole)", bytes) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func respDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Two cut points derived from the input itself, so a saved crash reproduces exactly.
    let seed = bytes.reduce(UInt64(size)) { ($0 &* 31) &+ UInt64($1) }
    var start = 0
    // Like a client draining a buffer of pipelined replies.
    while start < bytes.count {
        let whole = Outcome(decoder, bytes, from: start, to: bytes.count)
        let remaining = bytes.count - start
        checkCut(at: start + Int(seed % UInt64(remaining)), from: start, whole: whole, bytes)
        checkCut(at: start + Int((seed >> 32) % UInt64(remaining + 1)), from: start, whole: whole, bytes)
        checkLimits(from: start, whole: whole, bytes)
        switch whole {
        case .incomplete:
            return 0
        case .failure(let error):
            if error.isTruncation { fail("decoder threw \(error)", bytes) }
            return 0
        case let .value(value, endIndex):
            guard endIndex > start && endIndex <= bytes.count else {
                fail("value ended at \(endIndex), outside \(start + 1)...\(bytes.count)", bytes)
            }
            checkRoundTrip(value, bytes)
            start = endIndex
        }
    }
    return 0
}

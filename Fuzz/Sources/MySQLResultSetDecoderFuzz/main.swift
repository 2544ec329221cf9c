// libFuzzer entry point for the MySQL result-set decoders: column definitions, text rows
// (raw and typed), binary rows, and OK / ERR / EOF packets, on arbitrary payloads. Besides
// "never traps" (every failure is a typed `MySQLProtocolError`), it checks that wherever the
// codec is symmetric, decode → encode → decode gives the first decode's value again, and
// traps (so libFuzzer saves the input) when that fails; and that rows and OK packets decoded
// inside a larger buffer (as the connection decodes them) match a decode of a copy.
//
// Input: byte 0 picks the decoder; for rows, byte 1 is the column count (0–15) and the
// next 2 bytes per column are its type and flags (bit 0 unsigned, bit 1 binary character
// set); for OK, byte 1 picks the capabilities; the rest is the payload.
import MySQLWire
import WireCore

private func fail(_ message: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(message)\ninput (\(bytes.count) bytes): \(bytes.prefix(96).map { String($0, radix: 16) }.joined(separator: " "))")
}

/// Equality of decoded values, with every NaN equal to every NaN (a NaN's payload does not
/// survive the text protocol's spelling, and NaN != NaN).
private func same(_ a: [MySQLValue], _ b: [MySQLValue]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        switch (x, y) {
        case let (.float(p), .float(q)) where p.isNaN && q.isNaN: continue
        case let (.double(p), .double(q)) where p.isNaN && q.isNaN: continue
        default: if x != y { return false }
        }
    }
    return true
}

/// The connection decodes result packets where they lie in its receive buffer. Decoding a
/// payload inside a larger buffer must give what decoding a copy gives: the same value, or
/// the same error once its offset is counted from the payload's first byte.
private func checkInPlace<T>(
    _ payload: [UInt8], _ input: [UInt8], _ what: String, equal: (T, T) -> Bool,
    _ decode: ([UInt8], Int, Int) throws(MySQLProtocolError) -> T
) {
    let start = 5
    // Bytes around the payload that would be misread as headers if a decoder strayed.
    let buffer = [UInt8](repeating: 0xfe, count: start) + payload + [0xff, 0xfb, 0x00]
    var copied: Result<T, MySQLProtocolError>
    var inPlace: Result<T, MySQLProtocolError>
    do throws(MySQLProtocolError) { copied = .success(try decode(payload, 0, payload.count)) } catch { copied = .failure(error) }
    do throws(MySQLProtocolError) { inPlace = .success(try decode(buffer, start, start + payload.count)) } catch { inPlace = .failure(error) }
    switch (copied, inPlace) {
    case let (.success(a), .success(b)):
        guard equal(a, b) else { fail("\(what) decodes as \(a) from a copy but \(b) in place", input) }
    case let (.failure(a), .failure(b)):
        var shifted = b
        if case let .decoding(message, error) = b { shifted = .decoding(message: message, error.shifted(by: -start)) }
        guard a == shifted else { fail("\(what) fails with \(a) from a copy but \(shifted) in place", input) }
    default:
        fail("\(what) decodes from a copy (\(copied)) and in place (\(inPlace)) differently", input)
    }
}

private func columns(_ spec: ArraySlice<UInt8>) -> (columns: [ColumnDefinition41], rest: ArraySlice<UInt8>) {
    guard let first = spec.first else { return ([], spec) }
    let count = Int(first % 16)
    var rest = spec.dropFirst()
    var result: [ColumnDefinition41] = []
    for index in 0..<count {
        let type = rest.popFirst() ?? 0xfd
        let flags = rest.popFirst() ?? 0
        result.append(ColumnDefinition41(
            name: "c\(index)", characterSet: flags & 2 != 0 ? 63 : 45, type: MySQLColumnType(rawValue: type),
            flags: flags & 1 != 0 ? .unsigned : []
        ))
    }
    return (result, rest)
}

private func checkColumnDefinition(_ payload: [UInt8], _ input: [UInt8]) {
    guard let column = try? ColumnDefinition41.decode(payload) else { return }
    let encoded = column.encoded()
    do {
        let again = try ColumnDefinition41.decode(encoded)
        guard again == column else { fail("column definition \(column) re-decodes as \(again)", input) }
    } catch {
        fail("column definition \(column) re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkTextRow(_ payload: [UInt8], columnCount: Int, _ input: [UInt8]) {
    guard let row = try? TextResultRow.decode(payload, columnCount: columnCount) else { return }
    // Without non-canonical length prefixes the bytes come back exactly; in any case the
    // values do.
    let encoded = row.encoded()
    do {
        let again = try TextResultRow.decode(encoded, columnCount: columnCount)
        guard again == row else { fail("text row re-decodes differently", input) }
    } catch {
        fail("text row re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkTypedTextRow(_ payload: [UInt8], columns: [ColumnDefinition41], _ input: [UInt8]) {
    checkInPlace(payload, input, "typed text row", equal: same) { (bytes, start, end) throws(MySQLProtocolError) in
        try TextResultRow.decodeValues(bytes, from: start, to: end, columns: columns)
    }
    guard let values = try? TextResultRow.decodeValues(payload, columns: columns) else { return }
    var writer = ByteWriter(capacity: 64)
    TextResultRow.encode(values: values, into: &writer)
    do {
        let again = try TextResultRow.decodeValues(writer.bytes, columns: columns)
        guard same(again, values) else { fail("typed text row \(values) re-decodes as \(again)", input) }
    } catch {
        fail("typed text row \(values) re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkBinaryRow(_ payload: [UInt8], columns: [ColumnDefinition41], _ input: [UInt8]) {
    checkInPlace(payload, input, "binary row", equal: same) { (bytes, start, end) throws(MySQLProtocolError) in
        try BinaryResultRow.decodeValues(bytes, from: start, to: end, columns: columns)
    }
    guard let values = try? BinaryResultRow.decodeValues(payload, columns: columns) else { return }
    let encoded = BinaryResultRow.encoded(values: values, columns: columns)
    do {
        let again = try BinaryResultRow.decodeValues(encoded, columns: columns)
        guard same(again, values) else { fail("binary row \(values) re-decodes as \(again)", input) }
    } catch {
        fail("binary row \(values) re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkOK(_ payload: [UInt8], capabilities: MySQLCapabilities, _ input: [UInt8]) {
    checkInPlace(payload, input, "OK", equal: ==) { (bytes, start, end) throws(MySQLProtocolError) in
        try OKPacket.decode(bytes, from: start, to: end, capabilities: capabilities)
    }
    _ = OKPacket.isOK(payload, deprecateEOF: capabilities.contains(.deprecateEOF))
    guard let ok = try? OKPacket.decode(payload, capabilities: capabilities) else { return }
    let encoded = ok.encoded(capabilities: capabilities)
    do {
        let again = try OKPacket.decode(encoded, capabilities: capabilities)
        guard again == ok else { fail("OK \(ok) re-decodes as \(again)", input) }
    } catch {
        fail("OK \(ok) re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkERR(_ payload: [UInt8], _ input: [UInt8]) {
    _ = ERRPacket.isERR(payload)
    guard let err = try? ERRPacket.decode(payload) else { return }
    // A SQLSTATE is 5 ASCII characters; other bytes there are not re-encodable as they came.
    if let state = err.error.sqlState, !(state.utf8.count == 5 && state.utf8.allSatisfy({ $0 < 0x80 })) { return }
    let encoded = err.encoded()
    do {
        let again = try ERRPacket.decode(encoded)
        guard again == err else { fail("ERR \(err) re-decodes as \(again)", input) }
    } catch {
        fail("ERR \(err) re-encodes to bytes that fail: \(error)", input)
    }
}

private func checkEOF(_ payload: [UInt8], _ input: [UInt8]) {
    let looksLikeEOF = EOFPacket.isEOF(payload)
    guard let eof = try? EOFPacket.decode(payload) else { return }
    guard looksLikeEOF else { fail("EOFPacket.decode accepted what isEOF rejects", input) }
    do {
        let again = try EOFPacket.decode(eof.encoded())
        guard again == eof else { fail("EOF \(eof) re-decodes as \(again)", input) }
    } catch {
        fail("EOF \(eof) re-encodes to bytes that fail: \(error)", input)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func mysqlResultSetDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let body = input.dropFirst()
    switch selector % 7 {
    case 0:
        checkColumnDefinition(Array(body), input)
    case 1:
        let count = Int(body.first ?? 0)
        checkTextRow(Array(body.dropFirst()), columnCount: count, input)
    case 2:
        let (columns, payload) = columns(body)
        checkTypedTextRow(Array(payload), columns: columns, input)
    case 3:
        let (columns, payload) = columns(body)
        checkBinaryRow(Array(payload), columns: columns, input)
    case 4:
        let bits = body.first ?? 0xff
        var capabilities: MySQLCapabilities = []
        if bits & 1 != 0 { capabilities.insert(.protocol41) }
        if bits & 2 != 0 { capabilities.insert(.transactions) }
        if bits & 4 != 0 { capabilities.insert(.sessionTrack) }
        if bits & 8 != 0 { capabilities.insert(.deprecateEOF) }
        checkOK(Array(body.dropFirst()), capabilities: capabilities, input)
    case 5:
        checkERR(Array(body), input)
    default:
        checkEOF(Array(body), input)
    }
    return 0
}

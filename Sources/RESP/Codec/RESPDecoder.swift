import WireCore

/// Decodes RESP2 and RESP3 values from bytes as they arrive from a connection.
///
/// `decode` is incremental without keeping state: given the bytes received so far it either
/// returns a complete value and where it ended, returns nil when the value is not complete
/// yet (the input may be cut anywhere, even inside a CRLF or a length), or throws when no
/// continuation could ever make the bytes valid. Errors never depend on where the input
/// was cut: a decision made on a prefix is the one made on the whole input. It never
/// throws `.truncated`, and never traps, whatever the input.
///
/// Limits bound what hostile or broken peers can make it do: nesting depth, the length of
/// bulk payloads, element counts, and the length of lines (simple strings, errors, doubles,
/// big numbers), so memory reserved and work done stay proportional to the bytes actually
/// received. Nesting is decoded recursively: each level takes about 0.5 KB of stack in
/// optimized builds and about 3 KB in debug builds, so the default depth of 64 fits even a
/// 512 KB thread stack; raise `maxDepth` with that in mind.
///
/// Besides the types a server sends, it accepts RESP3's streamed strings (`$?` with `;`
/// chunks) and streamed arrays, sets and maps (`*?`, `~?`, `%?` ended by `.`), decoding them
/// to the same values as their length-prefixed forms.
public struct RESPDecoder: Sendable {
    /// How many aggregates (arrays, maps, sets, pushes, attributes) may enclose one another.
    public var maxDepth: Int
    /// The longest bulk string, bulk error or verbatim string accepted (Redis'
    /// `proto-max-bulk-len` defaults to the same 512 MiB).
    public var maxBulkLength: Int
    /// The most elements (or pairs, for maps and attributes) one aggregate may announce.
    public var maxAggregateCount: Int
    /// The longest simple string, simple error, double or big number line, CRLF excluded.
    public var maxLineLength: Int

    public static let defaultMaxDepth = 64
    public static let defaultMaxBulkLength = 512 * 1024 * 1024
    public static let defaultMaxAggregateCount = 1 << 24
    public static let defaultMaxLineLength = 1 << 20

    public init(
        maxDepth: Int = RESPDecoder.defaultMaxDepth,
        maxBulkLength: Int = RESPDecoder.defaultMaxBulkLength,
        maxAggregateCount: Int = RESPDecoder.defaultMaxAggregateCount,
        maxLineLength: Int = RESPDecoder.defaultMaxLineLength
    ) {
        self.maxDepth = maxDepth
        self.maxBulkLength = maxBulkLength
        self.maxAggregateCount = maxAggregateCount
        self.maxLineLength = maxLineLength
    }

    /// Decodes one value from `bytes[start..<end]`.
    ///
    /// - Returns: the value and the index just past it, or nil if the bytes from `start`
    ///   are a valid but incomplete beginning of a value.
    /// - Throws: `.malformed` or `.limitExceeded`, naming the field and its offset in
    ///   `bytes`, when the bytes can never become a valid value.
    public func decode(
        _ bytes: [UInt8], from start: Int, to end: Int
    ) throws(WireDecodingError) -> (value: RESPValue, endIndex: Int)? {
        let end = min(end, bytes.count)
        let start = max(start, 0)
        guard start < end else { return nil }
        return try bytes.withUnsafeBufferPointer {
            (buffer) throws(WireDecodingError) -> (value: RESPValue, endIndex: Int)? in
            guard let base = buffer.baseAddress else { return nil }
            let parser = RESPParser(bytes: base, end: end, limits: self)
            guard let (value, next) = try parser.value(at: start, depth: 0) else { return nil }
            return (value, next)
        }
    }

    /// Decodes one value from the start of `bytes`.
    public func decode(_ bytes: [UInt8]) throws(WireDecodingError) -> (value: RESPValue, endIndex: Int)? {
        try decode(bytes, from: 0, to: bytes.count)
    }
}

/// The decoding pass over one contiguous buffer. Every function takes the index to start
/// at and returns what it parsed with the index just past it, or nil when the buffer ends
/// before the item does. Indices are absolute (so errors report offsets in the caller's
/// array) and never read at or past `end`.
private struct RESPParser {
    let bytes: UnsafePointer<UInt8>
    let end: Int
    let limits: RESPDecoder

    private enum Length {
        case count(Int)
        /// RESP2's `-1`.
        case null
        /// RESP3's `?`: a streamed string or aggregate follows.
        case streamed
    }

    /// Dispatches on the type byte. Only this function and the aggregate ones recurse, and
    /// every nesting level costs their stack frames, so they keep few locals and build no
    /// error text themselves, and the scalar parsers are kept out of line (`@inline(never)`)
    /// rather than merged into this frame.
    func value(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard start < end else { return nil }
        switch bytes[start] {
        case .plus: return try simpleString(at: start)
        case .minus: return try simpleError(at: start)
        case .colon: return try integer(at: start)
        case .dollar: return try bulkString(at: start)
        case .asterisk: return try array(at: start, depth: depth)
        case .underscore: return try null(at: start)
        case .hash: return try boolean(at: start)
        case .comma: return try double(at: start)
        case .openParenthesis: return try bigNumber(at: start)
        case .exclamationMark: return try bulkError(at: start)
        case .equals: return try verbatimString(at: start)
        case .percent: return try map(at: start, depth: depth)
        case .tilde: return try set(at: start, depth: depth)
        case .pipe: return try attribute(at: start, depth: depth)
        case .greaterThan: return try push(at: start, depth: depth)
        default: throw unknownType(at: start)
        }
    }

    // MARK: Scalars

    @inline(never)
    private func simpleString(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (text, next) = try textLine(from: start + 1, field: "simple string") else { return nil }
        return (.simpleString(text), next)
    }

    @inline(never)
    private func simpleError(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (text, next) = try textLine(from: start + 1, field: "simple error") else { return nil }
        return (.simpleError(text), next)
    }

    @inline(never)
    private func integer(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (number, next) = try integer(from: start + 1, field: "integer", allowsPlusSign: true) else {
            return nil
        }
        return (.integer(number), next)
    }

    @inline(never)
    private func bulkString(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (length, afterLength) = try length(
            from: start + 1, field: "bulk string length", limit: limits.maxBulkLength,
            allowsNull: true, allowsStreamed: true
        ) else { return nil }
        switch length {
        case .null:
            return (.null, afterLength)
        case .streamed:
            guard let (payload, next) = try streamedString(from: afterLength) else { return nil }
            return (.bulkString(payload), next)
        case .count(let count):
            guard let next = try blobEnd(from: afterLength, count: count, field: "bulk string") else { return nil }
            return (.bulkString(copy(from: afterLength, count: count)), next)
        }
    }

    @inline(never)
    private func null(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let next = try lineEnd(at: start + 1, field: "null") else { return nil }
        return (.null, next)
    }

    @inline(never)
    private func boolean(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        let body = start + 1
        guard body < end else { return nil }
        let flag: Bool
        switch bytes[body] {
        case .lowercaseT: flag = true
        case .lowercaseF: flag = false
        default:
            throw .malformed(field: "boolean", reason: "expected 't' or 'f', found \(describe(bytes[body]))", offset: body)
        }
        guard let next = try lineEnd(at: body + 1, field: "boolean") else { return nil }
        return (.boolean(flag), next)
    }

    @inline(never)
    private func double(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let lineEnd = try findLineEnd(from: start + 1, field: "double") else { return nil }
        return (.double(try double(from: start + 1, to: lineEnd)), lineEnd + 2)
    }

    @inline(never)
    private func bigNumber(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let lineEnd = try findLineEnd(from: start + 1, field: "big number") else { return nil }
        return (.bigNumber(try bigNumber(from: start + 1, to: lineEnd)), lineEnd + 2)
    }

    @inline(never)
    private func bulkError(at start: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (length, afterLength) = try length(
            from: start + 1, field: "bulk error length", limit: limits.maxBulkLength,
            allowsNull: false, allowsStreamed: false
        ), case .count(let count) = length else { return nil }
        guard let next = try blobEnd(from: afterLength, count: count, field: "bulk error") else { return nil }
        return (.bulkError(copy(from: afterLength, count: count)), next)
    }

    @inline(never)
    private func unknownType(at offset: Int) -> WireDecodingError {
        .malformed(field: "type", reason: "unknown type byte \(describe(bytes[offset]))", offset: offset)
    }

    // MARK: Lines and numbers

    /// The index of the CR ending the line that starts at `start`. Lines may not contain a
    /// lone CR or LF: the sender could not have meant one, and accepting it would let the
    /// encoder (which must keep lines CRLF-free) disagree with the decoder.
    @inline(__always)
    private func findLineEnd(from start: Int, field: String) throws(WireDecodingError) -> Int? {
        let limit = limits.maxLineLength
        // Scanning stops one byte past the longest allowed line, so a hostile endless line
        // costs at most `limit` bytes of work per call.
        let reachesLimit = end - start > limit
        let scanEnd = reachesLimit ? start + limit + 1 : end
        var index = start
        while index < scanEnd {
            let byte = bytes[index]
            if byte > .carriageReturn {
                index += 1
                continue
            }
            if byte == .carriageReturn {
                guard index + 1 < end else { return nil }
                guard bytes[index + 1] == .lineFeed else {
                    throw .malformed(
                        field: field, reason: "CR followed by \(describe(bytes[index + 1])) instead of LF",
                        offset: index + 1
                    )
                }
                return index
            }
            if byte == .lineFeed {
                throw .malformed(field: field, reason: "LF without a preceding CR", offset: index)
            }
            index += 1
        }
        // Scanning `limit + 1` bytes without meeting a CR means the line is too long,
        // whatever follows.
        if reachesLimit {
            throw .limitExceeded(field: field, value: scanEnd - start, limit: limit, offset: start)
        }
        return nil
    }

    private func textLine(from start: Int, field: String) throws(WireDecodingError) -> (String, Int)? {
        guard let lineEnd = try findLineEnd(from: start, field: field) else { return nil }
        // Error texts are informational; invalid UTF-8 is repaired rather than refused, so a
        // server quoting a user's binary key in an error does not break the connection.
        let text = String(decoding: UnsafeBufferPointer(start: bytes + start, count: lineEnd - start), as: UTF8.self)
        return (text, lineEnd + 2)
    }

    /// Expects CRLF at `index`.
    @inline(__always)
    private func lineEnd(at index: Int, field: String) throws(WireDecodingError) -> Int? {
        guard index < end else { return nil }
        guard bytes[index] == .carriageReturn else {
            throw .malformed(field: field, reason: "expected CRLF, found \(describe(bytes[index]))", offset: index)
        }
        guard index + 1 < end else { return nil }
        guard bytes[index + 1] == .lineFeed else {
            throw .malformed(
                field: field, reason: "CR followed by \(describe(bytes[index + 1])) instead of LF", offset: index + 1
            )
        }
        return index + 2
    }

    /// A decimal `[sign]digits` line read straight from the bytes. At most 19 digits, so
    /// the accumulator cannot overflow and a stream of leading zeros cannot keep it busy;
    /// the range check admits exactly Int64.min...Int64.max.
    @inline(__always)
    private func integer(
        from start: Int, field: String, allowsPlusSign: Bool
    ) throws(WireDecodingError) -> (Int64, Int)? {
        guard start < end else { return nil }
        var index = start
        var isNegative = false
        if bytes[index] == .minus {
            isNegative = true
            index += 1
        } else if allowsPlusSign && bytes[index] == .plus {
            index += 1
        }
        let digitsStart = index
        let maxMagnitude: UInt64 = isNegative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        while index < end {
            let byte = bytes[index]
            let digit = byte &- .zero
            if digit < 10 {
                guard index - digitsStart < 19 else {
                    throw .malformed(field: field, reason: "more than 19 digits", offset: start)
                }
                magnitude = magnitude &* 10 &+ UInt64(digit)
                guard magnitude <= maxMagnitude else {
                    throw .malformed(field: field, reason: "outside the 64-bit signed range", offset: start)
                }
                index += 1
                continue
            }
            guard index > digitsStart else {
                throw .malformed(field: field, reason: "expected a digit, found \(describe(byte))", offset: index)
            }
            guard byte == .carriageReturn else {
                throw .malformed(field: field, reason: "unexpected \(describe(byte)) in a number", offset: index)
            }
            guard index + 1 < end else { return nil }
            guard bytes[index + 1] == .lineFeed else {
                throw .malformed(
                    field: field, reason: "CR followed by \(describe(bytes[index + 1])) instead of LF",
                    offset: index + 1
                )
            }
            let number = isNegative ? Int64(bitPattern: 0 &- magnitude) : Int64(bitPattern: magnitude)
            return (number, index + 2)
        }
        return nil
    }

    private func length(
        from start: Int, field: String, limit: Int, allowsNull: Bool, allowsStreamed: Bool
    ) throws(WireDecodingError) -> (Length, Int)? {
        guard start < end else { return nil }
        if bytes[start] == .questionMark {
            guard allowsStreamed else {
                throw .malformed(field: field, reason: "a streamed length is not allowed for this type", offset: start)
            }
            guard let next = try lineEnd(at: start + 1, field: field) else { return nil }
            return (.streamed, next)
        }
        guard let (number, next) = try integer(from: start, field: field, allowsPlusSign: false) else { return nil }
        if bytes[start] == .minus {
            // -1 is RESP2's null; any other negative number (or -0) is meaningless.
            guard number == -1 else {
                throw .malformed(field: field, reason: "negative length -\(number.magnitude)", offset: start)
            }
            guard allowsNull else {
                throw .malformed(
                    field: field, reason: "-1 (null) is only valid for RESP2 bulk strings and arrays", offset: start
                )
            }
            return (.null, next)
        }
        // Compared as Int64 first so the conversion below cannot trap on a 32-bit Int.
        guard number <= Int64(limit) else {
            throw .limitExceeded(field: field, value: Int(clamping: number), limit: limit, offset: start)
        }
        return (.count(Int(number)), next)
    }

    /// Checks that `count` payload bytes and their CRLF follow `start`; returns the index
    /// past the CRLF. A wrong terminator is reported as soon as its byte is present.
    @inline(__always)
    private func blobEnd(from start: Int, count: Int, field: String) throws(WireDecodingError) -> Int? {
        // `count` is within a limit but may exceed what is left; compare by subtraction so
        // even a huge limit cannot overflow.
        guard count <= end - start else { return nil }
        let payloadEnd = start + count
        guard payloadEnd < end else { return nil }
        guard bytes[payloadEnd] == .carriageReturn else {
            throw .malformed(
                field: field, reason: "payload of \(count) bytes followed by \(describe(bytes[payloadEnd])) instead of CRLF",
                offset: payloadEnd
            )
        }
        return try lineEnd(at: payloadEnd, field: field)
    }

    @inline(__always)
    private func copy(from start: Int, count: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: bytes + start, count: count))
    }

    // MARK: Doubles, big numbers, verbatim strings

    /// Parses `[sign] digits [. digits] [e|E [sign] digits]`, or `inf`/`nan` in any case with
    /// an optional sign. The grammar is checked byte by byte before conversion because
    /// `Double(String)` would also accept hexadecimal floats and other forms RESP excludes.
    private func double(from start: Int, to stop: Int) throws(WireDecodingError) -> Double {
        if let special = specialDouble(from: start, to: stop) { return special }
        var index = start
        if index < stop && (bytes[index] == .plus || bytes[index] == .minus) { index += 1 }
        index = try digits(from: index, to: stop, field: "double", part: "integral part")
        if index < stop && bytes[index] == .dot {
            index = try digits(from: index + 1, to: stop, field: "double", part: "fraction")
        }
        if index < stop && (bytes[index] == .lowercaseE || bytes[index] == .uppercaseE) {
            index += 1
            if index < stop && (bytes[index] == .plus || bytes[index] == .minus) { index += 1 }
            index = try digits(from: index, to: stop, field: "double", part: "exponent")
        }
        guard index == stop else {
            throw .malformed(field: "double", reason: "unexpected \(describe(bytes[index]))", offset: index)
        }
        let text = String(decoding: UnsafeBufferPointer(start: bytes + start, count: stop - start), as: UTF8.self)
        guard let number = Double(text) else {
            throw .malformed(field: "double", reason: "not convertible to a double", offset: start)
        }
        return number
    }

    private func specialDouble(from start: Int, to stop: Int) -> Double? {
        var index = start
        var isNegative = false
        if index < stop && (bytes[index] == .plus || bytes[index] == .minus) {
            isNegative = bytes[index] == .minus
            index += 1
        }
        guard stop - index == 3 else { return nil }
        // ASCII letters differ from their uppercase form only in bit 0x20.
        let a = bytes[index] | 0x20, b = bytes[index + 1] | 0x20, c = bytes[index + 2] | 0x20
        if a == UInt8(ascii: "i") && b == UInt8(ascii: "n") && c == UInt8(ascii: "f") {
            return isNegative ? -.infinity : .infinity
        }
        if a == UInt8(ascii: "n") && b == UInt8(ascii: "a") && c == UInt8(ascii: "n") {
            return .nan
        }
        return nil
    }

    /// Skips one or more digits.
    private func digits(from start: Int, to stop: Int, field: String, part: String) throws(WireDecodingError) -> Int {
        var index = start
        while index < stop && bytes[index] &- .zero < 10 { index += 1 }
        guard index > start else {
            let found = start < stop ? describe(bytes[start]) : "the end of the line"
            throw .malformed(field: field, reason: "expected a digit in the \(part), found \(found)", offset: start)
        }
        return index
    }

    private func bigNumber(from start: Int, to stop: Int) throws(WireDecodingError) -> String {
        var index = start
        if index < stop && (bytes[index] == .plus || bytes[index] == .minus) { index += 1 }
        index = try digits(from: index, to: stop, field: "big number", part: "number")
        guard index == stop else {
            throw .malformed(field: "big number", reason: "unexpected \(describe(bytes[index]))", offset: index)
        }
        return String(decoding: UnsafeBufferPointer(start: bytes + start, count: stop - start), as: UTF8.self)
    }

    @inline(never)
    private func verbatimString(at typeByte: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        let start = typeByte + 1
        guard let (length, payloadStart) = try length(
            from: start, field: "verbatim string length", limit: limits.maxBulkLength,
            allowsNull: false, allowsStreamed: false
        ), case .count(let count) = length else { return nil }
        guard count >= 4 else {
            throw .malformed(
                field: "verbatim string", reason: "length \(count) cannot hold the 'xxx:' format prefix", offset: start
            )
        }
        guard let next = try blobEnd(from: payloadStart, count: count, field: "verbatim string") else { return nil }
        // The format must be 3 printable ASCII bytes so it survives the trip through String
        // unchanged (the encoder writes its UTF-8 back).
        for index in payloadStart..<(payloadStart + 3) where !(0x20...0x7E).contains(bytes[index]) {
            throw .malformed(
                field: "verbatim string", reason: "format byte \(describe(bytes[index])) is not printable ASCII",
                offset: index
            )
        }
        guard bytes[payloadStart + 3] == .colon else {
            throw .malformed(
                field: "verbatim string", reason: "expected ':' after the 3-byte format, found \(describe(bytes[payloadStart + 3]))",
                offset: payloadStart + 3
            )
        }
        let format = String(decoding: UnsafeBufferPointer(start: bytes + payloadStart, count: 3), as: UTF8.self)
        return (.verbatimString(format: format, text: copy(from: payloadStart + 4, count: count - 4)), next)
    }

    // MARK: Aggregates

    /// The aggregate types, for their error names and the lengths they may have.
    private enum Aggregate {
        case array, set, push, map, attribute

        var lengthField: String {
            switch self {
            case .array: return "array length"
            case .set: return "set length"
            case .push: return "push length"
            case .map: return "map length"
            case .attribute: return "attribute length"
            }
        }

        var endField: String {
            switch self {
            case .array: return "array end"
            case .set: return "set end"
            case .push: return "push end"
            case .map: return "map end"
            case .attribute: return "attribute end"
            }
        }

        /// RESP2's `*-1`; the RESP3-only aggregates have `_` for null instead.
        var allowsNull: Bool { self == .array }

        /// The specification defines streamed arrays, sets and maps only.
        var allowsStreamed: Bool { self == .array || self == .set || self == .map }
    }

    private func array(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (elements, next) = try elements(of: .array, at: start, depth: depth) else { return nil }
        return (elements.map { .array($0) } ?? .null, next)
    }

    private func set(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (elements, next) = try elements(of: .set, at: start, depth: depth) else { return nil }
        return (elements.map { .set($0) } ?? .null, next)
    }

    private func push(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (elements, next) = try elements(of: .push, at: start, depth: depth) else { return nil }
        return (elements.map { .push($0) } ?? .null, next)
    }

    private func map(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (pairs, next) = try pairs(of: .map, at: start, depth: depth) else { return nil }
        return (.map(pairs), next)
    }

    private func attribute(at start: Int, depth: Int) throws(WireDecodingError) -> (RESPValue, Int)? {
        guard let (attributes, afterAttributes) = try pairs(of: .attribute, at: start, depth: depth) else {
            return nil
        }
        // The annotated value counts as one level deeper, so a chain of attributes is
        // bounded by `maxDepth` like any other nesting.
        guard let (value, next) = try value(at: afterAttributes, depth: depth + 1) else { return nil }
        return (.attribute(attributes, value), next)
    }

    /// The elements of an array, set or push starting at its type byte; nil elements for
    /// RESP2's null array.
    private func elements(
        of kind: Aggregate, at start: Int, depth: Int
    ) throws(WireDecodingError) -> ([RESPValue]?, Int)? {
        guard let (length, afterLength) = try length(
            from: start + 1, field: kind.lengthField, limit: limits.maxAggregateCount,
            allowsNull: kind.allowsNull, allowsStreamed: kind.allowsStreamed
        ) else { return nil }
        if case .null = length { return (nil, afterLength) }
        guard depth < limits.maxDepth else { throw depthExceeded(depth + 1, at: start) }
        var elements: [RESPValue] = []
        var index = afterLength
        if case .count(let count) = length {
            // Every element takes at least 3 bytes ("_\r\n"): a hostile count can reserve
            // no more than the bytes actually received could fill.
            elements.reserveCapacity(min(count, (end - afterLength) / 3))
            for _ in 0..<count {
                guard let (element, next) = try value(at: index, depth: depth + 1) else { return nil }
                elements.append(element)
                index = next
            }
            return (elements, index)
        }
        while true {
            guard index < end else { return nil }
            if bytes[index] == .dot {
                guard let next = try lineEnd(at: index + 1, field: kind.endField) else { return nil }
                return (elements, next)
            }
            guard elements.count < limits.maxAggregateCount else {
                throw countExceeded(kind, count: elements.count + 1, at: index)
            }
            guard let (element, next) = try value(at: index, depth: depth + 1) else { return nil }
            elements.append(element)
            index = next
        }
    }

    /// The pairs of a map or attribute starting at its type byte.
    private func pairs(of kind: Aggregate, at start: Int, depth: Int) throws(WireDecodingError) -> ([RESPPair], Int)? {
        guard let (length, afterLength) = try length(
            from: start + 1, field: kind.lengthField, limit: limits.maxAggregateCount,
            allowsNull: kind.allowsNull, allowsStreamed: kind.allowsStreamed
        ) else { return nil }
        guard depth < limits.maxDepth else { throw depthExceeded(depth + 1, at: start) }
        var pairs: [RESPPair] = []
        var index = afterLength
        // `length` refuses null for maps and attributes, so only counts and streams remain.
        if case .count(let count) = length {
            // A pair takes at least 6 bytes ("_\r\n_\r\n").
            pairs.reserveCapacity(min(count, (end - afterLength) / 6))
            for _ in 0..<count {
                guard let (key, afterKey) = try value(at: index, depth: depth + 1),
                      let (value, next) = try value(at: afterKey, depth: depth + 1)
                else { return nil }
                pairs.append(RESPPair(key: key, value: value))
                index = next
            }
            return (pairs, index)
        }
        while true {
            guard index < end else { return nil }
            if bytes[index] == .dot {
                guard let next = try lineEnd(at: index + 1, field: kind.endField) else { return nil }
                return (pairs, next)
            }
            guard pairs.count < limits.maxAggregateCount else {
                throw countExceeded(kind, count: pairs.count + 1, at: index)
            }
            guard let (key, afterKey) = try value(at: index, depth: depth + 1),
                  let (value, next) = try value(at: afterKey, depth: depth + 1)
            else { return nil }
            pairs.append(RESPPair(key: key, value: value))
            index = next
        }
    }

    @inline(never)
    private func depthExceeded(_ depth: Int, at offset: Int) -> WireDecodingError {
        .limitExceeded(field: "nesting depth", value: depth, limit: limits.maxDepth, offset: offset)
    }

    @inline(never)
    private func countExceeded(_ kind: Aggregate, count: Int, at offset: Int) -> WireDecodingError {
        .limitExceeded(field: kind.lengthField, value: count, limit: limits.maxAggregateCount, offset: offset)
    }

    /// `$?` followed by `;<length>` chunks, the last of length 0.
    private func streamedString(from start: Int) throws(WireDecodingError) -> ([UInt8], Int)? {
        var payload: [UInt8] = []
        var index = start
        while true {
            guard index < end else { return nil }
            guard bytes[index] == .semicolon else {
                throw .malformed(
                    field: "streamed string chunk", reason: "expected ';', found \(describe(bytes[index]))", offset: index
                )
            }
            guard let (length, afterLength) = try length(
                from: index + 1, field: "streamed string chunk length", limit: limits.maxBulkLength,
                allowsNull: false, allowsStreamed: false
            ), case .count(let count) = length else { return nil }
            if count == 0 { return (payload, afterLength) }
            guard count <= limits.maxBulkLength - payload.count else {
                let total = payload.count.addingReportingOverflow(count)
                throw .limitExceeded(
                    field: "streamed string length", value: total.overflow ? .max : total.partialValue,
                    limit: limits.maxBulkLength, offset: index
                )
            }
            guard let next = try blobEnd(from: afterLength, count: count, field: "streamed string chunk") else {
                return nil
            }
            payload.append(contentsOf: UnsafeBufferPointer(start: bytes + afterLength, count: count))
            index = next
        }
    }

    // MARK: Error text

    private func describe(_ byte: UInt8) -> String {
        if (0x21...0x7E).contains(byte) {
            return "'" + String(Unicode.Scalar(byte)) + "'"
        }
        let hex = String(byte, radix: 16)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}

extension UInt8 {
    fileprivate static let carriageReturn = UInt8(ascii: "\r")
    fileprivate static let lineFeed = UInt8(ascii: "\n")
    fileprivate static let zero = UInt8(ascii: "0")
    fileprivate static let plus = UInt8(ascii: "+")
    fileprivate static let minus = UInt8(ascii: "-")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let dollar = UInt8(ascii: "$")
    fileprivate static let asterisk = UInt8(ascii: "*")
    fileprivate static let underscore = UInt8(ascii: "_")
    fileprivate static let hash = UInt8(ascii: "#")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let openParenthesis = UInt8(ascii: "(")
    fileprivate static let exclamationMark = UInt8(ascii: "!")
    fileprivate static let equals = UInt8(ascii: "=")
    fileprivate static let percent = UInt8(ascii: "%")
    fileprivate static let tilde = UInt8(ascii: "~")
    fileprivate static let pipe = UInt8(ascii: "|")
    fileprivate static let greaterThan = UInt8(ascii: ">")
    fileprivate static let questionMark = UInt8(ascii: "?")
    fileprivate static let semicolon = UInt8(ascii: ";")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let lowercaseT = UInt8(ascii: "t")
    fileprivate static let lowercaseF = UInt8(ascii: "f")
    fileprivate static let lowercaseE = UInt8(ascii: "e")
    fileprivate static let uppercaseE = UInt8(ascii: "E")
}

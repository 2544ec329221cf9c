import WireCore

/// Writes RESP values in their RESP3 wire form (the RESP2 types keep their RESP2 form, which
/// RESP3 shares), and commands in the request form servers accept (an array of bulk strings).
///
/// Encoding never fails and never traps. A value that cannot be represented exactly is
/// written in a sanitized form chosen so that the framing can never be corrupted — a peer
/// can never be made to see a different message boundary than the value's structure:
/// - CR and LF inside a simple string, simple error or big number become spaces (as Redis
///   itself does for error messages);
/// - a verbatim format that is not exactly 3 UTF-8 bytes is cut or space-padded to 3 bytes.
/// A big number that is not digits still frames correctly but its peer will reject it.
public enum RESPEncoder {
    public static func encode(_ value: RESPValue, into writer: inout ByteWriter) {
        switch value {
        case .simpleString(let text):
            writer.writeUInt8(UInt8(ascii: "+"))
            writeLine(text, into: &writer)
        case .simpleError(let text):
            writer.writeUInt8(UInt8(ascii: "-"))
            writeLine(text, into: &writer)
        case .integer(let number):
            writer.writeUInt8(UInt8(ascii: ":"))
            writeDecimal(number, into: &writer)
            writer.writeRESPLineEnd()
        case .bulkString(let bytes):
            writeBlob(type: UInt8(ascii: "$"), bytes, into: &writer)
        case .null:
            writer.writeUInt8(UInt8(ascii: "_"))
            writer.writeRESPLineEnd()
        case .array(let elements):
            writeAggregate(type: UInt8(ascii: "*"), elements, into: &writer)
        case .boolean(let flag):
            writer.writeUInt8(UInt8(ascii: "#"))
            writer.writeUInt8(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            writer.writeRESPLineEnd()
        case .double(let number):
            writer.writeUInt8(UInt8(ascii: ","))
            writer.writeString(doubleText(number))
            writer.writeRESPLineEnd()
        case .bigNumber(let digits):
            writer.writeUInt8(UInt8(ascii: "("))
            writeLine(digits, into: &writer)
        case .bulkError(let bytes):
            writeBlob(type: UInt8(ascii: "!"), bytes, into: &writer)
        case let .verbatimString(format, text):
            writer.writeUInt8(UInt8(ascii: "="))
            writer.writeDecimal(text.count + 4)
            writer.writeRESPLineEnd()
            writeVerbatimFormat(format, into: &writer)
            writer.writeUInt8(UInt8(ascii: ":"))
            writer.writeBytes(text)
            writer.writeRESPLineEnd()
        case .map(let pairs):
            writePairs(type: UInt8(ascii: "%"), pairs, into: &writer)
        case .set(let elements):
            writeAggregate(type: UInt8(ascii: "~"), elements, into: &writer)
        case let .attribute(attributes, value):
            writePairs(type: UInt8(ascii: "|"), attributes, into: &writer)
            encode(value, into: &writer)
        case .push(let elements):
            writeAggregate(type: UInt8(ascii: ">"), elements, into: &writer)
        }
    }

    /// The encoded bytes of one value.
    public static func encode(_ value: RESPValue) -> [UInt8] {
        var writer = ByteWriter()
        encode(value, into: &writer)
        return writer.bytes
    }

    /// Writes a command as servers expect requests: an array of bulk strings, e.g.
    /// `*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`. Lengths are written as digits directly, without
    /// building a String, since this runs once per argument of every pipelined command.
    @inlinable
    public static func encodeCommand<Arguments: Collection>(
        _ arguments: Arguments, into writer: inout ByteWriter
    ) where Arguments.Element: Collection, Arguments.Element.Element == UInt8 {
        writer.writeUInt8(UInt8(ascii: "*"))
        writer.writeDecimal(arguments.count)
        writer.writeRESPLineEnd()
        for argument in arguments {
            writer.writeUInt8(UInt8(ascii: "$"))
            writer.writeDecimal(argument.count)
            writer.writeRESPLineEnd()
            writer.writeBytes(argument)
            writer.writeRESPLineEnd()
        }
    }

    /// `encodeCommand` for text arguments (`["SET", key, value]`), written as their UTF-8.
    @inlinable
    public static func encodeCommand<Arguments: Collection>(
        _ arguments: Arguments, into writer: inout ByteWriter
    ) where Arguments.Element: StringProtocol {
        writer.writeUInt8(UInt8(ascii: "*"))
        writer.writeDecimal(arguments.count)
        writer.writeRESPLineEnd()
        for argument in arguments {
            let utf8 = argument.utf8
            writer.writeUInt8(UInt8(ascii: "$"))
            writer.writeDecimal(utf8.count)
            writer.writeRESPLineEnd()
            writer.writeBytes(utf8)
            writer.writeRESPLineEnd()
        }
    }

    /// The text of a RESP3 double: `inf`, `-inf`, `nan`, or Swift's shortest representation
    /// that parses back to the same value (`1.5`, `1e-05`, `1e+20`), which fits the
    /// spec's grammar `[sign] digits [. digits] [e [sign] digits]`.
    static func doubleText(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        return number.description
    }

    // MARK: - Pieces

    private static func writeDecimal(_ number: Int64, into writer: inout ByteWriter) {
        if number < 0 {
            writer.writeUInt8(UInt8(ascii: "-"))
        }
        // `magnitude` covers Int64.min, which has no positive Int64 counterpart.
        writer.writeDecimalMagnitude(UInt(number.magnitude))
    }

    /// A line-terminated text field. CR and LF would end the line early and let the rest of
    /// the text be read as further messages, so they are replaced with spaces.
    private static func writeLine(_ text: String, into writer: inout ByteWriter) {
        let utf8 = text.utf8
        if utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            for byte in utf8 {
                writer.writeUInt8(byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") ? UInt8(ascii: " ") : byte)
            }
        } else {
            writer.writeString(text)
        }
        writer.writeRESPLineEnd()
    }

    private static func writeBlob(type: UInt8, _ bytes: [UInt8], into writer: inout ByteWriter) {
        writer.writeUInt8(type)
        writer.writeDecimal(bytes.count)
        writer.writeRESPLineEnd()
        writer.writeBytes(bytes)
        writer.writeRESPLineEnd()
    }

    /// Exactly 3 bytes, because the length prefix already counted them.
    private static func writeVerbatimFormat(_ format: String, into writer: inout ByteWriter) {
        var written = 0
        for byte in format.utf8 where written < 3 {
            writer.writeUInt8(byte)
            written += 1
        }
        while written < 3 {
            writer.writeUInt8(UInt8(ascii: " "))
            written += 1
        }
    }

    private static func writeAggregate(type: UInt8, _ elements: [RESPValue], into writer: inout ByteWriter) {
        writer.writeUInt8(type)
        writer.writeDecimal(elements.count)
        writer.writeRESPLineEnd()
        for element in elements {
            encode(element, into: &writer)
        }
    }

    private static func writePairs(type: UInt8, _ pairs: [RESPPair], into writer: inout ByteWriter) {
        writer.writeUInt8(type)
        writer.writeDecimal(pairs.count)
        writer.writeRESPLineEnd()
        for pair in pairs {
            encode(pair.key, into: &writer)
            encode(pair.value, into: &writer)
        }
    }
}

extension ByteWriter {
    /// Internal to RESP and RESP-prefixed so it cannot collide with a line-terminator helper
    /// another file or module defines for its own text protocol.
    @inlinable
    mutating func writeRESPLineEnd() {
        writeUInt8(UInt8(ascii: "\r"))
        writeUInt8(UInt8(ascii: "\n"))
    }
}

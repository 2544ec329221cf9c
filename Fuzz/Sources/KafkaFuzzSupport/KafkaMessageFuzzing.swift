// The Kafka decoder fuzz harness, shared by the request and response entry points. The first
// two bytes pick the API (byte 0, modulo the number of APIs) and the version (byte 1, modulo
// that API's range); the rest is the message body. Besides "never traps", it checks the
// properties the client, the proxy and the fake broker rely on, and traps (so libFuzzer saves
// the input) when one fails:
// - a decoded value re-encodes at the same version (only a string grown past its limit by
//   UTF-8 repair may be refused), and those bytes decode to an equal value, consuming all;
// - re-encoding is stable: encode(decode(encode(v))) == encode(v);
// - every cut of the re-encoded bytes is reported as truncation, never as a value.
import KafkaWire
import WireCore

/// What the harness needs of `KafkaRequest` and `KafkaResponse`.
public protocol FuzzedKafkaMessage: Equatable {
    static func decode(apiKey: Int16, version: Int16, from reader: inout ByteReader) throws(KafkaDecodingError) -> Self
    func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError)
}

extension KafkaRequest: FuzzedKafkaMessage {}
extension KafkaResponse: FuzzedKafkaMessage {}

private let apis = ApiKey.allCases

private func fail(_ message: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(message)\ninput: \(bytes)")
}

private func decodeWhole<Message: FuzzedKafkaMessage>(_: Message.Type, _ key: ApiKey, _ version: Int16, _ bytes: [UInt8]) -> Result<Message, KafkaDecodingError> {
    var reader = ByteReader(bytes)
    do {
        let value = try Message.decode(apiKey: key.rawValue, version: version, from: &reader)
        guard reader.isAtEnd else {
            return .failure(.trailingBytes(message: "\(key)", version: version, count: reader.remaining))
        }
        return .success(value)
    } catch {
        return .failure(error)
    }
}

/// One libFuzzer input for the request or the response decoders.
public func fuzzKafkaMessages<Message: FuzzedKafkaMessage>(_: Message.Type, _ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let key = apis[Int(input[0]) % apis.count]
    let range = key.supportedVersions
    let version = range.lowerBound + Int16(Int(input[1]) % range.count)
    let body = Array(input[2...])

    // The header decoder sees the same bytes (it must not trap either).
    var headerReader = ByteReader(body)
    _ = try? KafkaRequestHeader(from: &headerReader)
    var responseHeaderReader = ByteReader(body)
    _ = try? KafkaResponseHeader(from: &responseHeaderReader, headerVersion: key.responseHeaderVersion(version))

    var reader = ByteReader(body)
    let value: Message
    do {
        value = try Message.decode(apiKey: key.rawValue, version: version, from: &reader)
    } catch {
        return 0
    }
    guard reader.readerIndex <= body.count else { fail("reader ran past the end", input) }

    var writer = ByteWriter()
    do {
        try value.encode(into: &writer, version: version)
    } catch {
        if case .tooLong = error { return 0 }
        fail("\(key) v\(version): a decoded value does not re-encode: \(error)", input)
    }
    let encoded = writer.bytes
    switch decodeWhole(Message.self, key, version, encoded) {
    case .failure(let error):
        fail("\(key) v\(version): re-encoded bytes do not decode: \(error)", input)
    case .success(let again):
        guard again == value else { fail("\(key) v\(version): re-decoded value differs", input) }
        var second = ByteWriter()
        do {
            try again.encode(into: &second, version: version)
        } catch {
            fail("\(key) v\(version): second encoding failed: \(error)", input)
        }
        guard second.bytes == encoded else { fail("\(key) v\(version): encoding is not stable", input) }
    }
    // A cut derived from the input, so a saved crash reproduces exactly.
    if !encoded.isEmpty {
        let seed = input.reduce(UInt64(size)) { ($0 &* 31) &+ UInt64($1) }
        let cut = Int(seed % UInt64(encoded.count))
        switch decodeWhole(Message.self, key, version, Array(encoded[..<cut])) {
        case .success:
            fail("\(key) v\(version): a cut at \(cut) of \(encoded.count) decoded", input)
        case .failure(let error):
            guard error.isTruncation else { fail("\(key) v\(version): cut at \(cut) gave \(error)", input) }
        }
    }
    return 0
}

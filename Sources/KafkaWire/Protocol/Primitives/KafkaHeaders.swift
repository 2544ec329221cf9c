import WireCore

/// The header in front of every request body. v1 (non-flexible APIs) and v2 (flexible) differ
/// only in v2's trailing tagged fields: the client id stays a classic int16-length nullable
/// string even in v2, so a broker can read it before it knows the API's encoding.
public struct KafkaRequestHeader: Sendable, Equatable {
    public var apiKey: Int16
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    public var unknownTaggedFields: [KafkaTaggedField]

    public init(apiKey: Int16, apiVersion: Int16, correlationId: Int32, clientId: String?, unknownTaggedFields: [KafkaTaggedField] = []) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// `headerVersion` is 1 or 2 (`ApiKey.requestHeaderVersion`).
    public func encode(into writer: inout ByteWriter, headerVersion: Int16) throws(KafkaEncodingError) {
        guard headerVersion == 1 || headerVersion == 2 else {
            throw .unsupportedVersion(message: "RequestHeader", version: headerVersion)
        }
        writer.writeKafkaInt16(apiKey)
        writer.writeKafkaInt16(apiVersion)
        writer.writeKafkaInt32(correlationId)
        try writer.writeKafkaNullableString(clientId, compact: false, message: "RequestHeader", field: "clientId")
        if headerVersion == 2 {
            writer.writeUnsignedVarint(UInt64(unknownTaggedFields.count))
            for field in unknownTaggedFields {
                writer.writeKafkaTaggedField(tag: field.tag, value: field.data)
            }
        } else if !unknownTaggedFields.isEmpty {
            throw .fieldNotInVersion(message: "RequestHeader", field: "unknownTaggedFields", version: headerVersion)
        }
    }

    public init(from reader: inout ByteReader, headerVersion: Int16) throws(KafkaDecodingError) {
        guard headerVersion == 1 || headerVersion == 2 else {
            throw .unsupportedVersion(message: "RequestHeader", version: headerVersion)
        }
        do throws(WireDecodingError) {
            apiKey = try reader.readKafkaInt16("apiKey")
            apiVersion = try reader.readKafkaInt16("apiVersion")
            correlationId = try reader.readKafkaInt32("correlationId")
            clientId = try reader.readKafkaNullableString(compact: false, "clientId")
            unknownTaggedFields = try Self.readTags(&reader, present: headerVersion == 2)
        } catch {
            throw .invalidField(message: "RequestHeader", version: headerVersion, error: error)
        }
    }

    /// Reads a request header whose version follows from its own API key and version (the
    /// first four bytes), as a broker or a tracing proxy does.
    public init(from reader: inout ByteReader) throws(KafkaDecodingError) {
        var peek = reader
        let key: Int16
        let version: Int16
        do throws(WireDecodingError) {
            key = try peek.readKafkaInt16("apiKey")
            version = try peek.readKafkaInt16("apiVersion")
        } catch {
            throw .invalidField(message: "RequestHeader", version: -1, error: error)
        }
        guard let api = ApiKey(rawValue: key) else { throw .unknownApiKey(key) }
        try self.init(from: &reader, headerVersion: api.requestHeaderVersion(version))
    }

    static func readTags(_ reader: inout ByteReader, present: Bool) throws(WireDecodingError) -> [KafkaTaggedField] {
        guard present else { return [] }
        let count = try reader.readKafkaTagCount("taggedFields")
        var fields: [KafkaTaggedField] = []
        for _ in 0..<count {
            let (tag, size) = try reader.readKafkaTagHeader("taggedFields")
            fields.append(try reader.readKafkaUnknownTag(tag: tag, size: size, "taggedFields"))
        }
        return fields
    }
}

/// The header in front of every response body: the correlation id, and in v1 (flexible
/// versions, except ApiVersions which always uses v0) tagged fields.
public struct KafkaResponseHeader: Sendable, Equatable {
    public var correlationId: Int32
    public var unknownTaggedFields: [KafkaTaggedField]

    public init(correlationId: Int32, unknownTaggedFields: [KafkaTaggedField] = []) {
        self.correlationId = correlationId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// `headerVersion` is 0 or 1 (`ApiKey.responseHeaderVersion`).
    public func encode(into writer: inout ByteWriter, headerVersion: Int16) throws(KafkaEncodingError) {
        guard headerVersion == 0 || headerVersion == 1 else {
            throw .unsupportedVersion(message: "ResponseHeader", version: headerVersion)
        }
        writer.writeKafkaInt32(correlationId)
        if headerVersion == 1 {
            writer.writeUnsignedVarint(UInt64(unknownTaggedFields.count))
            for field in unknownTaggedFields {
                writer.writeKafkaTaggedField(tag: field.tag, value: field.data)
            }
        } else if !unknownTaggedFields.isEmpty {
            throw .fieldNotInVersion(message: "ResponseHeader", field: "unknownTaggedFields", version: headerVersion)
        }
    }

    public init(from reader: inout ByteReader, headerVersion: Int16) throws(KafkaDecodingError) {
        guard headerVersion == 0 || headerVersion == 1 else {
            throw .unsupportedVersion(message: "ResponseHeader", version: headerVersion)
        }
        do throws(WireDecodingError) {
            correlationId = try reader.readKafkaInt32("correlationId")
            unknownTaggedFields = try KafkaRequestHeader.readTags(&reader, present: headerVersion == 1)
        } catch {
            throw .invalidField(message: "ResponseHeader", version: headerVersion, error: error)
        }
    }
}

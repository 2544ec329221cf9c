import WireCore

/// The first exchange on every broker connection: which version of each API both sides speak.
public enum ApiVersionsNegotiation {
    public struct Outcome: Sendable {
        /// The ApiVersions version the broker accepted.
        public var version: Int16
        public var response: ApiVersionsResponse
        public var table: KafkaApiVersionTable
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case connection(KafkaConnectionError)
        case decoding(KafkaDecodingError)
        case encoding(KafkaEncodingError)
        case broker(KafkaErrorCode)

        public var description: String {
            switch self {
            case let .connection(error): return "ApiVersions: \(error)"
            case let .decoding(error): return "ApiVersions response: \(error)"
            case let .encoding(error): return "ApiVersions request: \(error)"
            case let .broker(code): return "ApiVersions refused by the broker: \(code)"
            }
        }
    }

    /// Asks at our highest ApiVersions version. A broker that does not speak it answers
    /// UNSUPPORTED_VERSION, with a body that only older formats describe (KIP-511: a v0
    /// response; some implementations send other shapes), so, as the Java client does, the
    /// error code is read first and the request is retried at the broker's own maximum when it
    /// can be read, else at v0.
    public static func negotiate(
        _ connection: KafkaBrokerConnection,
        clientSoftwareName: String = "reliability-lab",
        clientSoftwareVersion: String = "0.1"
    ) async throws(Failure) -> Outcome {
        var version = KafkaApiVersionTable.initialApiVersionsVersion
        for _ in 0..<3 {
            let body = try await exchange(connection, version: version, name: clientSoftwareName, softwareVersion: clientSoftwareVersion)
            var header = ByteReader(body)
            let errorCode = (try? header.readBigEndian(Int16.self)) ?? -1
            if errorCode == KafkaErrorCode.unsupportedVersion.rawValue, version > 0 {
                var reader = ByteReader(body)
                let advertised = (try? ApiVersionsResponse(from: &reader, version: 0))?
                    .apiKeys.first { $0.apiKey == ApiKey.apiVersions.rawValue }?.maxVersion
                version = max(0, min((advertised ?? 0), version - 1))
                continue
            }
            var reader = ByteReader(body)
            let response: ApiVersionsResponse
            do {
                response = try ApiVersionsResponse(from: &reader, version: version)
            } catch {
                throw .decoding(error)
            }
            guard response.errorCode == 0 else { throw .broker(KafkaErrorCode(response.errorCode)) }
            return Outcome(version: version, response: response, table: KafkaApiVersionTable(broker: response.apiKeys))
        }
        throw .broker(.unsupportedVersion)
    }

    private static func exchange(
        _ connection: KafkaBrokerConnection, version: Int16, name: String, softwareVersion: String
    ) async throws(Failure) -> [UInt8] {
        let request = ApiVersionsRequest(clientSoftwareName: name, clientSoftwareVersion: softwareVersion)
        do {
            return try await connection.send(
                apiKey: ApiKey.apiVersions.rawValue, apiVersion: version, apiName: "ApiVersions",
                flexible: ApiKey.apiVersions.isFlexible(version)
            ) { writer in try request.encode(into: &writer, version: version) }
        } catch {
            throw .connection(error)
        }
    }
}

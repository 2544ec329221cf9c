import KafkaWire
import Testing
import WireCore

/// The broker connection against real brokers, with ApiVersions v0 encoded by hand (an
/// empty body; the response is error code + [api key, min, max]) so this layer is tested
/// independently of the generated codecs.
@Suite("KafkaBrokerConnection", .enabled(if: !KafkaTestCluster.all.isEmpty, KafkaTestCluster.skipReason))
struct KafkaBrokerConnectionTests {
    static func apiVersions(_ connection: KafkaBrokerConnection) async throws -> [Int16: ClosedRange<Int16>] {
        let body = try await connection.send(apiKey: 18, apiVersion: 0, apiName: "ApiVersions", flexible: false) { _ in }
        var reader = ByteReader(body)
        #expect(try reader.readBigEndian(Int16.self) == 0)
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        let count = try reader.readBigEndian(Int32.self)
        for _ in 0..<count {
            let key = try reader.readBigEndian(Int16.self)
            let low = try reader.readBigEndian(Int16.self)
            let high = try reader.readBigEndian(Int16.self)
            ranges[key] = low...high
        }
        return ranges
    }

    @Test("ApiVersions round trip; the broker lists Produce, Fetch and Metadata", arguments: KafkaTestCluster.all)
    func apiVersionsRoundTrip(cluster: KafkaTestCluster) async throws {
        let server = cluster.bootstrap[0]
        let connection = try await KafkaBrokerConnection.connect(.init(host: server.host, port: server.port))
        defer { connection.close() }
        let ranges = try await Self.apiVersions(connection)
        #expect(ranges[0] != nil && ranges[1] != nil && ranges[3] != nil, "\(ranges)")
    }

    @Test("100 requests in flight on one connection are answered and matched", arguments: KafkaTestCluster.all)
    func pipelined(cluster: KafkaTestCluster) async throws {
        let server = cluster.bootstrap[0]
        let connection = try await KafkaBrokerConnection.connect(.init(host: server.host, port: server.port))
        defer { connection.close() }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 { group.addTask { try await Self.apiVersions(connection).count } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.count == 100)
        #expect(Set(results).count == 1 && results[0] > 10)
    }

    /// Kafka never answers a Produce with acks=0; Tansu and librdkafka's mock do. Such an
    /// answer used to be taken for an out-of-order response and closed the connection, failing
    /// the requests around it (records of an acks=0 producer were lost at random).
    @Test("an answer to a Produce with acks=0 is dropped; the connection keeps working", arguments: KafkaTestCluster.all)
    func answeredAcksZeroProduce(cluster: KafkaTestCluster) async throws {
        let server = cluster.bootstrap[0]
        let connection = try await KafkaBrokerConnection.connect(.init(host: server.host, port: server.port))
        defer { connection.close() }
        for _ in 0..<3 {
            // Produce v3: transactional id null, acks 0, timeout, no topics.
            let written = try await connection.send(apiKey: 0, apiVersion: 3, apiName: "Produce", flexible: false, expectsResponse: false) { writer in
                writer.writeBigEndian(Int16(-1))
                writer.writeBigEndian(Int16(0))
                writer.writeBigEndian(Int32(1000))
                writer.writeBigEndian(Int32(0))
            }
            #expect(written.isEmpty)
            let ranges = try await Self.apiVersions(connection)
            #expect(ranges[0] != nil)
        }
        #expect(connection.isOpen)
    }

    @Test("a request to a closed port fails with a connection error, not a hang")
    func refused() async {
        await #expect {
            _ = try await KafkaBrokerConnection.connect(.init(host: "127.0.0.1", port: 1))
        } throws: { error in
            guard case .connection(.connectionRefused)? = error as? KafkaConnectionError else { return false }
            return true
        }
    }
}

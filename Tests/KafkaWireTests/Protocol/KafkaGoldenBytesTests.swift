import Testing
import WireCore

@testable import KafkaWire

/// Bytes written out by hand from https://kafka.apache.org/protocol (and KIP-482 for compact
/// lengths and tagged fields), not produced by our encoder: a shared misunderstanding between
/// encoder and decoder cannot hide here.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

func ascii(_ text: String) -> String {
    text.utf8.map { String(format: "%02x", $0) }.joined()
}

@Suite("Kafka golden bytes")
struct KafkaGoldenBytesTests {
    @Test("ApiVersionsRequest v3 with request header v2")
    func apiVersionsRequestV3() throws {
        let request = ApiVersionsRequest(clientSoftwareName: "swift", clientSoftwareVersion: "1.0")
        let header = KafkaRequestHeader(apiKey: 18, apiVersion: 3, correlationId: 7, clientId: "lab")
        #expect(ApiKey.apiVersions.requestHeaderVersion(3) == 2)
        var writer = ByteWriter()
        try header.encode(into: &writer, headerVersion: 2)
        try request.encode(into: &writer, version: 3)
        let expected = hex(
            "0012" + "0003" + "00000007"  // api key 18, version 3, correlation id 7
            + "0003" + ascii("lab")  // client id: an int16 length even in header v2
            + "00"  // header tagged fields
            + "06" + ascii("swift")  // compact string: length + 1
            + "04" + ascii("1.0")
            + "00")  // body tagged fields
        #expect(writer.bytes == expected)

        var reader = ByteReader(expected)
        let decodedHeader = try KafkaRequestHeader(from: &reader)
        #expect(decodedHeader == header)
        let decoded = try ApiVersionsRequest(from: &reader, version: 3)
        #expect(decoded == request)
        #expect(reader.isAtEnd)
    }

    @Test("ApiVersionsRequest v0-v2 has an empty body; the v3 fields are ignorable")
    func apiVersionsRequestOld() throws {
        let request = ApiVersionsRequest(clientSoftwareName: "swift", clientSoftwareVersion: "1.0")
        #expect(try request.encoded(version: 2) == [])
        #expect(try ApiVersionsRequest.decode([], version: 0) == ApiVersionsRequest())
    }

    @Test("ApiVersionsResponse v3 with supported features and the epoch as tagged fields")
    func apiVersionsResponseV3() throws {
        let bytes = hex(
            "0000"  // error code
            + "02" + "0012" + "0000" + "0004" + "00"  // one api key: 18, 0...4, its tags
            + "00000000"  // throttle time
            + "02"  // two tagged fields
            + "00" + "0a" + "02" + "04" + ascii("abc") + "0001" + "0002" + "00"  // tag 0, 10 bytes: [{abc 1...2}]
            + "01" + "08" + "0000000000000005")  // tag 1, 8 bytes: epoch 5
        let response = try ApiVersionsResponse.decode(bytes, version: 3)
        #expect(response.apiKeys == [.init(apiKey: 18, minVersion: 0, maxVersion: 4)])
        #expect(response.supportedFeatures == [.init(name: "abc", minVersion: 1, maxVersion: 2)])
        #expect(response.finalizedFeaturesEpoch == 5)
        #expect(response.finalizedFeatures.isEmpty)
        #expect(try response.encoded(version: 3) == bytes)
        #expect(ApiKey.apiVersions.responseHeaderVersion(3) == 0)
    }

    @Test("MetadataRequest v12: one topic by name, and null for every topic")
    func metadataRequestV12() throws {
        let request = MetadataRequest(
            topics: [.init(topicId: .zero, name: "orders")],
            allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true)
        let expected = hex(
            "02" + "00000000000000000000000000000000" + "07" + ascii("orders") + "00"  // topics
            + "00"  // allow auto topic creation
            + "01"  // include topic authorized operations (cluster's is gone after v10)
            + "00")
        #expect(try request.encoded(version: 12) == expected)
        #expect(try MetadataRequest.decode(expected, version: 12) == request)

        let all = MetadataRequest(topics: nil, allowAutoTopicCreation: true)
        #expect(try all.encoded(version: 12) == hex("00 01 00 00"))
        // v1-v8: classic int32 array length, -1 for null.
        #expect(try all.encoded(version: 4) == hex("ffffffff 01"))
    }

    @Test("MetadataRequest keeps unknown tagged fields byte for byte")
    func unknownTagsPreserved() throws {
        let bytes = hex("00 01 00" + "02 05 02 abcd 09 00")  // tags 5 (2 bytes) and 9 (empty)
        let request = try MetadataRequest.decode(bytes, version: 12)
        #expect(request.unknownTaggedFields == [
            KafkaTaggedField(tag: 5, data: [0xab, 0xcd]), KafkaTaggedField(tag: 9, data: []),
        ])
        #expect(try request.encoded(version: 12) == bytes)
    }

    @Test("ProduceRequest v9 with a records blob")
    func produceRequestV9() throws {
        let records: [UInt8] = [0xde, 0xad, 0xbe, 0xef]
        let request = ProduceRequest(
            transactionalId: nil, acks: -1, timeoutMs: 30000,
            topicData: [.init(name: "t", partitionData: [.init(index: 0, records: records)])])
        let expected = hex(
            "00"  // transactional id: compact null
            + "ffff" + "00007530"  // acks -1, timeout 30000
            + "02" + "02" + ascii("t")  // one topic "t"
            + "02" + "00000000" + "05deadbeef" + "00"  // one partition, records, its tags
            + "00"  // topic tags
            + "00")  // body tags
        #expect(try request.encoded(version: 9) == expected)
        #expect(try ProduceRequest.decode(expected, version: 9) == request)

        // v3-v8: int16 strings, int32 array counts and an int32 records length.
        let classic = hex("ffff ffff 00007530 00000001 0001" + ascii("t") + "00000001 00000000 00000004 deadbeef")
        #expect(try request.encoded(version: 8) == classic)
    }

    @Test("FetchResponse v12 with the current leader as tagged field 1")
    func fetchResponseV12() throws {
        let response = FetchResponse(
            throttleTimeMs: 0, errorCode: 0, sessionId: 0x1234_5678,
            responses: [.init(topic: "t", partitions: [
                .init(
                    partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0,
                    currentLeader: .init(leaderId: 1, leaderEpoch: 5),
                    abortedTransactions: nil, preferredReadReplica: -1, records: [1, 2, 3]),
            ])])
        let partition =
            "00000000" + "0000"  // index, error
            + "000000000000000a" + "000000000000000a" + "0000000000000000"  // hw, lso, log start
            + "00"  // aborted transactions: null
            + "ffffffff"  // preferred read replica
            + "04010203"  // records
            + "01" + "01" + "09" + "00000001" + "00000005" + "00"  // tag 1, size 9: leader 1 epoch 5 + its tags
        let expected = hex(
            "00000000" + "0000" + "12345678"  // throttle, error, session
            + "02" + "02" + ascii("t") + "02" + partition + "00"  // topic "t", its tags
            + "00")
        #expect(try response.encoded(version: 12) == expected)
        #expect(try FetchResponse.decode(expected, version: 12) == response)
    }

    @Test("FetchResponse v16: topic ids and node endpoints (tag 0)")
    func fetchResponseV16() throws {
        let id = KafkaUUID(mostSignificantBits: 0x0102_0304_0506_0708, leastSignificantBits: 0x090a_0b0c_0d0e_0f10)
        let response = FetchResponse(
            sessionId: 0,
            responses: [.init(topicId: id, partitions: [
                .init(partitionIndex: 3, errorCode: 6, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
                      abortedTransactions: [.init(producerId: 9, firstOffset: 4)], records: nil),
            ])],
            nodeEndpoints: [.init(nodeId: 1, host: "h", port: 9092, rack: nil)])
        let partition =
            "00000003" + "0006" + "ffffffffffffffff" + "ffffffffffffffff" + "ffffffffffffffff"
            + "02" + "0000000000000009" + "0000000000000004" + "00"  // one aborted txn + its tags
            + "ffffffff" + "00" + "00"  // preferred replica -1, records null, no tags
        let expected = hex(
            "00000000" + "0000" + "00000000"
            + "02" + "0102030405060708090a0b0c0d0e0f10" + "02" + partition + "00"
            + "01" + "00" + "0d" + "02" + "00000001" + "02" + ascii("h") + "00002384" + "00" + "00")
        #expect(try response.encoded(version: 16) == expected)
        #expect(try FetchResponse.decode(expected, version: 16) == response)
    }

    @Test("known and unknown tagged fields are merged in tag order")
    func taggedFieldOrder() throws {
        var response = FetchResponse.PartitionData(currentLeader: .init(leaderId: 2, leaderEpoch: 3))
        response.unknownTaggedFields = [KafkaTaggedField(tag: 0, data: []), KafkaTaggedField(tag: 7, data: [0xee])]
        // Tag 0 is DivergingEpoch, known: at its default it is not written, but an unknown
        // entry carrying tag 0 is written as given.
        var writer = ByteWriter()
        try response.encode(into: &writer, version: 12)
        let tail = Array(writer.bytes.suffix(1 + 2 + 2 + 9 + 3))
        #expect(tail == hex("03 0000 0109 00000002 00000003 00 0701ee"))
    }

    @Test("response headers: v1 for flexible versions, v0 for ApiVersions")
    func responseHeaders() throws {
        #expect(ApiKey.produce.responseHeaderVersion(9) == 1)
        #expect(ApiKey.produce.responseHeaderVersion(8) == 0)
        #expect(ApiKey.produce.requestHeaderVersion(8) == 1)
        var writer = ByteWriter()
        try KafkaResponseHeader(correlationId: 1).encode(into: &writer, headerVersion: 1)
        #expect(writer.bytes == hex("00000001 00"))
        var reader = ByteReader(hex("00000001 01 03 01 ff"))
        let header = try KafkaResponseHeader(from: &reader, headerVersion: 1)
        #expect(header.unknownTaggedFields == [KafkaTaggedField(tag: 3, data: [0xff])])
        #expect(reader.isAtEnd)
    }

    @Test("topic ids print as Kafka prints them (URL-safe base64, no padding)")
    func uuidDescription() {
        #expect(KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 1).description == "AAAAAAAAAAAAAAAAAAAAAQ")
        #expect(KafkaUUID(mostSignificantBits: .max, leastSignificantBits: .max).description == "_____________________w")
    }

    @Test("request headers v1 and v2 round-trip, client id null included")
    func requestHeaders() throws {
        for (version, tags) in [(Int16(1), [KafkaTaggedField]()), (2, [KafkaTaggedField(tag: 0, data: [1])])] {
            for clientId in [nil, "", "lab"] as [String?] {
                let header = KafkaRequestHeader(apiKey: 3, apiVersion: 12, correlationId: -5, clientId: clientId, unknownTaggedFields: tags)
                var writer = ByteWriter()
                try header.encode(into: &writer, headerVersion: version)
                var reader = ByteReader(writer.bytes)
                #expect(try KafkaRequestHeader(from: &reader, headerVersion: version) == header)
                #expect(reader.isAtEnd)
            }
        }
        var writer = ByteWriter()
        try KafkaRequestHeader(apiKey: 0, apiVersion: 3, correlationId: 1, clientId: nil).encode(into: &writer, headerVersion: 1)
        #expect(writer.bytes == hex("0000 0003 00000001 ffff"))
    }
}

@Suite("ApiVersions negotiation")
struct KafkaApiVersionTableTests {
    @Test("the highest common version per API; disjoint ranges and unknown keys are set aside")
    func negotiate() {
        let table = KafkaApiVersionTable(broker: [
            .init(apiKey: 0, minVersion: 0, maxVersion: 11),  // Produce: ours 3...13 → 11
            .init(apiKey: 1, minVersion: 0, maxVersion: 3),  // Fetch: ours 4...18 → none
            .init(apiKey: 18, minVersion: 0, maxVersion: 9),  // ApiVersions → ours max 4
            .init(apiKey: 999, minVersion: 0, maxVersion: 1),  // unknown to us
            .init(apiKey: 3, minVersion: 5, maxVersion: 2),  // malformed
        ])
        #expect(table.version(for: .produce) == 11)
        #expect(table.version(for: .fetch) == nil)
        #expect(table.incompatible[.fetch] == 0...3)
        #expect(table.version(for: .apiVersions) == 4)
        #expect(table.version(for: .metadata) == nil)
        #expect(table.versions.count == 2)
    }
}

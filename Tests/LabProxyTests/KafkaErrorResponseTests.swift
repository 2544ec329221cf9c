import KafkaWire
@testable import LabProxy
import Testing
import WireCore

/// The answers of a Kafka `fail` fault decode as responses of the request's API at every
/// version the codecs know, with the code in each error field.
struct KafkaErrorResponseTests {
    static let topicID = KafkaUUID(mostSignificantBits: 0x1234, leastSignificantBits: 0x5678)

    static func request(_ api: ApiKey, version: Int16) -> KafkaRequest {
        switch api {
        case .produce:
            return .produce(ProduceRequest(acks: 1, topicData: [.init(name: version >= 13 ? "" : "t", topicId: version >= 13 ? topicID : .zero,
                                                                      partitionData: [.init(index: 3)])]))
        case .fetch:
            return .fetch(FetchRequest(topics: [.init(topic: version >= 13 ? "" : "t", topicId: version >= 13 ? topicID : .zero,
                                                      partitions: [.init(partition: 3)])]))
        case .metadata:
            return .metadata(MetadataRequest(topics: [.init(name: "t")]))
        case .findCoordinator:
            return version >= 4 ? .findCoordinator(FindCoordinatorRequest(coordinatorKeys: ["g"])) : .findCoordinator(FindCoordinatorRequest(key: "g"))
        case .joinGroup: return .joinGroup(JoinGroupRequest())
        case .heartbeat: return .heartbeat(HeartbeatRequest())
        case .offsetCommit:
            return .offsetCommit(OffsetCommitRequest(groupId: "g", topics: [.init(name: "t", partitions: [.init(partitionIndex: 3)])]))
        case .initProducerId: return .initProducerId(InitProducerIdRequest())
        case .endTxn: return .endTxn(EndTxnRequest())
        default: fatalError("not answered")
        }
    }

    static func versions(_ api: ApiKey) -> ClosedRange<Int16> {
        switch api {
        case .produce: ProduceResponse.validVersions
        case .fetch: FetchResponse.validVersions
        case .metadata: MetadataResponse.validVersions
        case .findCoordinator: FindCoordinatorResponse.validVersions
        case .joinGroup: JoinGroupResponse.validVersions
        case .heartbeat: HeartbeatResponse.validVersions
        case .offsetCommit: OffsetCommitResponse.validVersions
        case .initProducerId: InitProducerIdResponse.validVersions
        case .endTxn: EndTxnResponse.validVersions
        default: 0...0
        }
    }

    /// Every error code a response carries.
    static func codes(_ response: KafkaResponse) -> [Int16] {
        switch response {
        case let .produce(r): r.responses.flatMap { $0.partitionResponses.map(\.errorCode) }
        case let .fetch(r): [r.errorCode] + r.responses.flatMap { $0.partitions.map(\.errorCode) }
        case let .metadata(r): [r.errorCode] + r.topics.map(\.errorCode)
        case let .findCoordinator(r): [r.errorCode] + r.coordinators.map(\.errorCode)
        case let .joinGroup(r): [r.errorCode]
        case let .heartbeat(r): [r.errorCode]
        case let .offsetCommit(r): r.topics.flatMap { $0.partitions.map(\.errorCode) }
        case let .initProducerId(r): [r.errorCode]
        case let .endTxn(r): [r.errorCode]
        default: []
        }
    }

    @Test(arguments: KafkaErrorResponse.answeredAPIs)
    func errorResponsesDecodeAtEveryVersion(api: ApiKey) throws {
        let code = KafkaErrorCode.notLeaderOrFollower.rawValue
        for version in Self.versions(api) {
            let frame = try #require(KafkaErrorResponse.frame(for: Self.request(api, version: version), apiKey: api.rawValue,
                                                              version: version, correlationID: 77, code: code),
                                     "\(api) v\(version)")
            #expect(Int(UInt32(frame[0]) << 24 | UInt32(frame[1]) << 16 | UInt32(frame[2]) << 8 | UInt32(frame[3])) == frame.count - 4)
            var reader = ByteReader(frame, from: 4)
            let header = try KafkaResponseHeader(from: &reader, headerVersion: api.responseHeaderVersion(version))
            #expect(header.correlationId == 77)
            let body = try KafkaResponse.decode(apiKey: api.rawValue, version: version, from: &reader)
            let codes = Self.codes(body)
            #expect(codes.contains(code), "\(api) v\(version): \(codes)")
            // Partition-level answers name the partitions asked for.
            switch body {
            case let .produce(r): #expect(r.responses.first?.partitionResponses.first?.index == 3)
            case let .fetch(r): #expect(r.responses.first?.partitions.first?.partitionIndex == 3)
            case let .offsetCommit(r): #expect(r.topics.first?.partitions.first?.partitionIndex == 3)
            default: break
            }
        }
    }

    @Test func errorCodesAreReadFromTheFaultMessage() {
        #expect(KafkaErrorResponse.errorCode(from: "NOT_LEADER_OR_FOLLOWER") == .notLeaderOrFollower)
        #expect(KafkaErrorResponse.errorCode(from: "not-leader-or-follower") == .notLeaderOrFollower)
        #expect(KafkaErrorResponse.errorCode(from: "6") == .notLeaderOrFollower)
        #expect(KafkaErrorResponse.errorCode(from: "injected by lab proxy") == .unknownServerError)
    }

    /// A fail fault behind a request still waiting for its response answers after that
    /// response (Kafka answers in order); an unanswered API closes the connection.
    @Test func failAnswersInRequestOrder() throws {
        let events = TraceRecorder()
        let failing = "Heartbeat"
        let context = FramerContext(connection: 1, route: "r", emit: { events.record($0) },
                                    failMessage: { names in names.contains(failing) ? "NOT_COORDINATOR" : nil })
        let framer = KafkaFramer(context: context)
        func requestFrame(_ api: ApiKey, _ version: Int16, _ correlation: Int32, _ body: KafkaRequest) throws -> [UInt8] {
            var writer = ByteWriter(capacity: 128)
            writer.writeBigEndian(Int32(0))
            try KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: correlation, clientId: "c")
                .encode(into: &writer, headerVersion: api.requestHeaderVersion(version))
            try body.encode(into: &writer, version: version)
            var bytes = writer.bytes
            let size = UInt32(bytes.count - 4)
            bytes[0] = UInt8(size >> 24); bytes[1] = UInt8((size >> 16) & 0xFF); bytes[2] = UInt8((size >> 8) & 0xFF); bytes[3] = UInt8(size & 0xFF)
            return bytes
        }
        let now = ProxyClock.now()
        let metadata = try requestFrame(.metadata, 9, 1, .metadata(MetadataRequest(topics: [])))
        let heartbeat = try requestFrame(.heartbeat, 4, 2, .heartbeat(HeartbeatRequest(groupId: "g")))
        let sent = framer.feed(metadata + heartbeat, direction: .upstream, now: now)
        #expect(sent.count == 2)
        #expect(sent[0].localReply == nil)
        #expect(sent[1].localReply == [])   // swallowed, answer deferred
        let metadataResponse = try #require(KafkaErrorResponse.frame(for: .metadata(MetadataRequest(topics: [])), apiKey: 3, version: 9,
                                                                     correlationID: 1, code: 0))
        let back = framer.feed(metadataResponse, direction: .downstream, now: now)
        #expect(back.count == 1)
        var reader = ByteReader(back[0].bytes, from: 4 + metadataResponse.count)
        let header = try KafkaResponseHeader(from: &reader, headerVersion: ApiKey.heartbeat.responseHeaderVersion(4))
        #expect(header.correlationId == 2)
        let body = try KafkaResponse.decode(apiKey: ApiKey.heartbeat.rawValue, version: 4, from: &reader)
        #expect(body == .heartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.notCoordinator.rawValue)))
        #expect(events.all.contains { $0.name == "Heartbeat" && $0["injected"] == .bool(true) && $0["error"] == .string("NOT_COORDINATOR") })

        // With nothing pending the answer goes straight back.
        let again = framer.feed(try requestFrame(.heartbeat, 4, 3, .heartbeat(HeartbeatRequest(groupId: "g"))), direction: .upstream, now: now)
        #expect((again.first?.localReply?.count ?? 0) > 0)
    }
}

import KafkaWire
import WireCore

/// The answer of a Kafka `fail` fault: a well-formed response of the request's API at the
/// request's version, carrying the error code in every error field that version has (top
/// level, per topic, per partition), so that the client takes its own error path (retry,
/// metadata refresh, coordinator lookup, fencing…).
///
/// Answered: Produce, Fetch, Metadata, FindCoordinator, JoinGroup, Heartbeat, OffsetCommit,
/// InitProducerId, EndTxn. Other APIs have no error answer here: the fault cuts the
/// connection instead, as a broker failure would.
public enum KafkaErrorResponse {
    /// The APIs a `fail` fault answers with an error response.
    public static let answeredAPIs: [ApiKey] = [.produce, .fetch, .metadata, .findCoordinator, .joinGroup, .heartbeat,
                                                .offsetCommit, .initProducerId, .endTxn]

    /// The error a fault message names: a code (`6`) or a protocol name
    /// (`NOT_LEADER_OR_FOLLOWER`, case-insensitive); anything else is UNKNOWN_SERVER_ERROR.
    public static func errorCode(from message: String) -> KafkaErrorCode {
        let trimmed = message.trimmingCharacters(in: .whitespaces)
        if let raw = Int16(trimmed) { return KafkaErrorCode(raw) }
        let name = String(trimmed.uppercased().map { $0 == "-" || $0 == " " ? "_" : $0 })
        return KafkaErrorCode.allKnown.first { $0.name == name } ?? .unknownServerError
    }

    /// The response body for `request` with `code` in its error fields; nil for the APIs not
    /// answered.
    public static func body(for request: KafkaRequest, version: Int16, code: Int16) -> KafkaResponse? {
        switch request {
        case let .produce(produce):
            return .produce(ProduceResponse(responses: produce.topicData.map { topic in
                ProduceResponse.TopicProduceResponse(name: topic.name, topicId: topic.topicId, partitionResponses: topic.partitionData.map {
                    ProduceResponse.PartitionProduceResponse(index: $0.index, errorCode: code, baseOffset: -1)
                })
            }))
        case let .fetch(fetch):
            return .fetch(FetchResponse(errorCode: version >= 7 ? code : 0, sessionId: 0, responses: fetch.topics.map { topic in
                FetchResponse.FetchableTopicResponse(topic: topic.topic, topicId: topic.topicId, partitions: topic.partitions.map {
                    FetchResponse.PartitionData(partitionIndex: $0.partition, errorCode: code, highWatermark: -1, records: [])
                })
            }))
        case let .metadata(metadata):
            return .metadata(MetadataResponse(topics: (metadata.topics ?? []).map {
                MetadataResponse.MetadataResponseTopic(errorCode: code, name: version >= 12 ? $0.name : ($0.name ?? ""), topicId: $0.topicId)
            }, errorCode: version >= 13 ? code : 0))
        case let .findCoordinator(find):
            if version >= 4 {
                return .findCoordinator(FindCoordinatorResponse(coordinators: find.coordinatorKeys.map {
                    FindCoordinatorResponse.Coordinator(key: $0, nodeId: -1, host: "", port: -1, errorCode: code)
                }))
            }
            return .findCoordinator(FindCoordinatorResponse(errorCode: code, nodeId: -1, host: "", port: -1))
        case .joinGroup:
            return .joinGroup(JoinGroupResponse(errorCode: code, generationId: -1))
        case .heartbeat:
            return .heartbeat(HeartbeatResponse(errorCode: code))
        case let .offsetCommit(commit):
            return .offsetCommit(OffsetCommitResponse(topics: commit.topics.map { topic in
                OffsetCommitResponse.OffsetCommitResponseTopic(name: topic.name, partitions: topic.partitions.map {
                    OffsetCommitResponse.OffsetCommitResponsePartition(partitionIndex: $0.partitionIndex, errorCode: code)
                })
            }))
        case .initProducerId:
            return .initProducerId(InitProducerIdResponse(errorCode: code, producerId: -1, producerEpoch: -1))
        case .endTxn:
            return .endTxn(EndTxnResponse(errorCode: code))
        default:
            return nil
        }
    }

    /// The whole response frame (size, header, body) answering `request`; nil when the API is
    /// not answered or the response cannot be encoded at that version.
    public static func frame(for request: KafkaRequest, apiKey: Int16, version: Int16, correlationID: Int32, code: Int16) -> [UInt8]? {
        guard let api = ApiKey(rawValue: apiKey), let body = body(for: request, version: version, code: code) else { return nil }
        var writer = ByteWriter(capacity: 128)
        writer.writeBigEndian(Int32(0))
        do {
            try KafkaResponseHeader(correlationId: correlationID).encode(into: &writer, headerVersion: api.responseHeaderVersion(version))
            try body.encode(into: &writer, version: version)
        } catch {
            return nil
        }
        var bytes = writer.bytes
        let size = UInt32(bytes.count - 4)
        bytes[0] = UInt8(size >> 24); bytes[1] = UInt8((size >> 16) & 0xFF)
        bytes[2] = UInt8((size >> 8) & 0xFF); bytes[3] = UInt8(size & 0xFF)
        return bytes
    }
}

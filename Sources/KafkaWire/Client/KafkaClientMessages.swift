import WireCore

/// A generated request the client can send: its API key and its codec.
public protocol KafkaClientRequest: Sendable {
    /// The generated raw key.
    static var apiKey: Int16 { get }
    func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError)
}

extension KafkaClientRequest {
    public static var api: ApiKey {
        guard let key = ApiKey(rawValue: apiKey) else { preconditionFailure("generated request with unknown api key \(apiKey)") }
        return key
    }
}

/// A generated response the client can decode.
public protocol KafkaClientResponse: Sendable {
    init(from reader: inout ByteReader, version: Int16) throws(KafkaDecodingError)
}

extension KafkaClientResponse {
    /// Decodes a response body. Trailing bytes are ignored, as the Java client and franz-go
    /// do: librdkafka's mock appends a zero byte to flexible Metadata responses.
    public static func decodeIgnoringTrailingBytes(_ body: [UInt8], version: Int16) throws(KafkaDecodingError) -> Self {
        var reader = ByteReader(body)
        return try Self(from: &reader, version: version)
    }
}

/// Chooses the version a request goes out at.
public enum KafkaVersionChoice {
    /// The highest version both sides speak (the table holds the negotiated maximum), limited to
    /// `range` when the caller needs a version window (e.g. isolation level needs ListOffsets v2+).
    public static func version(
        for key: ApiKey, in table: KafkaApiVersionTable, within range: ClosedRange<Int16>? = nil
    ) -> Int16? {
        guard let negotiated = table.version(for: key) else { return nil }
        guard let range else { return negotiated }
        guard negotiated >= range.lowerBound else { return nil }
        return min(negotiated, range.upperBound)
    }
}

extension MetadataRequest: KafkaClientRequest {}
extension ProduceRequest: KafkaClientRequest {}
extension FetchRequest: KafkaClientRequest {}
extension ListOffsetsRequest: KafkaClientRequest {}
extension CreateTopicsRequest: KafkaClientRequest {}
extension DeleteTopicsRequest: KafkaClientRequest {}
extension DescribeClusterRequest: KafkaClientRequest {}
extension DescribeConfigsRequest: KafkaClientRequest {}
extension DescribeGroupsRequest: KafkaClientRequest {}
extension ListGroupsRequest: KafkaClientRequest {}
extension FindCoordinatorRequest: KafkaClientRequest {}
extension InitProducerIdRequest: KafkaClientRequest {}
extension JoinGroupRequest: KafkaClientRequest {}
extension SyncGroupRequest: KafkaClientRequest {}
extension HeartbeatRequest: KafkaClientRequest {}
extension LeaveGroupRequest: KafkaClientRequest {}
extension OffsetCommitRequest: KafkaClientRequest {}
extension OffsetFetchRequest: KafkaClientRequest {}
extension AddPartitionsToTxnRequest: KafkaClientRequest {}
extension AddOffsetsToTxnRequest: KafkaClientRequest {}
extension TxnOffsetCommitRequest: KafkaClientRequest {}
extension EndTxnRequest: KafkaClientRequest {}
extension DescribeTransactionsRequest: KafkaClientRequest {}
extension ListTransactionsRequest: KafkaClientRequest {}

extension MetadataResponse: KafkaClientResponse {}
extension ProduceResponse: KafkaClientResponse {}
extension FetchResponse: KafkaClientResponse {}
extension ListOffsetsResponse: KafkaClientResponse {}
extension CreateTopicsResponse: KafkaClientResponse {}
extension DeleteTopicsResponse: KafkaClientResponse {}
extension DescribeClusterResponse: KafkaClientResponse {}
extension DescribeConfigsResponse: KafkaClientResponse {}
extension DescribeGroupsResponse: KafkaClientResponse {}
extension ListGroupsResponse: KafkaClientResponse {}
extension FindCoordinatorResponse: KafkaClientResponse {}
extension InitProducerIdResponse: KafkaClientResponse {}
extension JoinGroupResponse: KafkaClientResponse {}
extension SyncGroupResponse: KafkaClientResponse {}
extension HeartbeatResponse: KafkaClientResponse {}
extension LeaveGroupResponse: KafkaClientResponse {}
extension OffsetCommitResponse: KafkaClientResponse {}
extension OffsetFetchResponse: KafkaClientResponse {}
extension AddPartitionsToTxnResponse: KafkaClientResponse {}
extension AddOffsetsToTxnResponse: KafkaClientResponse {}
extension TxnOffsetCommitResponse: KafkaClientResponse {}
extension EndTxnResponse: KafkaClientResponse {}
extension DescribeTransactionsResponse: KafkaClientResponse {}
extension ListTransactionsResponse: KafkaClientResponse {}

import KafkaWire
import WireCore

/// Maps a broker's advertised address to the proxy address that fronts it (multi-broker
/// form). Called on the event loop when a Metadata, FindCoordinator or DescribeCluster
/// response passes; returns nil to leave the address as it is.
public typealias KafkaAddressMapper = @Sendable (_ nodeID: Int32, _ host: String, _ port: Int32) -> (host: String, port: Int32)?

/// Kafka both ways: 4-byte size frames; requests' headers give API, version and correlation
/// id; responses are matched by correlation id and decoded with the generated codecs at the
/// request's version. With a mapper, broker addresses in Metadata/FindCoordinator/
/// DescribeCluster responses are rewritten and the response re-encoded at the same version.
public final class KafkaFramer: ProtocolFramer {
    struct Pending {
        var apiKey: Int16
        var version: Int16
        var name: String
        var fields: [(String, JSONValue)]
        var start: ProxyClock.Instant
    }

    /// Larger than any frame a client or broker sends (message.max.bytes, fetch.max.bytes):
    /// a bigger size is taken for garbage.
    static let maxFrame = 256 * 1024 * 1024

    private let context: FramerContext
    private let mapper: KafkaAddressMapper?
    private var upstream = DirectionBuffer()
    private var downstream = DirectionBuffer()
    private var pending: [Int32: Pending] = [:]
    /// The correlation id of the last request forwarded that expects a response.
    private var lastForwarded: Int32?
    /// Fail-fault answers waiting for the response of the request forwarded before them.
    private var deferredReplies: [(after: Int32, bytes: [UInt8])] = []

    public init(context: FramerContext, mapper: KafkaAddressMapper? = nil) {
        self.context = context
        self.mapper = mapper
    }

    public func feed(_ bytes: [UInt8], direction: ProxyDirection, now: ProxyClock.Instant) -> [ProxyFrame] {
        var buffer = direction == .upstream ? upstream : downstream
        defer { if direction == .upstream { upstream = buffer } else { downstream = buffer } }
        if buffer.blind {
            unparsed(direction, count: bytes.count, reason: "stream not decodable", now: now)
            return [ProxyFrame(bytes: bytes, unparsed: true)]
        }
        buffer.append(bytes)
        var frames: [ProxyFrame] = []
        while buffer.readable >= 4 {
            let s = buffer.start
            let size = Int(Int32(bitPattern: UInt32(buffer.bytes[s]) << 24 | UInt32(buffer.bytes[s + 1]) << 16
                | UInt32(buffer.bytes[s + 2]) << 8 | UInt32(buffer.bytes[s + 3])))
            let minimum = direction == .upstream ? 8 : 4
            guard size >= minimum && size <= Self.maxFrame else {
                let count = buffer.readable
                if let frame = buffer.goBlind() { frames.append(frame) }
                unparsed(direction, count: count, reason: "frame size \(size) out of range", now: now)
                break
            }
            guard buffer.readable >= 4 + size else { break }
            let frame = buffer.take(4 + size)
            frames.append(direction == .upstream ? request(frame, now: now) : response(frame, now: now))
        }
        return frames
    }

    private func unparsed(_ direction: ProxyDirection, count: Int, reason: String, now: ProxyClock.Instant) {
        context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                name: "unparsed", fields: [("direction", .string(direction.rawValue)), ("bytes", .int(Int64(count))),
                                                           ("reason", .string(reason))]))
    }

    // MARK: Requests

    private func request(_ frame: [UInt8], now: ProxyClock.Instant) -> ProxyFrame {
        let apiKey = Int16(bitPattern: UInt16(frame[4]) << 8 | UInt16(frame[5]))
        let version = Int16(bitPattern: UInt16(frame[6]) << 8 | UInt16(frame[7]))
        let correlation = frame.count >= 12
            ? Int32(bitPattern: UInt32(frame[8]) << 24 | UInt32(frame[9]) << 16 | UInt32(frame[10]) << 8 | UInt32(frame[11])) : -1
        let api = ApiKey(rawValue: apiKey)
        let name = api?.description ?? "ApiKey(\(apiKey))"
        var fields: [(String, JSONValue)] = []
        var expectsResponse = true
        var reader = ByteReader(frame, from: 4)
        var decoded: KafkaRequest?
        do {
            let header = try KafkaRequestHeader(from: &reader)
            if let clientID = header.clientId { fields.append(("client_id", .string(clientID))) }
            let body = try KafkaRequest.decode(apiKey: apiKey, version: version, from: &reader)
            decoded = body
            fields += Self.requestFields(body)
            if case let .produce(produce) = body, produce.acks == 0 { expectsResponse = false }
        } catch {
            fields.append(("request_decode_error", .string("\(error)")))
        }
        if let message = context.failMessage([name]) {
            let code = KafkaErrorResponse.errorCode(from: message)
            guard let decoded,
                  let reply = KafkaErrorResponse.frame(for: decoded, apiKey: apiKey, version: version, correlationID: correlation, code: code.rawValue)
            else {
                // No error response for this API (or the request did not decode): cut the
                // connection, as a broker failure would.
                context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                        name: name, version: Int(version), correlationID: Int64(correlation),
                                        fields: fields + [("injected", .string("connection closed: \(message)"))]))
                return ProxyFrame(bytes: frame, names: [name], closeConnection: true)
            }
            var injected = fields + [("injected", .bool(true)), ("error", Self.errorName(code.rawValue))]
            if let body = KafkaErrorResponse.body(for: decoded, version: version, code: code.rawValue) {
                injected += Self.responseFields(body).filter { $0.0 != "error" }
            }
            context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                    name: name, version: Int(version), correlationID: Int64(correlation), latencyMicros: 0,
                                    fields: injected))
            guard expectsResponse else { return ProxyFrame(bytes: frame, names: [name], localReply: []) }
            // Kafka answers in request order: behind a request still waiting for its response,
            // the error waits too and leaves right after that response.
            if let last = lastForwarded, pending[last] != nil {
                deferredReplies.append((after: last, bytes: reply))
                return ProxyFrame(bytes: frame, names: [name], localReply: [])
            }
            return ProxyFrame(bytes: frame, names: [name], localReply: reply)
        }
        if expectsResponse {
            pending[correlation] = Pending(apiKey: apiKey, version: version, name: name, fields: fields, start: now)
            lastForwarded = correlation
        } else {
            context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                    name: name, version: Int(version), correlationID: Int64(correlation), fields: fields))
        }
        return ProxyFrame(bytes: frame, names: [name])
    }

    static func requestFields(_ body: KafkaRequest) -> [(String, JSONValue)] {
        switch body {
        case let .produce(request):
            var fields: [(String, JSONValue)] = [("acks", .int(Int64(request.acks)))]
            if let id = request.transactionalId { fields.append(("transactional_id", .string(id))) }
            var partitions: [JSONValue] = []
            for topic in request.topicData {
                for partition in topic.partitionData {
                    var entry: [(String, JSONValue)] = [("topic", .string(topic.name)), ("partition", .int(Int64(partition.index)))]
                    entry += batchSummary(partition.records ?? [])
                    partitions.append(.object(entry))
                }
            }
            fields.append(("produce", .array(partitions)))
            return fields
        case let .fetch(request):
            return [("isolation_level", .string(request.isolationLevel == 1 ? "read_committed" : "read_uncommitted"))]
        case let .initProducerId(request):
            var fields: [(String, JSONValue)] = []
            if let id = request.transactionalId { fields.append(("transactional_id", .string(id))) }
            return fields
        case let .addPartitionsToTxn(request):
            if let first = request.transactions.first {
                return [("transactional_id", .string(first.transactionalId)), ("producer_id", .int(first.producerId)),
                        ("producer_epoch", .int(Int64(first.producerEpoch)))]
            }
            return [("transactional_id", .string(request.v3AndBelowTransactionalId)), ("producer_id", .int(request.v3AndBelowProducerId)),
                    ("producer_epoch", .int(Int64(request.v3AndBelowProducerEpoch))),
                    ("partitions", .array(request.v3AndBelowTopics.flatMap { topic in topic.partitions.map { .string("\(topic.name)-\($0)") } }))]
        case let .addOffsetsToTxn(request):
            return [("transactional_id", .string(request.transactionalId)), ("producer_id", .int(request.producerId)),
                    ("producer_epoch", .int(Int64(request.producerEpoch))), ("group_id", .string(request.groupId))]
        case let .endTxn(request):
            return [("transactional_id", .string(request.transactionalId)), ("producer_id", .int(request.producerId)),
                    ("producer_epoch", .int(Int64(request.producerEpoch))), ("committed", .bool(request.committed))]
        case let .txnOffsetCommit(request):
            return [("transactional_id", .string(request.transactionalId)), ("group_id", .string(request.groupId)),
                    ("producer_id", .int(request.producerId)), ("producer_epoch", .int(Int64(request.producerEpoch)))]
        default:
            return []
        }
    }

    /// Batch count, record count and the first batch's producer id/epoch/base sequence, read
    /// from the RecordBatch v2 headers without decompressing.
    static func batchSummary(_ records: [UInt8]) -> [(String, JSONValue)] {
        var offset = 0
        var batches = 0
        var count: Int64 = 0
        var fields: [(String, JSONValue)] = []
        func int64(_ at: Int) -> Int64 { (0..<8).reduce(Int64(0)) { $0 << 8 | Int64(records[at + $1]) } }
        func int32(_ at: Int) -> Int32 { Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(records[at + $1]) }) }
        func int16(_ at: Int) -> Int16 { Int16(bitPattern: UInt16(records[at]) << 8 | UInt16(records[at + 1])) }
        while offset + 61 <= records.count {
            let length = Int(int32(offset + 8))
            guard length > 0 else { break }
            if batches == 0 {
                fields += [("base_offset", .int(int64(offset))), ("producer_id", .int(int64(offset + 43))),
                           ("producer_epoch", .int(Int64(int16(offset + 51)))), ("base_sequence", .int(Int64(int32(offset + 53))))]
                let attributes = int16(offset + 21)
                if attributes & 0x10 != 0 { fields.append(("transactional", .bool(true))) }
                if attributes & 0x20 != 0 { fields.append(("control", .bool(true))) }
            }
            batches += 1
            count += Int64(int32(offset + 57))
            offset += 12 + length
        }
        return [("batches", .int(Int64(batches))), ("records", .int(count))] + fields
    }

    // MARK: Responses

    private func response(_ frame: [UInt8], now: ProxyClock.Instant) -> ProxyFrame {
        let correlation = Int32(bitPattern: UInt32(frame[4]) << 24 | UInt32(frame[5]) << 16 | UInt32(frame[6]) << 8 | UInt32(frame[7]))
        guard let request = pending.removeValue(forKey: correlation) else {
            context.emit(TraceEvent(timeMicros: now.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                    name: "unmatched", correlationID: Int64(correlation), fields: [("bytes", .int(Int64(frame.count)))]))
            return ProxyFrame(bytes: frame)
        }
        var fields = request.fields
        var out = frame
        if let api = ApiKey(rawValue: request.apiKey) {
            var reader = ByteReader(frame, from: 4)
            do {
                let header = try KafkaResponseHeader(from: &reader, headerVersion: api.responseHeaderVersion(request.version))
                var body = try KafkaResponse.decode(apiKey: request.apiKey, version: request.version, from: &reader)
                if let mapper, rewrite(&body, mapper) {
                    var writer = ByteWriter(capacity: frame.count + 64)
                    writer.writeBigEndian(Int32(0))
                    try header.encode(into: &writer, headerVersion: api.responseHeaderVersion(request.version))
                    try body.encode(into: &writer, version: request.version)
                    var bytes = writer.bytes
                    let size = UInt32(bytes.count - 4)
                    bytes[0] = UInt8(size >> 24); bytes[1] = UInt8((size >> 16) & 0xFF)
                    bytes[2] = UInt8((size >> 8) & 0xFF); bytes[3] = UInt8(size & 0xFF)
                    out = bytes
                    fields.append(("rewritten", .bool(true)))
                }
                // What the client sees: after any address rewrite.
                fields += Self.responseFields(body)
            } catch {
                fields.append(("response_decode_error", .string("\(error)")))
            }
        }
        context.emit(TraceEvent(timeMicros: request.start.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                name: request.name, version: Int(request.version), correlationID: Int64(correlation),
                                latencyMicros: ProxyClock.micros(from: request.start, to: now), fields: fields))
        while let first = deferredReplies.first, first.after == correlation {
            out += first.bytes
            deferredReplies.removeFirst()
        }
        return ProxyFrame(bytes: out)
    }

    private func rewrite(_ body: inout KafkaResponse, _ mapper: KafkaAddressMapper) -> Bool {
        switch body {
        case var .metadata(response):
            for index in response.brokers.indices {
                let broker = response.brokers[index]
                if let mapped = mapper(broker.nodeId, broker.host, broker.port) {
                    response.brokers[index].host = mapped.host
                    response.brokers[index].port = mapped.port
                }
            }
            body = .metadata(response)
            return !response.brokers.isEmpty
        case var .findCoordinator(response):
            if !response.host.isEmpty, let mapped = mapper(response.nodeId, response.host, response.port) {
                response.host = mapped.host
                response.port = mapped.port
            }
            for index in response.coordinators.indices {
                let coordinator = response.coordinators[index]
                if !coordinator.host.isEmpty, let mapped = mapper(coordinator.nodeId, coordinator.host, coordinator.port) {
                    response.coordinators[index].host = mapped.host
                    response.coordinators[index].port = mapped.port
                }
            }
            body = .findCoordinator(response)
            return true
        case var .describeCluster(response):
            for index in response.brokers.indices {
                let broker = response.brokers[index]
                if let mapped = mapper(broker.brokerId, broker.host, broker.port) {
                    response.brokers[index].host = mapped.host
                    response.brokers[index].port = mapped.port
                }
            }
            body = .describeCluster(response)
            return !response.brokers.isEmpty
        default:
            return false
        }
    }

    static func errorName(_ code: Int16) -> JSONValue { .string(KafkaErrorCode(code).name) }

    static func responseFields(_ body: KafkaResponse) -> [(String, JSONValue)] {
        switch body {
        case let .produce(response):
            var partitions: [JSONValue] = []
            for topic in response.responses {
                for partition in topic.partitionResponses {
                    var entry: [(String, JSONValue)] = [("topic", .string(topic.name)), ("partition", .int(Int64(partition.index))),
                                                        ("error", errorName(partition.errorCode)), ("base_offset", .int(partition.baseOffset))]
                    if partition.logStartOffset >= 0 { entry.append(("log_start_offset", .int(partition.logStartOffset))) }
                    if let message = partition.errorMessage { entry.append(("error_message", .string(message))) }
                    partitions.append(.object(entry))
                }
            }
            return [("produced", .array(partitions))]
        case let .fetch(response):
            var partitions: [JSONValue] = []
            for topic in response.responses {
                for partition in topic.partitions {
                    let summary = batchSummary(partition.records ?? [])
                    var entry: [(String, JSONValue)] = [
                        ("topic", .string(topic.topic)), ("partition", .int(Int64(partition.partitionIndex))),
                        ("error", errorName(partition.errorCode)), ("high_watermark", .int(partition.highWatermark)),
                        ("last_stable_offset", .int(partition.lastStableOffset)), ("log_start_offset", .int(partition.logStartOffset)),
                        ("aborted_transactions", .int(Int64(partition.abortedTransactions?.count ?? 0))),
                    ]
                    entry += summary.prefix(2).map { ($0.0 == "batches" ? "record_batches" : $0.0, $0.1) }
                    if let aborted = partition.abortedTransactions, !aborted.isEmpty {
                        entry.append(("aborted_producer_ids", .array(aborted.map { .int($0.producerId) })))
                    }
                    partitions.append(.object(entry))
                }
            }
            return [("error", errorName(response.errorCode)), ("partitions", .array(partitions))]
        case let .metadata(response):
            let brokers: [JSONValue] = response.brokers.map {
                .object([("node_id", .int(Int64($0.nodeId))), ("host", .string($0.host)), ("port", .int(Int64($0.port)))])
            }
            var partitions: [JSONValue] = []
            for topic in response.topics {
                for partition in topic.partitions {
                    partitions.append(.object([
                        ("topic", .string(topic.name ?? "")), ("partition", .int(Int64(partition.partitionIndex))),
                        ("error", errorName(partition.errorCode)), ("leader", .int(Int64(partition.leaderId))),
                        ("leader_epoch", .int(Int64(partition.leaderEpoch))),
                        ("replicas", .array(partition.replicaNodes.map { .int(Int64($0)) })),
                        ("isr", .array(partition.isrNodes.map { .int(Int64($0)) })),
                        ("offline", .array(partition.offlineReplicas.map { .int(Int64($0)) })),
                    ]))
                }
            }
            return [("controller", .int(Int64(response.controllerId))), ("brokers", .array(brokers)), ("partitions", .array(partitions))]
        case let .findCoordinator(response):
            if let first = response.coordinators.first {
                return [("error", errorName(first.errorCode)), ("coordinator", .int(Int64(first.nodeId))),
                        ("host", .string(first.host)), ("port", .int(Int64(first.port)))]
            }
            return [("error", errorName(response.errorCode)), ("coordinator", .int(Int64(response.nodeId))),
                    ("host", .string(response.host)), ("port", .int(Int64(response.port)))]
        case let .initProducerId(response):
            return [("error", errorName(response.errorCode)), ("producer_id", .int(response.producerId)),
                    ("producer_epoch", .int(Int64(response.producerEpoch)))]
        case let .endTxn(response):
            return [("error", errorName(response.errorCode))]
        case let .addOffsetsToTxn(response):
            return [("error", errorName(response.errorCode))]
        case let .addPartitionsToTxn(response):
            let codes = response.resultsByTopicV3AndBelow.flatMap { $0.resultsByPartition.map(\.partitionErrorCode) }
                + response.resultsByTransaction.flatMap { $0.topicResults.flatMap { $0.resultsByPartition.map(\.partitionErrorCode) } }
            return [("error", errorName(response.errorCode)), ("partition_errors", .array(Set(codes).sorted().map(errorName)))]
        case let .txnOffsetCommit(response):
            let codes = response.topics.flatMap { $0.partitions.map(\.errorCode) }
            return [("partition_errors", .array(Set(codes).sorted().map(errorName)))]
        case let .listOffsets(response):
            return [("offsets", .array(response.topics.flatMap { topic in
                topic.partitions.map { .object([("topic", .string(topic.name)), ("partition", .int(Int64($0.partitionIndex))),
                                                 ("error", errorName($0.errorCode)), ("offset", .int($0.offset))]) }
            }))]
        case let .describeCluster(response):
            return [("error", errorName(response.errorCode)), ("brokers", .array(response.brokers.map {
                .object([("node_id", .int(Int64($0.brokerId))), ("host", .string($0.host)), ("port", .int(Int64($0.port)))])
            }))]
        default:
            return []
        }
    }

    public func finish(now: ProxyClock.Instant) {
        for (correlation, request) in pending.sorted(by: { $0.key < $1.key }) {
            context.emit(TraceEvent(timeMicros: request.start.wallMicros, connection: context.connection, route: context.route, proto: .kafka,
                                    name: request.name, version: Int(request.version), correlationID: Int64(correlation),
                                    fields: request.fields + [("response", .string("none"))]))
        }
        pending = [:]
    }
}

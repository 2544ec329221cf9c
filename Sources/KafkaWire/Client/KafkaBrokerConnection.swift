import DequeModule
import Synchronization
import WireCore

/// One connection to one broker, shared by concurrent callers.
///
/// Requests are framed (int32 size, request header v1 or v2, body) straight into the
/// channel's outbound buffer and queued under one lock, so many can be in flight; the broker
/// answers in order and each response is checked against the correlation id at the head of
/// the queue. Every request has a deadline: one that passes closes the connection (a broker
/// that stopped answering cannot be trusted to answer in order later) and fails everything
/// in flight.
public final class KafkaBrokerConnection: ChannelHandler, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var tls: TLSConfiguration?
        public var clientID: String?
        public var requestTimeout: Duration
        public var channelOptions: ChannelOptions
        /// Frames larger than this are refused as a protocol violation (a corrupt size
        /// prefix must not turn into a huge allocation).
        public var maxResponseSize: Int

        public init(
            host: String, port: Int, tls: TLSConfiguration? = nil, clientID: String? = "reliability-lab",
            requestTimeout: Duration = .seconds(30), channelOptions: ChannelOptions = ChannelOptions(connectTimeout: .seconds(10)),
            maxResponseSize: Int = 256 * 1024 * 1024
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.clientID = clientID
            self.requestTimeout = requestTimeout
            self.channelOptions = channelOptions
            self.maxResponseSize = maxResponseSize
        }
    }

    /// Who gets a response: an awaiting task, or a callback (for callers that must put
    /// several requests on the wire in order without waiting for each answer).
    enum Reply {
        case continuation(UnsafeContinuation<Result<[UInt8], KafkaConnectionError>, Never>)
        case callback(@Sendable (Result<[UInt8], KafkaConnectionError>) -> Void)

        func resume(returning result: Result<[UInt8], KafkaConnectionError>) {
            switch self {
            case let .continuation(continuation): continuation.resume(returning: result)
            case let .callback(callback): callback(result)
            }
        }
    }

    struct InFlight {
        let correlationID: Int32
        let apiName: String
        let flexibleResponseHeader: Bool
        let continuation: Reply
        let deadline: NanoTime
        let timeout: Duration
    }

    struct State {
        var inFlight = Deque<InFlight>()
        var nextCorrelationID: Int32 = 1
        var failure: KafkaConnectionError?
        var timerArmed = false
        /// Correlation ids of the latest requests sent expecting no response (Produce with
        /// acks=0). Kafka never answers them, but Tansu does: such an answer is dropped
        /// instead of failing the connection as out of order.
        var unanswered = Deque<Int32>()
    }

    public let configuration: Configuration
    public let channel: Channel
    private let state = Mutex(State())

    public var broker: String { channel.peer }

    private init(configuration: Configuration, channel: Channel) {
        self.configuration = configuration
        self.channel = channel
    }

    deinit { channel.close() }

    public static func connect(
        _ configuration: Configuration,
        eventLoop: EventLoop = EventLoopGroup.shared.next()
    ) async throws(KafkaConnectionError) -> KafkaBrokerConnection {
        let channel: Channel
        do {
            channel = try await Channel.connect(
                host: configuration.host, port: configuration.port, tls: configuration.tls,
                options: configuration.channelOptions, eventLoop: eventLoop)
        } catch {
            throw .connection(error)
        }
        let connection = KafkaBrokerConnection(configuration: configuration, channel: channel)
        channel.setHandler(connection)
        return connection
    }

    public func close() { channel.close() }

    public var isOpen: Bool { state.withLock { $0.failure == nil } && channel.isActive }

    /// Sends one request and returns the response body (after the response header).
    ///
    /// - Parameters:
    ///   - flexible: the request version uses flexible encoding (request header v2 and,
    ///     except for ApiVersions, response header v1).
    ///   - expectsResponse: false for Produce with acks=0, which the broker never answers.
    public func send(
        apiKey: Int16,
        apiVersion: Int16,
        apiName: String,
        flexible: Bool,
        expectsResponse: Bool = true,
        timeout: Duration? = nil,
        body: (inout ByteWriter) throws -> Void
    ) async throws(KafkaConnectionError) -> [UInt8] {
        // Encode first, outside any lock: an encoding error must not leave a half frame.
        let frame = try Self.frame(apiKey: apiKey, apiVersion: apiVersion, apiName: apiName, flexible: flexible,
                                   clientID: configuration.clientID, body: body)
        let result = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<[UInt8], KafkaConnectionError>, Never>) in
            submit(frame, apiKey: apiKey, apiName: apiName, flexible: flexible, expectsResponse: expectsResponse,
                   timeout: timeout, reply: .continuation(continuation))
        }
        return try result.get()
    }

    /// Puts one request on the wire before returning (requests enqueued one after another go
    /// out in that order) and calls `onResponse` with the response body, or the failure, on
    /// the connection's event loop; keep it short. Encoding errors are thrown.
    public func enqueue(
        apiKey: Int16,
        apiVersion: Int16,
        apiName: String,
        flexible: Bool,
        expectsResponse: Bool = true,
        timeout: Duration? = nil,
        body: (inout ByteWriter) throws -> Void,
        onResponse: @escaping @Sendable (Result<[UInt8], KafkaConnectionError>) -> Void
    ) throws(KafkaConnectionError) {
        let frame = try Self.frame(apiKey: apiKey, apiVersion: apiVersion, apiName: apiName, flexible: flexible,
                                   clientID: configuration.clientID, body: body)
        submit(frame, apiKey: apiKey, apiName: apiName, flexible: flexible, expectsResponse: expectsResponse,
               timeout: timeout, reply: .callback(onResponse))
    }

    private static func frame(
        apiKey: Int16, apiVersion: Int16, apiName: String, flexible: Bool, clientID: String?,
        body: (inout ByteWriter) throws -> Void
    ) throws(KafkaConnectionError) -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        writer.writeBigEndian(Int32(0))  // size, patched below
        writer.writeBigEndian(apiKey)
        writer.writeBigEndian(apiVersion)
        writer.writeBigEndian(Int32(0))  // correlation id, assigned under the lock
        if let clientID {
            writer.writeBigEndian(Int16(clientID.utf8.count))
            writer.writeString(clientID)
        } else {
            writer.writeBigEndian(Int16(-1))
        }
        if flexible { writer.writeUnsignedVarint(0) }  // no tagged fields in the header
        do {
            try body(&writer)
        } catch {
            throw .encoding("\(apiName) v\(apiVersion): \(error)")
        }
        writer.setBigEndian(Int32(writer.count - 4), at: 0)
        return writer.bytes
    }

    private static let correlationOffset = 8

    private func submit(
        _ frame: consuming [UInt8], apiKey: Int16, apiName: String, flexible: Bool, expectsResponse: Bool,
        timeout: Duration?, reply: Reply
    ) {
        var frame = frame
        let timeout = timeout ?? configuration.requestTimeout
        let deadline = NanoTime.now() + timeout
        // ApiVersions answers with header v0 even at flexible versions, so that a client
        // can parse the reply of a broker that does not support the version it asked for.
        let flexibleResponseHeader = flexible && apiKey != 18
        var arm = false
        let refusal = state.withLock { state -> KafkaConnectionError? in
            if state.failure != nil { return .connection(.closed(peer: channel.peer)) }
            let correlationID = state.nextCorrelationID
            state.nextCorrelationID = correlationID == Int32.max ? 1 : correlationID + 1
            frame.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: correlationID.bigEndian, toByteOffset: Self.correlationOffset, as: Int32.self)
            }
            if !expectsResponse {
                state.unanswered.append(correlationID)
                if state.unanswered.count > 64 { state.unanswered.removeFirst() }
            }
            if expectsResponse {
                state.inFlight.append(InFlight(
                    correlationID: correlationID, apiName: apiName, flexibleResponseHeader: flexibleResponseHeader,
                    continuation: reply, deadline: deadline, timeout: timeout))
            }
            guard channel.write(bytes: frame) else {
                if expectsResponse { state.inFlight.removeLast() }
                return .connection(.closed(peer: channel.peer))
            }
            if expectsResponse && !state.timerArmed {
                state.timerArmed = true
                arm = true
            }
            return nil
        }
        if let refusal {
            reply.resume(returning: .failure(refusal))
        } else if !expectsResponse {
            reply.resume(returning: .success([]))
        } else if arm {
            armTimer(at: deadline)
        }
    }

    // MARK: Timeouts

    private func armTimer(at deadline: NanoTime) {
        channel.eventLoop.scheduleTimer(at: deadline) { [weak self] in self?.checkDeadlines() }
    }

    private func checkDeadlines() {
        let now = NanoTime.now()
        var expired: KafkaConnectionError?
        var next: NanoTime?
        state.withLock { state in
            state.timerArmed = false
            guard state.failure == nil else { return }
            for request in state.inFlight {
                if request.deadline <= now {
                    expired = .timedOut(api: request.apiName, broker: channel.peer, after: request.timeout)
                    break
                }
                next = min(next ?? request.deadline, request.deadline)
            }
            if next != nil && expired == nil { state.timerArmed = true }
        }
        if let expired {
            failAll(expired)
            channel.closeWithError(.timedOut(operation: "Kafka request", peer: channel.peer, after: configuration.requestTimeout))
        } else if let next {
            armTimer(at: next)
        }
    }

    private func failAll(_ error: KafkaConnectionError) {
        let waiting = state.withLock { state -> [InFlight] in
            if state.failure == nil { state.failure = error }
            let all = Array(state.inFlight)
            state.inFlight.removeAll()
            return all
        }
        for request in waiting { request.continuation.resume(returning: .failure(error)) }
    }

    // MARK: ChannelHandler

    public func channelRead(_ buffer: inout InboundBuffer) {
        var completed: [(Reply, Result<[UInt8], KafkaConnectionError>)] = []
        var violation: String?
        while buffer.readableBytes >= 4 {
            let start = buffer.readerIndex
            let storage = buffer.storage
            let size = Int(Int32(bigEndian: storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: Int32.self) }))
            if size < 4 || size > configuration.maxResponseSize {
                violation = "response frame size \(size) out of range"
                break
            }
            guard buffer.readableBytes >= 4 + size else { break }
            let correlationID = Int32(bigEndian: storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start + 4, as: Int32.self) })
            var reader = ByteReader(storage, from: start + 8, to: start + 4 + size)
            buffer.readerIndex = start + 4 + size
            let (head, unanswered) = state.withLock { state -> (InFlight?, Bool) in
                guard let first = state.inFlight.first, first.correlationID == correlationID else {
                    guard let index = state.unanswered.firstIndex(of: correlationID) else { return (nil, false) }
                    state.unanswered.remove(at: index)
                    return (nil, true)
                }
                return (state.inFlight.removeFirst(), false)
            }
            if unanswered { continue }
            guard let head else {
                violation = "response with correlation id \(correlationID) does not match the oldest request in flight"
                break
            }
            if head.flexibleResponseHeader {
                do throws(WireDecodingError) {
                    try Self.skipTaggedFields(&reader)
                } catch {
                    completed.append((head.continuation, .failure(.protocolViolation("\(head.apiName) response header: \(error)"))))
                    continue
                }
            }
            completed.append((head.continuation, .success(Array(reader.bytes[reader.readerIndex..<reader.endIndex]))))
        }
        for (continuation, result) in completed { continuation.resume(returning: result) }
        if let violation {
            failAll(.protocolViolation(violation))
            channel.close()
        }
    }

    public func channelClosed(_ error: WireError) {
        failAll(.connection(error))
    }

    static func skipTaggedFields(_ reader: inout ByteReader) throws(WireDecodingError) {
        let count = try reader.readUnsignedVarint(maxBytes: 5, "tagged field count")
        for _ in 0..<count {
            _ = try reader.readUnsignedVarint(maxBytes: 5, "tag")
            let size = try reader.readUnsignedVarint(maxBytes: 5, "tagged field size")
            try reader.skip(Int(size), field: "tagged field")
        }
    }
}

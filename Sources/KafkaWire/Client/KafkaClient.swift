import Synchronization
import WireCore

/// The cluster-level client: bootstrap, one pipelined connection per broker (opened lazily,
/// ApiVersions negotiated once per connection), a metadata cache refreshed when it ages or a
/// broker says it is stale, and typed requests at the negotiated version with bounded retries.
///
/// Errors thrown are `KafkaClientError`.
public actor KafkaClient {
    /// Where a request goes.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// Any reachable broker (an open connection when there is one).
        case anyBroker
        /// The broker with this node id.
        case node(Int32)
        /// The controller named by metadata, or any broker when none is named (KRaft clusters
        /// report a random broker, which forwards).
        case controller

        public var description: String {
            switch self {
            case .anyBroker: return "any broker"
            case let .node(id): return "node \(id)"
            case .controller: return "controller"
            }
        }
    }

    /// One negotiated connection.
    public struct Session: Sendable {
        public let connection: KafkaBrokerConnection
        public let versions: KafkaApiVersionTable
        public let address: String
        /// nil for a bootstrap connection whose node id is not known.
        public let nodeID: Int32?
    }

    public nonisolated let configuration: KafkaClientConfiguration
    private var cache = KafkaMetadataCache() {
        didSet { metadataBox.withLock { $0 = cache } }
    }
    /// A copy of `cache` readable without awaiting the actor (the consumer's fetch planning).
    private nonisolated let metadataBox = Mutex(KafkaMetadataCache())
    private var sessions: [Int32: Session] = [:]
    private var bootstrapSession: Session?
    private var periodicRefresh: Task<Void, Never>?

    public init(configuration: KafkaClientConfiguration) {
        self.configuration = configuration
    }

    /// `bootstrapServers` is `host:port[,host:port…]`.
    public init(bootstrapServers: String, clientID: String = "reliability-lab", requestTimeout: Duration = .seconds(30)) throws(KafkaClientError) {
        guard let servers = KafkaBootstrapServer.parseList(bootstrapServers) else {
            throw .noBootstrapServerReachable(["cannot parse bootstrap servers '\(bootstrapServers)' (want host:port[,host:port…])"])
        }
        self.init(configuration: KafkaClientConfiguration(bootstrapServers: servers, clientID: clientID, requestTimeout: requestTimeout))
    }

    /// Closes every connection and stops the periodic refresh; the client can be used again
    /// (it reconnects).
    public func close() {
        periodicRefresh?.cancel()
        periodicRefresh = nil
        for session in sessions.values { session.connection.close() }
        sessions = [:]
        bootstrapSession?.connection.close()
        bootstrapSession = nil
    }

    // MARK: Metadata

    /// The metadata as last refreshed.
    public var metadata: KafkaMetadataCache { cache }

    /// The metadata as last refreshed, readable without awaiting the actor.
    public nonisolated var metadataSnapshot: KafkaMetadataCache { metadataBox.withLock { $0 } }

    /// Connects to the first bootstrap server that answers and loads the broker list.
    @discardableResult
    public func bootstrap() async throws(KafkaClientError) -> KafkaMetadataCache {
        try await refreshMetadata(topics: [])
    }

    /// Sends Metadata at the highest negotiated version; `topics` nil asks for every topic,
    /// `[]` for the brokers only. Never creates topics.
    @discardableResult
    public func refreshMetadata(topics: [String]?) async throws(KafkaClientError) -> KafkaMetadataCache {
        let response: MetadataResponse = try await send(to: .anyBroker) { version in
            Self.metadataRequest(topics: topics, version: version)
        }
        let allTopics = topics == nil
        cache.apply(response, allTopics: allTopics)
        // Brokers that left the cluster: their connections are no use any more.
        for (id, session) in sessions where cache.brokers[id] == nil || cache.brokers[id]?.address != session.address {
            session.connection.close()
            sessions[id] = nil
        }
        return cache
    }

    static func metadataRequest(topics: [String]?, version: Int16) -> MetadataRequest {
        let requested: [MetadataRequest.MetadataRequestTopic]?
        if let topics {
            // v0 has no null array: an empty list there means every topic, so ask for nothing
            // but the brokers by naming none only on v1+.
            requested = topics.map { MetadataRequest.MetadataRequestTopic(name: $0) }
        } else {
            requested = version >= 1 ? nil : []
        }
        return MetadataRequest(topics: requested, allowAutoTopicCreation: version < 4)
    }

    /// Refreshes all metadata every `metadataMaxAge` in the background until `close()`, so
    /// leader moves are learnt even when no request fails (Java's `metadata.max.age.ms`).
    /// Without it, metadata is still refreshed lazily when it is used and has aged.
    public func startPeriodicMetadataRefresh() {
        guard periodicRefresh == nil else { return }
        let interval = configuration.metadataMaxAge
        periodicRefresh = Task { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                guard let self else { return }
                // A failed refresh is retried at the next tick; users see failures on their requests.
                _ = try? await self.refreshMetadata(topics: nil)
            }
        }
    }

    /// Refreshes metadata when it is older than `metadataMaxAge`.
    public func ensureFreshMetadata() async throws(KafkaClientError) {
        if cache.isStale(maxAge: configuration.metadataMaxAge) { try await refreshMetadata(topics: nil) }
    }

    /// The partition's leader, refreshing metadata for the topic when it is unknown or stale.
    public func leader(for topic: String, partition: Int32) async throws(KafkaClientError) -> KafkaMetadataCache.Broker {
        if cache.isStale(maxAge: configuration.metadataMaxAge) || cache.topics[topic]?.partitions[partition] == nil {
            try await refreshMetadata(topics: [topic])
        }
        return try cache.leader(for: topic, partition: partition)
    }

    /// The topic's partitions, refreshing metadata for it when unknown or stale.
    public func partitions(of topic: String) async throws(KafkaClientError) -> [KafkaMetadataCache.Partition] {
        if cache.isStale(maxAge: configuration.metadataMaxAge) || cache.topics[topic] == nil {
            try await refreshMetadata(topics: [topic])
        }
        guard let entry = cache.topics[topic], !entry.partitions.isEmpty else {
            throw .unknownTopicOrPartition(topic: topic, partition: nil)
        }
        return entry.sortedPartitions
    }

    /// Forgets a topic (after deleting it).
    public func forgetTopic(_ topic: String) { cache.removeTopic(topic) }

    // MARK: Requests

    /// One attempt: sends `request` at the highest negotiated version.
    public func send<Request: KafkaClientRequest, Response: KafkaClientResponse>(
        _ request: Request, to target: Target = .anyBroker, as: Response.Type = Response.self,
        timeout: Duration? = nil
    ) async throws(KafkaClientError) -> Response {
        try await send(to: target, timeout: timeout) { _ in request }
    }

    /// One attempt: builds the request for the version chosen (highest negotiated within
    /// `versions`), sends it and decodes the response.
    public func send<Request: KafkaClientRequest, Response: KafkaClientResponse>(
        to target: Target = .anyBroker, versions: ClosedRange<Int16>? = nil, timeout: Duration? = nil,
        as: Response.Type = Response.self, build: (Int16) throws(KafkaClientError) -> Request
    ) async throws(KafkaClientError) -> Response {
        let key = Request.api
        let session = try await session(for: target)
        guard let version = KafkaVersionChoice.version(for: key, in: session.versions, within: versions) else {
            throw .unsupportedApi(key, broker: session.address)
        }
        let request = try build(version)
        let body: [UInt8]
        do {
            body = try await session.connection.send(
                apiKey: key.rawValue, apiVersion: version, apiName: "\(key)", flexible: key.isFlexible(version), timeout: timeout
            ) { writer in try request.encode(into: &writer, version: version) }
        } catch {
            if !session.connection.isOpen { forget(session) }
            throw .connection(broker: session.address, nodeID: session.nodeID, error)
        }
        do {
            return try Response.decodeIgnoringTrailingBytes(body, version: version)
        } catch {
            throw .decoding(key, version: version, broker: session.address, reason: "\(error)")
        }
    }

    /// The negotiated versions of the session `target` resolves to.
    public func versions(for target: Target = .anyBroker) async throws(KafkaClientError) -> KafkaApiVersionTable {
        try await session(for: target).versions
    }

    /// Runs `operation` until it succeeds, a failure is not retriable, or the attempts run out;
    /// waits the backoff between attempts and refreshes metadata for `topics` (nil: all) first
    /// when the failure says the cached leaders or brokers are stale.
    public func withRetries<T: Sendable>(
        refreshing topics: [String]? = nil,
        _ operation: @Sendable () async throws -> T
    ) async throws(KafkaClientError) -> T {
        let policy = configuration.retry
        var attempt = 1
        while true {
            let failure: KafkaClientError
            do {
                return try await operation()
            } catch let error as KafkaClientError {
                failure = error
            } catch is CancellationError {
                throw .cancelled
            } catch {
                throw .unexpected("\(error)")
            }
            let disposition = failure.retryDisposition
            guard disposition != .fail else { throw failure }
            guard attempt < policy.maxAttempts else {
                throw attempt == 1 ? failure : .retriesExhausted(attempts: attempt, last: failure)
            }
            do {
                try await Task.sleep(for: policy.backoff(afterAttempt: attempt))
            } catch {
                throw .cancelled
            }
            if disposition == .refreshMetadataAndRetry {
                // A failed refresh is not final: the next attempt fails too and is counted.
                _ = try? await refreshMetadata(topics: topics)
            }
            attempt += 1
        }
    }

    // MARK: Connections

    /// The open session for `target`, connecting (and negotiating) when there is none.
    public func session(for target: Target) async throws(KafkaClientError) -> Session {
        switch target {
        case let .node(id):
            if let session = sessions[id], session.connection.isOpen { return session }
            if cache.brokers.isEmpty { try await bootstrap() }
            guard let broker = cache.brokers[id] else { throw .unknownBroker(nodeID: id) }
            let opened = try await open(host: broker.host, port: broker.port, nodeID: id)
            // Another task may have connected while this one awaited.
            if let existing = sessions[id], existing.connection.isOpen {
                opened.connection.close()
                return existing
            }
            sessions[id] = opened
            return opened
        case .controller:
            if cache.brokers.isEmpty { try await bootstrap() }
            if cache.controllerID >= 0, cache.brokers[cache.controllerID] != nil {
                return try await session(for: .node(cache.controllerID))
            }
            return try await session(for: .anyBroker)
        case .anyBroker:
            if let session = sessions.values.sorted(by: { $0.address < $1.address }).first(where: { $0.connection.isOpen }) {
                return session
            }
            if let session = bootstrapSession, session.connection.isOpen { return session }
            var reasons: [String] = []
            for broker in cache.brokers.values.sorted(by: { $0.nodeID < $1.nodeID }) {
                do {
                    return try await session(for: .node(broker.nodeID))
                } catch {
                    reasons.append("node \(broker.nodeID) \(broker.address): \(error)")
                }
            }
            for server in configuration.bootstrapServers {
                do {
                    let session = try await open(host: server.host, port: server.port, nodeID: nil)
                    bootstrapSession?.connection.close()
                    bootstrapSession = session
                    return session
                } catch {
                    reasons.append("\(server): \(error)")
                }
            }
            throw .noBootstrapServerReachable(reasons)
        }
    }

    private func open(host: String, port: Int, nodeID: Int32?) async throws(KafkaClientError) -> Session {
        let address = "\(host):\(port)"
        let connection: KafkaBrokerConnection
        do {
            connection = try await KafkaBrokerConnection.connect(.init(
                host: host, port: port, tls: configuration.tls, clientID: configuration.clientID,
                requestTimeout: configuration.requestTimeout,
                channelOptions: ChannelOptions(connectTimeout: configuration.requestTimeout)))
        } catch {
            throw .connection(broker: address, nodeID: nodeID, error)
        }
        do {
            let outcome = try await ApiVersionsNegotiation.negotiate(connection, clientSoftwareName: configuration.clientID)
            return Session(connection: connection, versions: outcome.table.capped(configuration.maxApiVersions), address: address, nodeID: nodeID)
        } catch {
            connection.close()
            // A broker that accepts and then drops the connection is unreachable, not odd.
            if case let .connection(failure) = error { throw .connection(broker: address, nodeID: nodeID, failure) }
            throw .negotiation(broker: address, reason: "\(error)")
        }
    }

    private func forget(_ session: Session) {
        session.connection.close()
        if let id = session.nodeID, sessions[id]?.connection === session.connection { sessions[id] = nil }
        if bootstrapSession?.connection === session.connection { bootstrapSession = nil }
    }
}

import Synchronization
import WireCore

/// The proxy: routes (each a listener forwarding to one upstream), their connections, the
/// faults set on them, and the trace every connection writes to.
public final class ProxyServer: Sendable {
    struct RouteState {
        var route: Route
        var listener: Listener?
        var down = false
        var faults: [Fault] = []
        var connections: [UInt64: ProxyConnection] = [:]
        var mapper: KafkaAddressMapper?
        /// Multi-broker Kafka: the upstream addresses to try in turn (bootstrap route).
        var upstreams: [(host: String, port: Int)] = []
    }

    struct State {
        var routes: [String: RouteState] = [:]
        var order: [String] = []
        var nextConnection: UInt64 = 1
        /// Multi-broker Kafka: node id → proxy port.
        var brokerPorts: [Int32: Int] = [:]
        var brokerPortBase = 0
        /// Multi-broker Kafka: the route that fronts the bootstrap servers.
        var bootstrapRoute: String?
        var stopped = false
    }

    public let trace: TraceSink
    public let eventLoops: EventLoopGroup
    private let state = Mutex(State())

    public init(trace: TraceSink, eventLoops: EventLoopGroup = .shared) {
        self.trace = trace
        self.eventLoops = eventLoops
    }

    // MARK: Routes

    /// Starts forwarding `route.listenPort` to the route's upstream.
    public func addRoute(_ route: Route) throws(ProxyError) {
        try addRoute(route, mapper: nil)
    }

    func addRoute(_ route: Route, mapper: KafkaAddressMapper?) throws(ProxyError) {
        let exists = state.withLock { $0.routes[route.name] != nil }
        if exists { throw .invalid("route \(route.name) exists") }
        let listener = try openListener(for: route)
        state.withLock { state in
            state.routes[route.name] = RouteState(route: route, listener: listener, mapper: mapper)
            state.order.append(route.name)
        }
    }

    /// The Kafka multi-broker form: `listen` fronts the bootstrap servers; every broker learnt
    /// from Metadata (and FindCoordinator, DescribeCluster) responses gets its own proxy port,
    /// `brokerPortBase` + the order in which it was first seen (default: listen port + 1), and
    /// responses are rewritten to point there.
    public func addKafkaCluster(
        listenHost: String = "127.0.0.1", listenPort: Int, upstreams: [(host: String, port: Int)], brokerPortBase: Int? = nil
    ) throws(ProxyError) {
        guard let first = upstreams.first else { throw .invalid("no upstream") }
        state.withLock { $0.brokerPortBase = brokerPortBase ?? listenPort + 1 }
        let mapper: KafkaAddressMapper = { [weak self] nodeID, host, port in
            self?.brokerAddress(nodeID: nodeID, host: host, port: port, listenHost: listenHost)
        }
        let route = Route(name: String(listenPort), listenHost: listenHost, listenPort: listenPort,
                          upstreamHost: first.host, upstreamPort: first.port, proto: .kafka)
        try addRoute(route, mapper: mapper)
        state.withLock {
            $0.routes[route.name]?.upstreams = upstreams
            $0.bootstrapRoute = route.name
        }
    }

    /// The proxy address for a broker, opening its route on first sight. Runs on a loop.
    private func brokerAddress(nodeID: Int32, host: String, port: Int32, listenHost: String) -> (host: String, port: Int32)? {
        let (known, candidate, mapper) = state.withLock { state -> (Int?, Int, KafkaAddressMapper?) in
            let bootstrap = state.bootstrapRoute.flatMap { state.routes[$0] }
            let mapper = bootstrap?.mapper
            if let port = state.brokerPorts[nodeID] { return (port, 0, mapper) }
            // One upstream that is itself this broker: its listen port fronts it.
            if let bootstrap, bootstrap.upstreams.count == 1, bootstrap.upstreams[0].host == host,
               bootstrap.upstreams[0].port == Int(port), !state.brokerPorts.values.contains(bootstrap.route.listenPort) {
                state.brokerPorts[nodeID] = bootstrap.route.listenPort
                return (bootstrap.route.listenPort, 0, mapper)
            }
            return (nil, state.brokerPortBase + state.brokerPorts.values.filter { $0 != bootstrap?.route.listenPort }.count, mapper)
        }
        if let known { return (listenHost, Int32(known)) }
        let route = Route(name: "broker-\(nodeID)", listenHost: listenHost, listenPort: candidate,
                          upstreamHost: host, upstreamPort: Int(port), proto: .kafka)
        do {
            try addRoute(route, mapper: mapper)
        } catch {
            // Raced with another connection learning the same broker, or the port is taken.
            if let port = state.withLock({ $0.brokerPorts[nodeID] }) { return (listenHost, Int32(port)) }
            trace.emit(TraceEvent(timeMicros: ProxyClock.now().wallMicros, connection: 0, route: route.name, proto: .kafka,
                                  name: "broker_route_failed", fields: [("error", .string("\(error)"))]))
            return nil
        }
        state.withLock { $0.brokerPorts[nodeID] = candidate }
        trace.emit(TraceEvent(timeMicros: ProxyClock.now().wallMicros, connection: 0, route: route.name, proto: .kafka,
                              name: "broker_route", fields: [("node_id", .int(Int64(nodeID))), ("listen", .int(Int64(candidate))),
                                                             ("upstream", .string("\(host):\(port)"))]))
        return (listenHost, Int32(candidate))
    }

    public var routes: [Route] {
        state.withLock { state in state.order.compactMap { state.routes[$0]?.route } }
    }

    private func openListener(for route: Route) throws(ProxyError) -> Listener {
        let name = route.name
        do {
            return try Listener.open(host: route.listenHost, port: route.listenPort, eventLoop: eventLoops.next(),
                                     childEventLoop: { [eventLoops] in eventLoops.next() }) { [weak self] channel in
                self?.accepted(channel, routeName: name)
            }
        } catch {
            throw .io("cannot listen on \(route.listenHost):\(route.listenPort): \(error)")
        }
    }

    private func accepted(_ channel: Channel, routeName: String) {
        let setup = state.withLock { state -> (ProxyConnection.ID, Route, KafkaAddressMapper?, Bool)? in
            guard let routeState = state.routes[routeName], !state.stopped else { return nil }
            let id = state.nextConnection
            state.nextConnection += 1
            var route = routeState.route
            if !routeState.upstreams.isEmpty {
                // Spread bootstrap connections over the upstreams.
                let upstream = routeState.upstreams[Int(id) % routeState.upstreams.count]
                route.upstreamHost = upstream.host
                route.upstreamPort = upstream.port
            }
            return (id, route, routeState.mapper, routeState.down)
        }
        guard let (id, route, mapper, down) = setup, !down else { channel.close(); return }
        let connection = ProxyConnection(id: id, route: route, client: channel, server: self) { context in
            switch route.proto {
            case .kafka: return KafkaFramer(context: context, mapper: mapper)
            case .mysql: return MySQLFramer(context: context)
            case .resp: return RESPFramer(context: context)
            }
        }
        state.withLock { $0.routes[routeName]?.connections[id] = connection }
        connection.start()
    }

    func connectionClosed(_ connection: ProxyConnection) {
        state.withLock { state in
            for name in state.order where state.routes[name]?.connections[connection.id] != nil {
                state.routes[name]?.connections[connection.id] = nil
            }
        }
    }

    public func connectionCount(route: String) -> Int {
        state.withLock { $0.routes[route]?.connections.count ?? 0 }
    }

    // MARK: Faults

    /// Route names a fault request addresses: one route, or `*`/`all` for every route.
    private func routeNames(_ name: String) throws(ProxyError) -> [String] {
        let names = state.withLock { state -> [String] in
            if name == "*" || name == "all" { return state.order }
            return state.routes[name] != nil ? [name] : []
        }
        if names.isEmpty { throw .invalid("no route \(name)") }
        return names
    }

    /// Sets a fault. `reset` acts once on the open connections; `down` closes the listener and
    /// cuts the open connections until `up` (or the fault is deleted).
    public func setFault(route name: String, _ fault: Fault) throws(ProxyError) {
        for routeName in try routeNames(name) {
            switch fault.kind {
            case .reset:
                let connections = state.withLock { Array(($0.routes[routeName]?.connections ?? [:]).values) }
                for connection in connections { connection.loop.execute { connection.reset() } }
            case .down:
                let (listener, connections) = state.withLock { state -> (Listener?, [ProxyConnection]) in
                    guard var routeState = state.routes[routeName] else { return (nil, []) }
                    let listener = routeState.listener
                    routeState.listener = nil
                    routeState.down = true
                    if !routeState.faults.contains(fault) { routeState.faults.append(fault) }
                    state.routes[routeName] = routeState
                    return (listener, Array(routeState.connections.values))
                }
                listener?.close()
                for connection in connections { connection.loop.execute { connection.reset() } }
            default:
                state.withLock { state in
                    guard state.routes[routeName] != nil else { return }
                    // One fault per kind and direction: setting it again replaces it.
                    state.routes[routeName]!.faults.removeAll { $0.kindName == fault.kindName && $0.direction == fault.direction }
                    state.routes[routeName]!.faults.append(fault)
                }
            }
        }
    }

    /// Removes faults (all, or those of one kind); brings a down route back up.
    public func clearFaults(route name: String, kind: String? = nil) throws(ProxyError) {
        for routeName in try routeNames(name) {
            let wasDown = state.withLock { state -> Bool in
                guard var routeState = state.routes[routeName] else { return false }
                routeState.faults.removeAll { kind == nil || $0.kindName == kind }
                let bringUp = routeState.down && (kind == nil || kind == "down")
                state.routes[routeName] = routeState
                return bringUp
            }
            if wasDown { try up(routeName) }
        }
    }

    /// Reopens a route that is down.
    public func up(_ name: String) throws(ProxyError) {
        for routeName in try routeNames(name) {
            guard let route = state.withLock({ state -> Route? in
                guard let routeState = state.routes[routeName], routeState.down else { return nil }
                return routeState.route
            }) else { continue }
            let listener = try openListener(for: route)
            state.withLock { state in
                state.routes[routeName]?.listener = listener
                state.routes[routeName]?.down = false
                state.routes[routeName]?.faults.removeAll { $0.kind == .down }
            }
        }
    }

    func faults(route: String, direction: ProxyDirection) -> [Fault] {
        state.withLock { state in
            guard let faults = state.routes[route]?.faults, !faults.isEmpty else { return [] }
            return faults.filter { $0.applies(to: direction) }
        }
    }

    func failMessage(route: String, names: [String]) -> String? {
        state.withLock { state -> String? in
            for fault in state.routes[route]?.faults ?? [] {
                if case let .fail(command, message) = fault.kind, names.contains(where: { $0.caseInsensitiveCompare(command) }) {
                    return message
                }
            }
            return nil
        }
    }

    /// Routes, their state and faults, as the admin API shows them.
    public var statusJSON: JSONValue {
        state.withLock { state in
            .object([("routes", .array(state.order.compactMap { name -> JSONValue? in
                guard let routeState = state.routes[name] else { return nil }
                let route = routeState.route
                return .object([
                    ("route", .string(name)), ("protocol", .string(route.proto.rawValue)),
                    ("listen", .string("\(route.listenHost):\(route.listenPort)")),
                    ("upstream", .string("\(route.upstreamHost):\(route.upstreamPort)")),
                    ("down", .bool(routeState.down)), ("connections", .int(Int64(routeState.connections.count))),
                    ("faults", .array(routeState.faults.map(\.json))),
                ])
            }))])
        }
    }

    /// Closes every listener and connection.
    public func stop() {
        let (listeners, connections) = state.withLock { state -> ([Listener], [ProxyConnection]) in
            state.stopped = true
            let listeners = state.routes.values.compactMap(\.listener)
            let connections = state.routes.values.flatMap { $0.connections.values }
            for name in state.order { state.routes[name]?.listener = nil }
            return (listeners, connections)
        }
        for listener in listeners { listener.close() }
        for connection in connections { connection.loop.execute { connection.close(reason: "proxy stopped") } }
    }
}

extension ProxyConnection {
    typealias ID = UInt64
}

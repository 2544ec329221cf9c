import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import LabProxy
import WireCore

/// `lab proxy`: the tracing and fault-injection proxy, and `lab proxy fault` to steer it.
struct ProxyCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward Kafka, MySQL or RESP traffic, trace every exchange and inject faults.",
        subcommands: [ProxyRunCommand.self, ProxyFaultCommand.self],
        defaultSubcommand: ProxyRunCommand.self
    )
}

struct ProxyRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the proxy (the default subcommand).",
        discussion: """
        Examples:
          lab proxy --protocol resp --listen 127.0.0.1:18600 --upstream 127.0.0.1:16379 --format text
          lab proxy --protocol mysql --listen 127.0.0.1:18601 --upstream 127.0.0.1:13306 --trace mysql.jsonl --admin 127.0.0.1:18699
          lab proxy --protocol kafka --listen 127.0.0.1:18610 --upstream 127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094

        Kafka: every broker learnt from Metadata responses gets its own proxy port (the listen
        port + 1 + the order it was seen in, or --broker-port-base + that order; a single
        upstream broker is fronted by the listen port itself) and Metadata, FindCoordinator and
        DescribeCluster responses are rewritten to point there.
        Faults: see `lab proxy fault --help`; routes are named by their listen port.
        """
    )

    @Option(name: .customLong("protocol"), help: "kafka, mysql or resp.")
    var proto: String

    @Option(help: "Address to listen on (127.0.0.1:PORT).")
    var listen: String

    @Option(help: "Upstream server host:port (Kafka: a comma-separated bootstrap list).")
    var upstream: String

    @Option(help: "Trace file (JSONL or text lines, appended); '-' for stdout (the default).")
    var trace: String = "-"

    @Option(help: "Trace format: jsonl or text.")
    var format: String = "jsonl"

    @Option(help: "Address for the HTTP admin API (127.0.0.1:PORT).")
    var admin: String?

    @Option(name: .customLong("broker-port-base"), help: "Kafka: first proxy port for the brokers.")
    var brokerPortBase: Int?

    func run() async throws {
        guard let proto = ProxyProtocol(rawValue: proto.lowercased()) else { throw ValidationError("--protocol must be kafka, mysql or resp") }
        guard let format = TraceSink.Format(rawValue: format.lowercased()) else { throw ValidationError("--format must be jsonl or text") }
        guard let listenAddress = Route.parseAddress(listen) else { throw ValidationError("--listen must be host:port") }
        let upstreams = upstream.split(separator: ",").map(String.init)
        let parsed = upstreams.compactMap(Route.parseAddress)
        guard !parsed.isEmpty, parsed.count == upstreams.count else { throw ValidationError("--upstream must be host:port[,host:port…]") }
        if proto != .kafka && parsed.count > 1 { throw ValidationError("several upstreams are for --protocol kafka only") }

        let sink = try TraceSink(path: trace, format: format)
        let proxy = ProxyServer(trace: sink)
        if proto == .kafka {
            try proxy.addKafkaCluster(listenHost: listenAddress.host, listenPort: listenAddress.port, upstreams: parsed,
                                      brokerPortBase: brokerPortBase)
        } else {
            try proxy.addRoute(Route(listenHost: listenAddress.host, listenPort: listenAddress.port,
                                     upstreamHost: parsed[0].host, upstreamPort: parsed[0].port, proto: proto))
        }
        var adminServer: AdminServer?
        if let admin {
            guard let address = Route.parseAddress(admin) else { throw ValidationError("--admin must be host:port") }
            adminServer = try AdminServer(proxy: proxy, host: address.host, port: address.port)
        }
        let banner = "lab proxy: \(proto) \(listen) -> \(upstream)" + (admin.map { ", admin http://\($0)" } ?? "") + "\n"
        _ = banner.withCString { Glibc.write(2, $0, strlen($0)) }
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
        adminServer?.stop()
        proxy.stop()
    }
}

struct ProxyFaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Show, set or clear faults of a running proxy through its admin API.",
        discussion: """
        Actions:
          list                      routes, connections and faults (GET /faults)
          set ROUTE --kind KIND …   POST /faults/ROUTE?kind=…
          clear ROUTE [--kind KIND] DELETE /faults/ROUTE (also brings a down route up)
          up ROUTE                  reopen a route that is down
        ROUTE is a listen port (or a broker route, broker-N), or '*' for all routes.
        Kinds: latency (--ms, --jitter), blackhole, reset, down, close-after (--bytes),
        slice (--bytes, --ms), bandwidth (--rate bytes/s), fail (--command, --message), delay (--command, --ms);
        --direction upstream|downstream|both.

        Examples:
          lab proxy fault --admin 127.0.0.1:18699 set 18600 --kind latency --ms 200 --jitter 50
          lab proxy fault --admin 127.0.0.1:18699 set 18600 --kind fail --command GET --message "cache down"
          lab proxy fault --admin 127.0.0.1:18699 clear 18600
        """
    )

    @Option(help: "The proxy's admin address.")
    var admin: String = "127.0.0.1:18699"

    @Argument(help: "list, set, clear or up.")
    var action: String = "list"

    @Argument(help: "The route.")
    var route: String?

    @Option var kind: String?
    @Option var ms: Int?
    @Option var jitter: Int?
    @Option var bytes: Int?
    @Option(help: "Bandwidth limit in bytes/s (--kind bandwidth).") var rate: Int?
    @Option var command: String?
    @Option var message: String?
    @Option var direction: String?

    func run() async throws {
        guard let address = Route.parseAddress(admin) else { throw ValidationError("--admin must be host:port") }
        let method: String
        let path: String
        switch action {
        case "list":
            (method, path) = ("GET", "/faults")
        case "set", "up":
            guard let route else { throw ValidationError("give the route") }
            var parameters: [(String, String)] = []
            if action == "up" {
                parameters.append(("kind", "up"))
            } else {
                guard let kind else { throw ValidationError("give --kind") }
                parameters.append(("kind", kind))
            }
            if let ms { parameters.append(("ms", String(ms))) }
            if let jitter { parameters.append(("jitter", String(jitter))) }
            if let bytes { parameters.append(("bytes", String(bytes))) }
            if let rate { parameters.append(("rate", String(rate))) }
            if let command { parameters.append(("command", command)) }
            if let message { parameters.append(("message", message)) }
            if let direction { parameters.append(("direction", direction)) }
            (method, path) = ("POST", ProxyAdminClient.faultPath(route: route, parameters: parameters))
        case "clear":
            guard let route else { throw ValidationError("give the route") }
            (method, path) = ("DELETE", ProxyAdminClient.faultPath(route: route, parameters: kind.map { [("kind", $0)] } ?? []))
        default:
            throw ValidationError("action must be list, set, clear or up")
        }
        let (status, body) = try await ProxyAdminClient.request(method, host: address.host, port: address.port, path: path)
        var text = Substring(body)
        while text.last?.isNewline == true { text = text.dropLast() }
        print(text)
        if status != 200 { throw ExitCode(1) }
    }
}

import ArgumentParser
import Foundation
import KafkaWire
import LabProxy
import MySQLWire
import RESP
import Synchronization
import WireCore

/// `lab bench proxy`: the overhead of `lab proxy`. Per protocol, one client workload run
/// directly against the server and through an in-process proxy (tracing on, its own event
/// loops, no faults), in the same run and alternating rounds, plus the p99 latency of single
/// sequential requests both ways.
struct ProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Throughput and added p99 latency of a client through lab proxy vs direct (resp, mysql, kafka).",
        discussion: """
        Prints per protocol `RESULT proxy-<protocol> direct=<ops/s> proxied=<ops/s> ratio=<proxied/direct> \
        p99_added_us=<p99 proxied - p99 direct>`.
        resp: RedisConnection pipelined SET/GET (depth --depth over --connections connections);
        mysql: MySQLConnection point SELECTs by primary key (--connections connections);
        kafka: KafkaProducer acks=1, 100-byte records (Tansu by default).
        Latency: --samples sequential single requests on one connection, each way.
        """
    )

    static let protocols = ["resp", "mysql", "kafka"]

    @Option(help: "Protocols to run, comma-separated.")
    var only = "resp,mysql,kafka"

    @Option(help: "Redis URL (default: $LAB_REDIS_URL, else 127.0.0.1:16379).")
    var redisUrl: String?

    @Option(help: "MySQL URL (default: $LAB_MYSQL_URL, else the scripts/infra MariaDB on 13306).")
    var mysqlUrl: String?

    @Option(help: "Kafka bootstrap (default: $LAB_KAFKA_TANSU_BOOTSTRAP, else 127.0.0.1:19092).")
    var kafkaBootstrap: String?

    @Option(help: "First proxy listen port (one per protocol).")
    var portBase = 19700

    @Option(help: "Event loops of the in-process proxy.")
    var proxyLoops = 1

    @Option(help: "Alternating direct/proxied rounds per protocol.")
    var rounds = 2

    @Option(help: "Concurrent connections for the RESP and MySQL throughput runs.")
    var connections = 8

    @Option(help: "RESP pipeline depth.")
    var depth = 16

    @Option(help: "RESP commands per round and side.")
    var respRequests = 200_000

    @Option(help: "MySQL point SELECTs per round and side.")
    var mysqlRequests = 20_000

    @Option(help: "Kafka records per round and side.")
    var kafkaRecords = 50_000

    @Option(help: "Sequential single requests per side for the latency percentiles.")
    var samples = 2_000

    func validate() throws {
        guard rounds > 0, connections > 0, depth > 0, respRequests > 0, mysqlRequests > 0, kafkaRecords > 0, samples > 0, proxyLoops > 0 else {
            throw ValidationError("counts must be positive")
        }
        let unknown = Set(only.split(separator: ",").map(String.init)).subtracting(Self.protocols)
        guard unknown.isEmpty else { throw ValidationError("unknown protocol(s) \(unknown.sorted()); known: \(Self.protocols.joined(separator: ","))") }
    }

    static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    func run() async throws {
        let selected = Set(only.split(separator: ",").map(String.init))
        let loops = EventLoopGroup(loopCount: proxyLoops, name: "proxy-loop")
        let proxy = ProxyServer(trace: try TraceSink(path: nil), eventLoops: loops)
        defer { proxy.stop() }
        print("lab bench proxy: \(rounds) alternating rounds, \(samples) latency samples per side, proxy on \(proxyLoops) event loop(s), tracing on (discarded)")
        var port = portBase
        for name in Self.protocols where selected.contains(name) {
            defer { port += 1 }
            let result: Measurement
            switch name {
            case "resp": result = try await bench(resp: proxy, port: port)
            case "mysql": result = try await bench(mysql: proxy, port: port)
            default: result = try await bench(kafka: proxy, port: port)
            }
            result.print(name)
        }
    }

    // MARK: Measuring

    struct Measurement {
        var direct = Tally()
        var proxied = Tally()
        var directLatencies: [UInt64] = []
        var proxiedLatencies: [UInt64] = []
        var note = ""

        struct Tally {
            var operations = 0
            var seconds = 0.0
            var rate: Double { seconds > 0 ? Double(operations) / seconds : 0 }
        }

        static func percentile(_ values: [UInt64], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
            return Double(sorted[max(0, index)]) / 1000
        }

        func print(_ name: String) {
            let ratio = direct.rate > 0 ? proxied.rate / direct.rate : 0
            let p50d = Self.percentile(directLatencies, 0.5), p50p = Self.percentile(proxiedLatencies, 0.5)
            let p99d = Self.percentile(directLatencies, 0.99), p99p = Self.percentile(proxiedLatencies, 0.99)
            Swift.print("RESULT proxy-\(name) direct=\(Int(direct.rate.rounded())) proxied=\(Int(proxied.rate.rounded())) "
                + "ratio=\(String(format: "%.2f", ratio)) p99_added_us=\(Int((p99p - p99d).rounded())) "
                + "p99_direct_us=\(Int(p99d.rounded())) p99_proxied_us=\(Int(p99p.rounded())) "
                + "p50_added_us=\(Int((p50p - p50d).rounded())) \(note)  (ops/s)")
        }
    }

    /// Alternates direct and proxied runs of `throughput` (each returns operations done), then
    /// `latency` sequentially on each side.
    func measure(direct: Int, proxied: Int, note: String,
                 throughput: (_ port: Int) async throws -> Int,
                 latency: (_ port: Int) async throws -> [UInt64]) async throws -> Measurement {
        var measurement = Measurement(note: note)
        for _ in 0..<rounds {
            for (port, isProxied) in [(direct, false), (proxied, true)] {
                let start = NanoTime.now()
                let operations = try await throughput(port)
                let seconds = (NanoTime.now() - start).seconds
                if isProxied {
                    measurement.proxied.operations += operations
                    measurement.proxied.seconds += seconds
                } else {
                    measurement.direct.operations += operations
                    measurement.direct.seconds += seconds
                }
            }
        }
        measurement.directLatencies = try await latency(direct)
        measurement.proxiedLatencies = try await latency(proxied)
        return measurement
    }

    static func timed(_ body: () async throws -> Void) async rethrows -> UInt64 {
        let start = NanoTime.now()
        try await body()
        return UInt64(max(0, (NanoTime.now() - start).seconds * 1e9))
    }

    // MARK: RESP

    func bench(resp proxy: ProxyServer, port: Int) async throws -> Measurement {
        let base = try RedisConnectionConfiguration(url: redisUrl ?? Self.environment("LAB_REDIS_URL") ?? "redis://127.0.0.1:16379")
        try proxy.addRoute(Route(listenPort: port, upstreamHost: base.host, upstreamPort: base.port, proto: .resp))
        func configuration(_ port: Int) -> RedisConnectionConfiguration {
            var configuration = base
            if port != base.port { configuration.host = "127.0.0.1" }
            configuration.port = port
            return configuration
        }
        let key = "lab-bench-proxy:\(UInt32.random(in: 0...UInt32.max))"
        let value = String(repeating: "x", count: 16)
        let connections = self.connections, depth = self.depth
        let perConnection = respRequests / connections
        let batch = (0..<depth).map { $0 % 2 == 0 ? RedisCommand("SET").key(key).argument(value) : RedisCommand("GET").key(key) }
        print("  resp: \(base.host):\(base.port) via 127.0.0.1:\(port); \(connections) connections, pipelined SET/GET depth \(depth), \(perConnection * connections) commands per round and side")
        return try await measure(direct: base.port, proxied: port, note: "requests=\(perConnection * connections) depth=\(depth) connections=\(connections)",
            throughput: { port in
                var opened: [RedisConnection] = []
                for _ in 0..<connections { opened.append(try await RedisConnection.connect(configuration(port))) }
                defer { for connection in opened { connection.close() } }
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for connection in opened {
                        group.addTask(executorPreference: connection.channel.eventLoop) {
                            var done = 0
                            while done < perConnection {
                                let count = min(depth, perConnection - done)
                                let replies = try await connection.pipeline(count == depth ? batch : Array(batch.prefix(count)))
                                if case .simpleError = replies.first { throw ValidationError("redis error: \(replies[0])") }
                                done += count
                            }
                            return done
                        }
                    }
                    return try await group.reduce(0, +)
                }
            },
            latency: { port in
                let connection = try await RedisConnection.connect(configuration(port))
                defer { connection.close() }
                var samples: [UInt64] = []
                samples.reserveCapacity(self.samples)
                for index in 0..<self.samples {
                    let command = index % 2 == 0 ? RedisCommand("SET").key(key).argument(value) : RedisCommand("GET").key(key)
                    samples.append(try await Self.timed { _ = try await connection.send(command) })
                }
                _ = try await connection.send(["DEL", key])
                return samples
            })
    }

    // MARK: MySQL

    func bench(mysql proxy: ProxyServer, port: Int) async throws -> Measurement {
        let url = mysqlUrl ?? Self.environment("LAB_MYSQL_URL") ?? "mysql://lab:lab@127.0.0.1:13306/lab"
        guard let base = MySQLConfiguration(url: url) else { throw ValidationError("cannot parse \(url)") }
        try proxy.addRoute(Route(listenPort: port, upstreamHost: base.host, upstreamPort: base.port, proto: .mysql))
        func configuration(_ port: Int) -> MySQLConfiguration {
            var configuration = base
            if port != base.port { configuration.host = "127.0.0.1" }
            configuration.port = port
            return configuration
        }
        let rows = 1000
        let table = "bench_proxy_kv"
        let admin = try await MySQLConnection.connect(base)
        _ = try await admin.query("DROP TABLE IF EXISTS \(table)")
        _ = try await admin.query("CREATE TABLE \(table) (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
        _ = try await admin.query("INSERT INTO \(table) (id, v) VALUES " + (0..<rows).map { "(\($0), 'value-\($0)')" }.joined(separator: ","))
        let connections = self.connections
        let perConnection = mysqlRequests / connections
        print("  mysql: \(base.host):\(base.port) via 127.0.0.1:\(port); \(connections) connections, point SELECTs by primary key, \(perConnection * connections) per round and side")
        do {
            let measurement = try await measure(direct: base.port, proxied: port, note: "requests=\(perConnection * connections) connections=\(connections)",
                throughput: { port in
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for worker in 0..<connections {
                            group.addTask {
                                let connection = try await MySQLConnection.connect(configuration(port))
                                for index in 0..<perConnection {
                                    let result = try await connection.query("SELECT v FROM \(table) WHERE id = \((worker * 7919 + index) % rows)")
                                    if result.rows.count != 1 { throw ValidationError("expected one row, got \(result.rows.count)") }
                                }
                                await connection.close()
                                return perConnection
                            }
                        }
                        return try await group.reduce(0, +)
                    }
                },
                latency: { port in
                    let connection = try await MySQLConnection.connect(configuration(port))
                    var samples: [UInt64] = []
                    for index in 0..<self.samples {
                        samples.append(try await Self.timed { _ = try await connection.query("SELECT v FROM \(table) WHERE id = \(index % rows)") })
                    }
                    await connection.close()
                    return samples
                })
            _ = try? await admin.query("DROP TABLE IF EXISTS \(table)")
            await admin.close()
            return measurement
        } catch {
            _ = try? await admin.query("DROP TABLE IF EXISTS \(table)")
            await admin.close()
            throw error
        }
    }

    // MARK: Kafka

    func bench(kafka proxy: ProxyServer, port: Int) async throws -> Measurement {
        let bootstrap = kafkaBootstrap ?? Self.environment("LAB_KAFKA_TANSU_BOOTSTRAP") ?? "127.0.0.1:19092"
        let upstreams = bootstrap.split(separator: ",").compactMap { Route.parseAddress(String($0)) }
        guard !upstreams.isEmpty else { throw ValidationError("cannot parse --kafka-bootstrap \(bootstrap)") }
        // Every broker behind its own proxy port; the brokers' routes get the ports after `port`.
        try proxy.addKafkaCluster(listenPort: port, upstreams: upstreams, brokerPortBase: port + 50)
        let topic = "lab-bench-proxy-\(UInt32.random(in: 0...UInt32.max))"
        let admin = KafkaAdmin(client: try KafkaClient(bootstrapServers: bootstrap, clientID: "lab-bench-proxy-admin"))
        try await admin.createTopic(topic, partitions: 1, replicationFactor: 1)
        let records = kafkaRecords
        let record = ProducerRecord(topic: topic, key: nil, value: [UInt8](repeating: UInt8(ascii: "x"), count: 100))
        print("  kafka: \(bootstrap) via 127.0.0.1:\(port); KafkaProducer acks=1, 100-byte records, \(records) per round and side, topic \(topic)")
        func producer(_ port: Int, linger: Duration) throws -> KafkaProducer {
            try KafkaProducer(bootstrapServers: port == upstreams[0].port ? bootstrap : "127.0.0.1:\(port)", clientID: "lab-bench-proxy",
                              configuration: KafkaProducerConfiguration(acks: .leader, idempotent: false, linger: linger))
        }
        let directPort = upstreams[0].port
        do {
            let measurement = try await measure(direct: directPort, proxied: port, note: "records=\(records) size=100 acks=1",
                throughput: { port in
                    let producer = try producer(port, linger: .milliseconds(5))
                    _ = try await producer.client.partitions(of: topic)
                    let failed = FailureCount()
                    let handler: KafkaDeliveryHandler = { result in
                        if case .failure = result { failed.value.add(1, ordering: .relaxed) }
                    }
                    for _ in 0..<records { try await producer.produce(record, onDelivery: handler) }
                    await producer.flush()
                    await producer.close()
                    let failures = failed.value.load(ordering: .relaxed)
                    if failures > 0 { throw ValidationError("\(failures) of \(records) records failed") }
                    return records
                },
                latency: { port in
                    let producer = try producer(port, linger: .zero)
                    _ = try await producer.send(record)
                    var samples: [UInt64] = []
                    for _ in 0..<self.samples { samples.append(try await Self.timed { _ = try await producer.send(record) }) }
                    await producer.close()
                    return samples
                })
            try? await admin.deleteTopics([topic])
            await admin.client.close()
            return measurement
        } catch {
            try? await admin.deleteTopics([topic])
            await admin.client.close()
            throw error
        }
    }
}

final class FailureCount: Sendable {
    let value = Atomic<Int>(0)
}

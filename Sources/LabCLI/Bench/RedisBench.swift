import ArgumentParser
import Foundation
import RESP
import WireCore

/// `lab bench redis`: SET and GET at pipeline depths 1 and 16 over 50 connections, the Swift
/// client and redis-benchmark against the same server in the same run. Each case's requests
/// are split into rounds; which side goes first alternates from round to round, a side's
/// rate is its requests over its time summed over the rounds, and the RESULT line gives the
/// range of the rounds' own ratios.
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "SET/GET throughput of the Swift client vs redis-benchmark (same settings, same run)."
    )

    @Option(help: "Server URL (scripts/infra up redis starts one on 16379).")
    var url = "redis://127.0.0.1:16379"

    @Option(help: "Concurrent connections, as redis-benchmark -c.")
    var connections = 50

    @Option(help: "Pipeline depths to run, as redis-benchmark -P.")
    var depths = "1,16"

    @Option(help: "Requests per case at pipeline depth > 1.")
    var requests = 2_000_000

    @Option(help: "Requests per case at pipeline depth 1.")
    var requestsUnpipelined = 200_000

    @Option(help: "Value size in bytes, as redis-benchmark -d.")
    var valueSize = 3

    @Option(help: "Rounds per case (the requests are split among them; the sides alternate going first).")
    var rounds = 4

    func run() async throws {
        let configuration = try RedisConnectionConfiguration(url: url)
        let depthList = depths.split(separator: ",").compactMap { Int($0) }
        guard !depthList.isEmpty, depthList.allSatisfy({ $0 > 0 }) else { throw ValidationError("--depths takes positive numbers, e.g. 1,16") }
        guard rounds > 0 else { throw ValidationError("--rounds must be at least 1") }
        guard min(requests, requestsUnpipelined) / rounds >= connections else {
            throw ValidationError("each round needs at least one request per connection: --requests and --requests-unpipelined must be at least --rounds × --connections")
        }

        var opened: [RedisConnection] = []
        do {
            for _ in 0..<connections { opened.append(try await RedisConnection.connect(configuration)) }
        } catch {
            throw ValidationError("cannot connect to \(url): \(error) — start it with `scripts/infra up redis`")
        }
        defer { for connection in opened { connection.close() } }

        let value = String(repeating: "x", count: valueSize)
        print("lab bench redis: \(connections) connections, value \(valueSize) B, server \(configuration.host):\(configuration.port)")
        for depth in depthList {
            let total = depth > 1 ? requests : requestsUnpipelined
            let perRound = total / rounds
            // Per operation: requests and seconds of each side, and each round's ratio.
            var swiftTotals: [String: (requests: Int, seconds: Double)] = [:]
            var peerTotals: [String: (requests: Int, seconds: Double)] = [:]
            var roundRatios: [String: [Double]] = [:]
            for round in 0..<rounds {
                var swiftRates: [String: Double] = [:]
                var peerRates: [String: Double] = [:]
                let swiftFirst = round % 2 == 0
                for swiftTurn in [swiftFirst, !swiftFirst] {
                    if swiftTurn {
                        for operation in ["SET", "GET"] {
                            let (done, seconds) = try await runSwift(operation: operation, value: value, depth: depth, total: perRound, connections: opened)
                            swiftTotals[operation, default: (0, 0)].requests += done
                            swiftTotals[operation, default: (0, 0)].seconds += seconds
                            swiftRates[operation] = Double(done) / seconds
                        }
                    } else {
                        peerRates = try runPeer(configuration: configuration, depth: depth, total: perRound)
                        for (operation, rate) in peerRates where rate > 0 {
                            peerTotals[operation, default: (0, 0)].requests += perRound
                            peerTotals[operation, default: (0, 0)].seconds += Double(perRound) / rate
                        }
                    }
                }
                for operation in ["SET", "GET"] {
                    if let swiftRate = swiftRates[operation], let peerRate = peerRates[operation], peerRate > 0 {
                        roundRatios[operation, default: []].append(swiftRate / peerRate)
                    }
                }
            }
            for operation in ["SET", "GET"] {
                func rate(_ totals: (requests: Int, seconds: Double)?) -> Double {
                    guard let totals, totals.seconds > 0 else { return 0 }
                    return Double(totals.requests) / totals.seconds
                }
                let spread = roundRatioSpread(roundRatios[operation] ?? [])
                printResult("redis-\(operation.lowercased())-p\(depth)", swift: rate(swiftTotals[operation]), peer: rate(peerTotals[operation]),
                            extra: "requests=\(perRound * rounds) connections=\(connections) rounds=\(rounds)" + (spread.isEmpty ? "" : " " + spread))
            }
        }
    }

    /// Drives `total` requests over the connections; each connection's task runs on the
    /// event loop that owns its socket, so replies resume it without a thread hop. Returns the
    /// requests made (a whole number per connection) and the seconds they took.
    func runSwift(operation: String, value: String, depth: Int, total: Int, connections: [RedisConnection]) async throws -> (requests: Int, seconds: Double) {
        let key = "key:__rand_int__"
        let command = operation == "SET" ? RedisCommand("SET").key(key).argument(value) : RedisCommand("GET").key(key)
        let batch = [RedisCommand](repeating: command, count: depth)
        let perConnection = total / connections.count
        let expected: RESPValue = operation == "SET" ? .simpleString("OK") : .bulkString(Array(value.utf8))
        if operation == "GET" { _ = try await connections[0].send(RedisCommand("SET").key(key).argument(value)) }

        let start = NanoTime.now()
        let failures = await withTaskGroup(of: Int.self) { group in
            for connection in connections {
                group.addTask(executorPreference: connection.channel.eventLoop) {
                    var remaining = perConnection
                    var failures = 0
                    while remaining > 0 {
                        let count = min(depth, remaining)
                        let replies: [RESPValue]
                        do {
                            replies = try await (count == depth
                                ? connection.pipeline(batch)
                                : connection.pipeline(Array(batch.prefix(count))))
                        } catch {
                            return failures + remaining
                        }
                        for reply in replies where reply != expected { failures += 1 }
                        remaining -= count
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = (NanoTime.now() - start).seconds
        if failures > 0 { throw ValidationError("\(failures) of \(total) \(operation) requests failed or got a wrong reply") }
        return (perConnection * connections.count, elapsed)
    }

    /// redis-benchmark with the same connections, depth, request count and value size.
    func runPeer(configuration: RedisConnectionConfiguration, depth: Int, total: Int) throws -> [String: Double] {
        let output = try PeerProcess.run("redis-benchmark", [
            "-h", configuration.host, "-p", String(configuration.port),
            "-c", String(connections), "-n", String(total), "-P", String(depth),
            "-d", String(valueSize), "-t", "set,get", "--csv",
        ])
        var rates: [String: Double] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
            if fields.count >= 2, let rate = Double(fields[1]) { rates[fields[0]] = rate }
        }
        guard rates["SET"] != nil, rates["GET"] != nil else {
            throw PeerProcess.Failure(description: "could not read redis-benchmark's CSV output:\n\(output)")
        }
        return rates
    }
}

import ArgumentParser
import Foundation
import MySQLWire
import WireCore

/// `lab bench mysql`: the Swift client and libmariadb (a small C peer this command compiles
/// with `cc` against Debian's libmariadb-dev) run the same cases against the same server in
/// the same run, one connection each, sequentially:
///
/// - `mysql-text-select`: point SELECT by primary key over COM_QUERY (ops/s)
/// - `mysql-prepared-select`: the same through a prepared statement, binary protocol (ops/s)
/// - `mysql-insert`: single-row INSERT with autocommit (ops/s)
/// - `mysql-connect`: connect + authenticate + COM_QUIT, sequentially (connections/s)
///
/// and the pool's acquire + release overhead per operation (ns/op, uncontended, no peer).
struct MySQLBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mysql",
        abstract: "Point SELECT (text, prepared), INSERT and connect rates of the Swift client vs libmariadb (same run).",
        discussion: """
            Creates lab.bench_kv (id INT PRIMARY KEY, v VARCHAR(64); --rows rows) and \
            lab.bench_insert, and drops both at the end. The C peer's source is embedded in \
            this command; it is compiled into a temporary directory with \
            `cc $(pkg-config --cflags --libs libmariadb)` (scripts/setup installs libmariadb-dev).
            """
    )

    static let cases = ["text-select", "prepared-select", "insert", "connect"]

    @Option(help: "Server URL (default: $LAB_MYSQL_URL, else the scripts/infra MariaDB on 13306).")
    var url = ProcessInfo.processInfo.environment["LAB_MYSQL_URL"] ?? "mysql://lab:lab@127.0.0.1:13306/lab"

    @Option(help: "Seconds per timed case and side.")
    var seconds: Double = 5

    @Option(help: "Alternate the Swift client and the peer this many times per case (each gets 1/rounds of the work), so load from other processes hits both alike.")
    var rounds = 3

    @Option(help: "Sequential connect+auth+close cycles for the connect case.")
    var connections = 1_000

    @Option(help: "Rows in bench_kv; the point SELECTs cycle through their keys.")
    var rows = 10_000

    @Option(help: "Comma-separated cases to run (\(cases.joined(separator: ","))) and/or pool.")
    var only = (cases + ["pool"]).joined(separator: ",")

    @Option(help: "acquire+release pairs timed for the pool line.")
    var poolIterations = 200_000

    @Option(help: "C compiler for the peer.")
    var cc = "cc"

    @Flag(help: "Run the Swift side alone, printing peer=none ratio=none: for instruction-level profilers (valgrind --tool=callgrind), which cannot follow the peer's compiler and child processes. Not a comparison.")
    var withoutPeer = false

    func validate() throws {
        guard seconds > 0, connections > 0, rows > 0, poolIterations > 0, rounds > 0 else {
            throw ValidationError("--seconds, --rounds, --connections, --rows and --pool-iterations must be positive")
        }
        let unknown = selected.subtracting(Self.cases + ["pool"])
        guard unknown.isEmpty else { throw ValidationError("unknown case(s) \(unknown.sorted()); known: \((Self.cases + ["pool"]).joined(separator: ","))") }
    }

    var selected: Set<String> { Set(only.split(separator: ",").map { String($0) }) }

    func run() async throws {
        guard let configuration = MySQLConfiguration(url: url) else {
            throw ValidationError("cannot parse \(url) (expected mysql://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        guard configuration.database != nil else { throw ValidationError("\(url) names no database") }
        let eventLoop = EventLoopGroup.shared.next()
        let admin: MySQLConnection
        do {
            admin = try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
        } catch {
            throw ValidationError("cannot connect to \(url): \(error) — start it with `scripts/infra up mariadb`")
        }
        let peerCases = selected.intersection(Self.cases)
        let peer = peerCases.isEmpty || withoutPeer ? nil : try MySQLPeer.build(cc: cc)
        defer { peer?.remove() }
        let ratioNote = "\(rounds) alternating rounds per case"

        print("lab bench mysql: server \(admin.serverVersion) at \(configuration.host):\(configuration.port), "
            + "\(seconds) s per timed case and side, \(connections) connections, \(rows) rows, \(ratioNote)")
        do {
            try await createTables(admin)
            for name in Self.cases where selected.contains(name) {
                try await runCase(name, configuration: configuration, eventLoop: eventLoop, peer: peer)
            }
            if selected.contains("pool") {
                let nanoseconds = try await poolOverhead(configuration: configuration, eventLoop: eventLoop)
                print("RESULT mysql-pool-acquire-release swift=\(String(format: "%.0f", nanoseconds)) peer=none ratio=none "
                    + "iterations=\(poolIterations)  (ns/op, acquire+release, uncontended, pool of 1, no peer)")
            }
        } catch {
            try? await dropTables(admin)
            await admin.close()
            throw error
        }
        try await dropTables(admin)
        await admin.close()
    }

    // MARK: Setup

    func createTables(_ connection: MySQLConnection) async throws {
        try await dropTables(connection)
        _ = try await connection.query("CREATE TABLE bench_kv (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
        _ = try await connection.query("CREATE TABLE bench_insert (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
        var next = 1
        while next <= rows {
            let last = min(rows, next + 999)
            let values = (next...last).map { "(\($0),'value-\($0)')" }.joined(separator: ",")
            _ = try await connection.query("INSERT INTO bench_kv (id, v) VALUES \(values)")
            next = last + 1
        }
    }

    func dropTables(_ connection: MySQLConnection) async throws {
        _ = try await connection.query("DROP TABLE IF EXISTS bench_kv, bench_insert")
    }

    // MARK: Cases

    /// Operations done, wall time and client CPU time (user + system) of one side.
    struct Tally {
        var operations = 0
        var seconds = 0.0
        var cpuSeconds = 0.0
        /// The user-space part of `cpuSeconds`: the client's own code, without the kernel's
        /// socket and scheduling work (which both sides share).
        var userSeconds = 0.0
        var rate: Double { seconds > 0 ? Double(operations) / seconds : 0 }

        mutating func add(_ other: Tally) {
            operations += other.operations
            seconds += other.seconds
            cpuSeconds += other.cpuSeconds
            userSeconds += other.userSeconds
        }
        var cpuMicrosecondsPerOperation: Double { operations > 0 ? cpuSeconds * 1e6 / Double(operations) : 0 }
        var userMicrosecondsPerOperation: Double { operations > 0 ? userSeconds * 1e6 / Double(operations) : 0 }
    }

    /// Alternates the Swift client and the peer `rounds` times (each round: 1/rounds of the
    /// time or connections), so a burst of load from other processes hits both sides alike;
    /// which side goes first alternates too. Without a peer (`--without-peer`) only the Swift
    /// side runs.
    ///
    /// The line also gives the range of the rounds' own ratios (`round_ratios=min..max`): on
    /// a small VM the rate of a request-reply loop depends on where the scheduler wakes the
    /// client (next to the server's thread, or on an idle vCPU that takes tens of µs to
    /// wake), and that varies from round to round for both sides.
    func runCase(_ name: String, configuration: MySQLConfiguration, eventLoop: EventLoop, peer: MySQLPeer?) async throws {
        let roundSeconds = seconds / Double(rounds)
        var swift = Tally()
        var native = Tally()
        var roundRatios: [Double] = []
        for round in 0..<rounds {
            let roundConnections = connections / rounds + (round < connections % rounds ? 1 : 0)
            if name == "connect" && roundConnections == 0 { continue }
            var swiftRound = Tally()
            var peerRound = Tally()
            let swiftFirst = round % 2 == 0
            for swiftTurn in [swiftFirst, !swiftFirst] {
                if swiftTurn {
                    swiftRound = try await swiftSide(name, configuration: configuration, eventLoop: eventLoop, seconds: roundSeconds, connections: roundConnections)
                } else if let peer {
                    peerRound = try peer.run(name, configuration: configuration, seconds: roundSeconds, connections: roundConnections, rows: rows)
                }
            }
            swift.add(swiftRound)
            native.add(peerRound)
            if peerRound.rate > 0 { roundRatios.append(swiftRound.rate / peerRound.rate) }
        }
        let unit = name == "connect" ? "connections/s" : "ops/s"
        guard peer != nil else {
            let own = String(format: "cpu_us_per_op=%.1f user_us_per_op=%.1f", swift.cpuMicrosecondsPerOperation, swift.userMicrosecondsPerOperation)
            print("RESULT mysql-\(name) swift=\(Int(swift.rate.rounded())) peer=none ratio=none operations=\(swift.operations) \(own)  (\(unit), without the peer: not a comparison)")
            return
        }
        // Client CPU per operation (user + system, whole process): steadier than the rates
        // when other work shares the machine.
        let cpu = String(
            format: "cpu_us_per_op=%.1f/%.1f user_us_per_op=%.1f/%.1f",
            swift.cpuMicrosecondsPerOperation, native.cpuMicrosecondsPerOperation,
            swift.userMicrosecondsPerOperation, native.userMicrosecondsPerOperation
        )
        let spread = roundRatioSpread(roundRatios)
        let extra = (name == "connect" ? "connections=\(connections)" : "seconds=\(seconds)") + (spread.isEmpty ? "" : " " + spread) + " " + cpu
        printResult("mysql-\(name)", swift: swift.rate, peer: native.rate, unit: unit, extra: extra)
    }

    /// One round of the Swift side: the case's operations on a task that prefers the event
    /// loop, timed, with the process's CPU time around it.
    ///
    /// A task executor preference, not an actor whose serial executor is the loop, although
    /// the runtime looks the preference up under the task's status lock at every switch and
    /// resume (about 600 instructions per point SELECT). In Swift 6.3, `#isolation` is `nil`
    /// inside `nonisolated(nonsending)` functions, so the client's continuations would resume
    /// on the global pool and hop back to the actor: measured with callgrind, 12,400
    /// instructions per prepared SELECT against 10,150 this way, plus a pool thread woken
    /// per reply.
    private func swiftSide(_ name: String, configuration: MySQLConfiguration, eventLoop: EventLoop, seconds: Double, connections: Int) async throws -> Tally {
        let cpuBefore = ProcessCPUTime.now()
        let (operations, elapsed) = try await Task(executorPreference: eventLoop) { () async throws -> (Int, Double) in
            switch name {
            case "text-select": return try await textSelect(configuration, eventLoop, seconds: seconds)
            case "prepared-select": return try await preparedSelect(configuration, eventLoop, seconds: seconds)
            case "insert": return try await insert(configuration, eventLoop, seconds: seconds)
            default: return try await connectClose(configuration, eventLoop, count: connections)
            }
        }.value
        let cpuAfter = ProcessCPUTime.now()
        return Tally(
            operations: operations, seconds: elapsed,
            cpuSeconds: cpuAfter.total - cpuBefore.total, userSeconds: cpuAfter.user - cpuBefore.user
        )
    }

    /// Runs `body` (one operation, given its sequence number) for `seconds`; returns the
    /// number of operations and the seconds they took. Both run where their caller runs
    /// (`nonisolated(nonsending)`), like the client's request methods: no executor hop per
    /// operation.
    private nonisolated(nonsending) func timed(seconds: Double, _ body: nonisolated(nonsending) (Int) async throws -> Void) async throws -> (Int, Double) {
        let start = NanoTime.now()
        let deadline = start + .nanoseconds(Int64(seconds * 1e9))
        var operations = 0
        var now = start
        while now < deadline {
            for _ in 0..<16 {
                try await body(operations)
                operations += 1
            }
            now = NanoTime.now()
        }
        return (operations, (now - start).seconds)
    }

    nonisolated(nonsending) func textSelect(_ configuration: MySQLConfiguration, _ eventLoop: EventLoop, seconds: Double) async throws -> (Int, Double) {
        let connection = try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
        let rows = self.rows
        let select = StatementText("SELECT v FROM bench_kv WHERE id = ")
        let measured = try await timed(seconds: seconds) { n in
            let id = n % rows + 1
            let result = try await connection.query(select(id))
            guard result.rows.count == 1, !result.rows[0][0].isNull else { throw MySQLPeer.Failure("row \(id) missing") }
        }
        await connection.close()
        return measured
    }

    nonisolated(nonsending) func preparedSelect(_ configuration: MySQLConfiguration, _ eventLoop: EventLoop, seconds: Double) async throws -> (Int, Double) {
        let connection = try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
        let statement = try await connection.prepare("SELECT v FROM bench_kv WHERE id = ?")
        let rows = self.rows
        // One parameter array whose value is replaced per execute, as the C peer binds one
        // MYSQL_BIND and rewrites its buffer: the connection keeps no reference once execute
        // returns, so the array is unique again and needs no allocation per call.
        var parameters: [MySQLValue] = [.null]
        let measured = try await timed(seconds: seconds) { n in
            let id = n % rows + 1
            parameters[0] = .int(Int64(id))
            let result = try await connection.execute(statement, parameters)
            guard result.rows.count == 1, !result.rows[0][0].isNull else { throw MySQLPeer.Failure("row \(id) missing") }
        }
        try await connection.close(statement)
        await connection.close()
        return measured
    }

    nonisolated(nonsending) func insert(_ configuration: MySQLConfiguration, _ eventLoop: EventLoop, seconds: Double) async throws -> (Int, Double) {
        let connection = try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
        _ = try await connection.query("SET autocommit = 1")
        let insert = StatementText("INSERT INTO bench_insert (v) VALUES ('swift-", "-abcdefghijklmnopqrstuvwxyz')")
        let measured = try await timed(seconds: seconds) { n in
            let result = try await connection.query(insert(n))
            guard result.affectedRows == 1 else { throw MySQLPeer.Failure("INSERT affected \(result.affectedRows) rows") }
        }
        await connection.close()
        return measured
    }

    func connectClose(_ configuration: MySQLConfiguration, _ eventLoop: EventLoop, count: Int) async throws -> (Int, Double) {
        let start = NanoTime.now()
        for _ in 0..<count {
            let connection = try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
            await connection.close()
        }
        return (count, (NanoTime.now() - start).seconds)
    }

    /// Mean cost of `acquire()` + `release()` with an idle connection always available (pool
    /// of one, used back to back, so the alive-bypass window skips validation).
    func poolOverhead(configuration: MySQLConfiguration, eventLoop: EventLoop) async throws -> Double {
        let pool = ConnectionPool<MySQLConnection>(
            name: "bench",
            configuration: ConnectionPoolConfiguration(maximumPoolSize: 1, minimumIdle: 1, keepaliveTime: nil),
            eventLoop: eventLoop
        ) {
            try await MySQLConnection.connect(configuration, eventLoop: eventLoop)
        }
        let iterations = poolIterations
        let nanoseconds = try await Task(executorPreference: eventLoop) {
            // Warm up: the first acquire waits for the connection to be created.
            for _ in 0..<1_000 { pool.release(try await pool.acquire()) }
            let start = NanoTime.now()
            for _ in 0..<iterations { pool.release(try await pool.acquire()) }
            return Double((NanoTime.now() - start).wholeNanoseconds) / Double(iterations)
        }.value
        pool.shutdown()
        return nanoseconds
    }
}

/// The libmariadb peer: compiled from `mysqlPeerSource` into a temporary directory.
struct MySQLPeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let directory: URL
    let binary: String

    static func build(cc: String) throws -> MySQLPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lab-mysql-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("mysql_peer.c")
        try Data(mysqlPeerSource.utf8).write(to: source)
        let binary = directory.appendingPathComponent("mysql_peer").path
        let flags: String
        do {
            flags = try PeerProcess.run("pkg-config", ["--cflags", "--libs", "libmariadb"])
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw Failure("pkg-config cannot find libmariadb (\(error)); install libmariadb-dev (scripts/setup)")
        }
        let arguments = ["-O2", "-o", binary, source.path] + flags.split(whereSeparator: \.isWhitespace).map(String.init)
        do {
            _ = try PeerProcess.run(cc, arguments)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw Failure("compiling the libmariadb peer failed: \(cc) \(arguments.joined(separator: " ")): \(error)")
        }
        return MySQLPeer(directory: directory, binary: binary)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs one case; returns what its `PEER <case> ops=… seconds=… rate=… cpu_us_per_op=…`
    /// line says.
    func run(_ name: String, configuration: MySQLConfiguration, seconds: Double, connections: Int, rows: Int) throws -> MySQLBench.Tally {
        let output = try PeerProcess.run(binary, [
            name, configuration.host, String(configuration.port), configuration.username, configuration.password,
            configuration.database ?? "", String(seconds), String(connections), String(rows),
        ])
        for report in PeerProcess.reportFields(in: output, linesStartingWith: "PEER \(name) ") {
            let fields = report.compactMapValues { Double($0) }
            if let operations = fields["ops"], let elapsed = fields["seconds"], let cpu = fields["cpu_us_per_op"], let user = fields["user_us_per_op"] {
                return MySQLBench.Tally(
                    operations: Int(operations), seconds: elapsed, cpuSeconds: cpu * operations / 1e6, userSeconds: user * operations / 1e6
                )
            }
        }
        throw Failure("could not read the peer's output for \(name):\n\(output)")
    }
}

/// CPU time this process has used so far, in seconds, user and system apart.
struct ProcessCPUTime {
    var user: Double
    var system: Double
    var total: Double { user + system }

    static func now() -> ProcessCPUTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return ProcessCPUTime(
            user: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            system: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        )
    }
}

/// CPU time (user + system) this process has used, in seconds.
func processCPUSeconds() -> Double { ProcessCPUTime.now().total }

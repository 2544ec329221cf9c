import Hummingbird
import Logging
import MySQLWire
import ServiceKit

/// The replay-worker: `POST /replays` runs a replay of a dead-letter topic to completion
/// and answers its summary.
public struct ReplayWorker: Sendable {
    public static let name = "replay-worker"

    public struct Options: Sendable {
        public var port: Int
        public var mysqlURL: String
        public var kafkaBootstrap: String
        /// Records per second when a request does not say.
        public var defaultRatePerSecond: Double

        public init(environment: ServiceEnvironment = ServiceEnvironment()) {
            port = ServicePorts.replayWorker
            mysqlURL = environment.mysqlURL
            kafkaBootstrap = environment.kafkaBootstrap
            defaultRatePerSecond = 200
        }

        public func validate() throws(ServiceError) {
            guard defaultRatePerSecond > 0, defaultRatePerSecond.isFinite else {
                throw .invalidConfiguration("the default rate must be > 0 records/s (got \(defaultRatePerSecond))")
            }
        }
    }

    public var options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Serves until SIGTERM/SIGINT.
    public func run(logLevel: Logger.Level = .info) async throws {
        try options.validate()
        let runtime = try ServiceRuntime(name: Self.name, port: options.port, failpoints: ReplayFailpoints.all, logLevel: logLevel)
        let database = try ServiceDatabase(url: options.mysqlURL, poolName: "replay", pool: Self.pool, logger: runtime.logger)
        let replayer: DeadLetterReplayer
        do {
            try await Migrations.applyBundled(database)
            replayer = try DeadLetterReplayer(
                database: database, kafkaBootstrap: options.kafkaBootstrap, defaultRatePerSecond: options.defaultRatePerSecond,
                failpoints: runtime.failpoints, logger: runtime.logger)
        } catch {
            database.shutdown()
            throw error
        }
        do {
            try await runtime.run(routes: { router in Self.addRoutes(to: router, replayer: replayer) })
        } catch {
            await replayer.close()
            database.shutdown()
            throw error
        }
        await replayer.close()
        database.shutdown()
    }

    /// One replay without serving HTTP (the harness's `--once`): logs on stderr, returns the summary.
    public func runOnce(_ request: ReplayRequest, logLevel: Logger.Level = .info) async throws -> ReplaySummary {
        try options.validate()
        JSONLogHandler.bootstrap(service: Self.name, level: logLevel)
        let logger = Logger(label: "lab.\(Self.name)")
        let database = try ServiceDatabase(url: options.mysqlURL, poolName: "replay", pool: Self.pool, logger: logger)
        do {
            try await Migrations.applyBundled(database)
            let replayer = try DeadLetterReplayer(
                database: database, kafkaBootstrap: options.kafkaBootstrap, defaultRatePerSecond: options.defaultRatePerSecond,
                logger: logger)
            do {
                let summary = try await replayer.replay(request)
                await replayer.close()
                database.shutdown()
                return summary
            } catch {
                await replayer.close()
                throw error
            }
        } catch {
            database.shutdown()
            throw error
        }
    }

    /// A replay is one statement at a time; a small pool is plenty.
    static let pool = ConnectionPoolConfiguration(maximumPoolSize: 2, connectionTimeout: .seconds(5))

    static func addRoutes(to router: Router<ServiceHTTP.Context>, replayer: DeadLetterReplayer) {
        router.post("replays") { request, _ -> Response in
            let body: [UInt8]
            do {
                body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            } catch {
                throw HTTPError(.contentTooLarge, message: "request body larger than 1 MiB")
            }
            do {
                let summary = try await replayer.replay(try ReplayRequest.parse(body))
                return ServiceHTTP.json(.ok, encoding: summary)
            } catch let error as ServiceError {
                if case .invalidInput = error { throw HTTPError(.badRequest, message: error.description) }
                throw HTTPError(.serviceUnavailable, message: error.description)
            } catch let error as DeadLetterTopicNotFound {
                throw HTTPError(.notFound, message: error.description)
            } catch {
                throw HTTPError(.serviceUnavailable, message: "replay failed: \(error)")
            }
        }
    }
}

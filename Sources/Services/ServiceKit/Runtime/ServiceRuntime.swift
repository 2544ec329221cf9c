import Hummingbird
import Logging

/// How every service process runs: JSON logs, Prometheus metrics, failpoints armed from
/// `LAB_FAILPOINTS`, the HTTP endpoints (common + the service's own) on 127.0.0.1:`port`,
/// and the service's background loops. SIGTERM/SIGINT stop the HTTP server; the loops are
/// then cancelled and awaited, so a clean stop finishes what is in hand.
public struct ServiceRuntime: Sendable {
    public let name: String
    public let port: Int
    public let failpoints: Failpoints
    public let logger: Logger

    /// Bootstraps logging and metrics for the process and arms failpoints from the environment.
    public init(name: String, port: Int, failpoints knownFailpoints: [String],
                environment: ServiceEnvironment = ServiceEnvironment(), logLevel: Logger.Level = .info) throws {
        JSONLogHandler.bootstrap(service: name, level: logLevel)
        ServiceMetrics.bootstrap()
        self.name = name
        self.port = port
        logger = Logger(label: "lab.\(name)")
        failpoints = Failpoints(known: knownFailpoints, logger: logger)
        try failpoints.arm(fromEnvironment: environment.failpoints)
    }

    /// Serves HTTP and runs `loops` until the process is told to stop. A loop that throws
    /// stops the service (logged), as a crashed worker would.
    public func run(
        health: @escaping @Sendable () async -> String? = { nil },
        routes: (Router<ServiceHTTP.Context>) -> Void = { _ in },
        loops: [@Sendable () async throws -> Void] = []
    ) async throws {
        let router = ServiceHTTP.router(service: name, failpoints: failpoints, health: health)
        routes(router)
        let responder = router.buildResponder()
        let logger = self.logger
        let port = self.port
        logger.info("service starting", metadata: ["port": "\(port)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ServiceHTTP.run(responder: responder, port: port, logger: logger) }
            for loop in loops {
                group.addTask {
                    do {
                        try await loop()
                    } catch is CancellationError {
                    } catch {
                        logger.critical("service loop failed", metadata: ["error": "\(error)"])
                        throw error
                    }
                }
            }
            // The first task to end (the server on a signal, or a failed loop) ends the service.
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
        }
        logger.info("service stopped")
    }
}

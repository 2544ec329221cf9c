import Foundation
import ProcessSupport
import ServiceKit
import Synchronization

/// A service the harness started as a child process (`lab service NAME …`): its PID, its
/// port, its log file. The harness stops only processes it started, by their PID.
public final class ServiceProcess: Sendable {
    public let name: String
    public let pid: pid_t
    public let port: Int
    public let logPath: String
    private let child: WatchedChild

    private init(name: String, child: ChildProcess.Running, port: Int, logPath: String) {
        self.name = name
        self.child = WatchedChild(child)
        pid = child.pid
        self.port = port
        self.logPath = logPath
    }

    /// Starts `executable service <arguments>` with the environment plus `environment`,
    /// standard input from /dev/null, standard output and error appended to `logPath`.
    public static func start(
        name: String, executable: String, arguments: [String], environment: [String: String], port: Int, logPath: String
    ) throws -> ServiceProcess {
        do {
            let child = try ChildProcess.spawn(executable, ["service"] + arguments, environment: environment, output: .appended(logPath))
            let process = ServiceProcess(name: name, child: child, port: port, logPath: logPath)
            started.withLock { $0.append(process) }
            return process
        } catch {
            throw HarnessError.process("cannot start \(name) (\(executable)): \(String(cString: strerror(error.code)))")
        }
    }

    /// Every service this process started (so that an interrupted harness stops them).
    private static let started = Mutex<[ServiceProcess]>([])

    /// Stops every service this process started that still runs (SIGTERM, then SIGKILL after
    /// `grace`): what an interrupted harness does before it exits.
    public static func stopAllStarted(grace: Duration = .seconds(5)) async {
        let running = started.withLock { $0.filter(\.isRunning) }
        await withTaskGroup(of: Void.self) { group in
            for process in running { group.addTask { await process.stop(grace: grace) } }
        }
    }

    /// The exit status once it exited (128 + signal when killed), nil while it runs.
    public var exitCode: Int32? { child.exitCode }
    public var isRunning: Bool { child.isRunning }

    /// Waits until `GET /health` answers 200, or fails if the process exits or `timeout` passes.
    public func waitHealthy(timeout: Duration = .seconds(60)) async throws {
        let client = HTTPClient(port: port)
        defer { client.close() }
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            if let code = exitCode {
                throw HarnessError.process("\(name) exited with status \(code) before it was healthy; log: \(logPath)\n\(tail())")
            }
            do {
                let response = try await client.get("/health", timeout: .seconds(2))
                if response.status == 200 { return }
                last = "HTTP \(response.status) \(response.text)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError.process("\(name) not healthy within \(timeout) (\(last)); log: \(logPath)\n\(tail())")
    }

    /// Waits for the process to exit (e.g. after a crash failpoint), up to `timeout`.
    @discardableResult
    public func waitExit(timeout: Duration) async -> Int32? {
        await child.waitForExit(timeout: timeout)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    public func stop(grace: Duration = .seconds(10)) async {
        await child.stop(grace: grace)
    }

    /// kill -9: the process dies on the spot.
    public func kill9() async {
        await child.kill9()
    }

    /// The last lines of the log (for error messages).
    public func tail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

public enum HarnessError: Error, CustomStringConvertible {
    case process(String)
    case setup(String)

    public var description: String {
        switch self {
        case let .process(why), let .setup(why): why
        }
    }
}

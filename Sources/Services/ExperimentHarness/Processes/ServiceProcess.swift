import Foundation
import Synchronization
import ServiceKit

/// A service the harness started as a child process (`lab service NAME …`): its PID, its
/// port, its log file. The harness stops only processes it started, by their PID.
public final class ServiceProcess: @unchecked Sendable {
    public let name: String
    public let pid: pid_t
    public let port: Int
    public let logPath: String
    private let exitStatus = ExitStatus()
    private let exited: Task<Int32, Never>

    private init(name: String, pid: pid_t, port: Int, logPath: String) {
        self.name = name
        self.pid = pid
        self.port = port
        self.logPath = logPath
        let status = exitStatus
        exited = Task.detached {
            let code = await Self.waitForExit(pid)
            status.value.withLock { $0 = code }
            return code
        }
    }

    /// Starts `executable service <arguments>` with the environment plus `environment`,
    /// standard output and error appended to `logPath`.
    public static func start(
        name: String, executable: String, arguments: [String], environment: [String: String], port: Int, logPath: String
    ) throws -> ServiceProcess {
        var pid: pid_t = 0
        let argv = ([executable, "service"] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Cooperative-pool threads block signals; the child must not inherit that mask, or it
        // would ignore the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw HarnessError.process("cannot start \(name) (\(executable)): \(String(cString: strerror(result)))") }
        return ServiceProcess(name: name, pid: pid, port: port, logPath: logPath)
    }

    /// The exit status once it exited (128 + signal when killed), nil while it runs.
    public var exitCode: Int32? { exitStatus.value.withLock { $0 } }
    public var isRunning: Bool { exitCode == nil }

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
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = exitCode { return code }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return exitCode
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    public func stop(grace: Duration = .seconds(10)) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if await waitExit(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = await exited.value
        }
    }

    /// kill -9: the process dies on the spot.
    public func kill9() async {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        _ = await exited.value
    }

    /// The last lines of the log (for error messages).
    public func tail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let exited = status & 0x7f == 0
                continuation.resume(returning: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
        }
    }
}

final class ExitStatus: Sendable {
    let value = Mutex<Int32?>(nil)
}

public enum HarnessError: Error, CustomStringConvertible {
    case process(String)
    case timeout(String)
    case setup(String)

    public var description: String {
        switch self {
        case let .process(why), let .timeout(why), let .setup(why): why
        }
    }
}

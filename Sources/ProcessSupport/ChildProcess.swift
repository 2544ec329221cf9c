import Foundation

/// Runs a program and waits for it without blocking the cooperative pool: posix_spawn, then
/// waitpid on a thread of its own. (Foundation's Process.waitUntilExit polls a run loop on
/// the calling thread, and was seen never to notice the exit of a script that starts a
/// daemon.) The one way the tests and the experiment harness start child processes.
public enum ChildProcess {
    /// Where a child's standard output (and error) go. Standard input is always /dev/null:
    /// no child may read the terminal of the test run or of `lab exp`.
    public enum Output: Sendable {
        /// Standard output to /dev/null; standard error stays the caller's.
        case discarded
        /// Standard output and error to the file, emptied first (created 0600 if missing).
        case file(String)
        /// Standard output and error added at the end of the file (created 0644 if missing):
        /// a log that outlives restarts of the same service.
        case appended(String)
    }

    /// Why a child could not be started: the program and posix_spawn's error.
    public struct SpawnError: Error, CustomStringConvertible {
        public let path: String
        public let code: Int32

        public var description: String { "cannot start \(path): \(String(cString: strerror(code)))" }
    }

    /// Runs `path` to the end; its exit status (128 + signal when killed, -1 if it could not start).
    public static func run(_ path: String, _ arguments: [String]) async -> Int32 {
        guard let child = start(path, arguments) else { return -1 }
        return await child.wait()
    }

    /// A started child, to be stopped by its PID (`kill`) and waited for.
    public struct Running: Sendable {
        public let pid: pid_t

        public func kill(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

        /// Waits for the child to exit (and reaps it); 128 + signal when it was killed.
        /// Call it once: after it returns the PID may belong to another process.
        public func wait() async -> Int32 {
            let child = pid
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    var status: Int32 = 0
                    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                    let exited = status & 0x7f == 0
                    continuation.resume(returning: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
                }
            }
        }
    }

    /// Runs `path` to the end (killed after `timeout`) with standard output and error captured.
    public static func runCapturingOutput(
        _ path: String, _ arguments: [String], timeout: Duration = .seconds(20)
    ) async -> (status: Int32, output: String) {
        let file = NSTemporaryDirectory() + "lab-child-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(file) }
        guard let child = start(path, arguments, outputFile: file) else { return (-1, "cannot start \(path)") }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            child.kill(SIGKILL)
        }
        let status = await child.wait()
        watchdog.cancel()
        let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return (status, output)
    }

    /// Starts `path` with its standard output discarded (or, with `outputFile`, standard output
    /// and error written there) and `environment` added to (or replacing entries of) this
    /// process's environment; nil if it cannot be started.
    public static func start(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], outputFile: String? = nil
    ) -> Running? {
        try? spawn(path, arguments, environment: environment, output: outputFile.map { .file($0) } ?? .discarded)
    }

    /// Starts `path` with `arguments`, `environment` added to (or replacing entries of) this
    /// process's environment, standard input from /dev/null and standard output as `output`
    /// says; throws the reason if it cannot be started.
    public static func spawn(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], output: Output = .discarded
    ) throws(SpawnError) -> Running {
        var pid: pid_t = 0
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Without additions the child gets this process's environment as it is.
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.isEmpty ? nil : ProcessInfo.processInfo.environment
            .merging(environment) { _, added in added }
            .map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp ?? [] { free(pointer) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .discarded:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case let .file(file):
            posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case let .appended(file):
            posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // The caller is usually a dispatch worker thread, which blocks signals; a child (and a
        // daemon it starts) would inherit that mask and ignore the SIGTERM that stops it later.
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

        let result = if let envp {
            posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        } else {
            posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        }
        guard result == 0 else { throw SpawnError(path: path, code: result) }
        return Running(pid: pid)
    }
}

import Foundation

/// Runs a program and waits for it without blocking the cooperative pool: posix_spawn, then
/// waitpid on a thread of its own. (Foundation's Process.waitUntilExit polls a run loop on
/// the calling thread, and was seen never to notice the exit of a script that starts a
/// daemon.)
public enum ChildProcess {
    /// Runs `path` to the end; its exit status (128 + signal when killed, -1 if it could not start).
    public static func run(_ path: String, _ arguments: [String]) async -> Int32 {
        guard let child = start(path, arguments) else { return -1 }
        return await child.wait()
    }

    /// A started child, to be stopped by its PID (`kill`) and waited for.
    public struct Running: Sendable {
        public let pid: pid_t

        public func kill(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

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
    /// and error written there); nil if it cannot be started.
    public static func start(_ path: String, _ arguments: [String], outputFile: String? = nil) -> Running? {
        var pid: pid_t = 0
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputFile {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
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
        guard posix_spawn(&pid, path, &actions, &attributes, argv, environ) == 0 else { return nil }
        return Running(pid: pid)
    }
}

import Foundation
import Synchronization

/// A started child whose exit is awaited from the moment it starts, so that its status can
/// be read at any time, and which is signalled only while it runs: once waitpid has reaped
/// it, its PID may belong to another process.
public final class WatchedChild: Sendable {
    public let pid: pid_t
    private let child: ChildProcess.Running
    private let status = ExitStatus()
    private let reaper: Task<Int32, Never>

    /// Set once, by the reaper, when waitpid returns.
    private final class ExitStatus: Sendable {
        let code = Mutex<Int32?>(nil)
    }

    public init(_ child: ChildProcess.Running) {
        self.child = child
        pid = child.pid
        let status = self.status
        reaper = Task.detached {
            let code = await child.wait()
            status.code.withLock { $0 = code }
            return code
        }
    }

    /// The exit status once it exited (128 + signal when killed), nil while it runs.
    public var exitCode: Int32? { status.code.withLock { $0 } }
    public var isRunning: Bool { exitCode == nil }

    /// Sends `signal` if the child still runs.
    public func kill(_ signal: Int32) {
        if isRunning { child.kill(signal) }
    }

    /// Waits up to `timeout` for the child to exit; its exit status, or nil if it still runs.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = exitCode { return code }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return exitCode
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; the exit status.
    @discardableResult
    public func stop(grace: Duration) async -> Int32 {
        if let code = exitCode { return code }
        child.kill(SIGTERM)
        if let code = await waitForExit(timeout: grace) { return code }
        child.kill(SIGKILL)
        return await reaper.value
    }

    /// SIGKILL now (as `kill -9`); the exit status.
    @discardableResult
    public func kill9() async -> Int32 {
        if let code = exitCode { return code }
        child.kill(SIGKILL)
        return await reaper.value
    }
}

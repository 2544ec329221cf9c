import Foundation
import LabTestSupport
import ServiceKit
import Testing

/// A `lab …` service process started by a test: the built `lab` executable as a child with
/// extra environment variables (e.g. `LAB_FAILPOINTS`), its standard output and error in a
/// temporary file, ready once `GET /health` on 127.0.0.1:`port` answers 200. Stopped by its
/// PID only (SIGTERM, then SIGKILL after 5 s); killed with SIGKILL if dropped still running.
///
/// Needs `swift build --target Lab` first; gate tests on `ServiceProcess.labPath != nil`
/// with `ServiceProcess.missingLabReason`.
final class ServiceProcess: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The built `lab` executable, if there is one.
    static var labPath: String? { RepositoryFiles.executable(".build/debug/lab") }
    static let missingLabReason: Comment = "needs the lab executable: run `swift build --target Lab` first"

    let port: Int
    let pid: pid_t
    /// The arguments after `lab` (with `--port PORT` added when not given).
    let arguments: [String]
    /// Where the process's standard output and error go (JSON log lines).
    let outputPath: String
    /// A keep-alive client for the process's HTTP port.
    let http: HTTPClient

    private let child: WatchedChild

    private init(port: Int, child: ChildProcess.Running, arguments: [String], outputPath: String) {
        self.port = port
        self.child = WatchedChild(child)
        pid = child.pid
        self.arguments = arguments
        self.outputPath = outputPath
        http = HTTPClient(port: port)
    }

    deinit {
        child.kill(SIGKILL)
        http.close()
        unlink(outputPath)
    }

    /// Starts `lab ARGUMENTS --port PORT` with `environment` added to (or replacing entries
    /// of) the test process's environment, and waits until `GET /health` answers 200. Throws
    /// (after killing it) if it exits first or is not healthy within `readyTimeout`.
    /// `arguments` are what follows `lab`, e.g. `["service", "outbox-relay", "--topic", t]`.
    static func start(
        arguments: [String], environment: [String: String] = [:], port: Int, readyTimeout: Duration = .seconds(60)
    ) async throws -> ServiceProcess {
        guard let lab = labPath else { throw Failure(description: "no lab executable at .build/debug/lab: run `swift build --target Lab`") }
        let fullArguments = arguments.contains("--port") ? arguments : arguments + ["--port", "\(port)"]
        let outputPath = NSTemporaryDirectory() + "lab-service-\(port)-\(UInt32.random(in: 0...UInt32.max)).log"
        guard let child = ChildProcess.start(lab, fullArguments, environment: environment, outputFile: outputPath) else {
            throw Failure(description: "cannot start \(lab) \(fullArguments.joined(separator: " "))")
        }
        let process = ServiceProcess(port: port, child: child, arguments: fullArguments, outputPath: outputPath)
        do {
            try await process.waitUntilHealthy(timeout: readyTimeout)
        } catch {
            await process.kill9()
            throw error
        }
        return process
    }

    private func waitUntilHealthy(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            if let status = exitCode {
                throw Failure(description: "lab \(arguments.joined(separator: " ")) exited with status \(status) before it was healthy:\n\(outputTail())")
            }
            do {
                let response = try await http.get("/health", timeout: .seconds(2))
                if response.status == 200 { return }
                last = "\(response.status) \(response.text)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "lab \(arguments.joined(separator: " ")) not healthy within \(timeout) (last: \(last)):\n\(outputTail())")
    }

    /// The exit status once the process has ended (128 + signal when killed), else nil.
    var exitCode: Int32? { child.exitCode }

    /// Waits up to `timeout` for the process to end; its exit status, or nil if still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        await child.waitForExit(timeout: timeout)
    }

    /// SIGTERM, then SIGKILL if it has not ended within 5 s; the exit status.
    @discardableResult
    func stop() async -> Int32 {
        await child.stop(grace: .seconds(5))
    }

    /// SIGKILL now (as `kill -9`); the exit status.
    @discardableResult
    func kill9() async -> Int32 {
        await child.kill9()
    }

    /// Everything the process wrote so far.
    func output() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// The last `lines` lines of the output, for failure messages.
    func outputTail(lines: Int = 40) -> String {
        output().split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The value of the first sample of `name` on `GET /metrics` whose labels contain every
    /// `labels` pair (`name` alone or `name{…}`), or nil when there is none.
    func metric(_ name: String, labels: [String: String] = [:]) async throws -> Double? {
        let text = try await http.get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let rest = line.dropFirst(name.count)
            guard rest.first == " " || rest.first == "{" else { continue }
            if !labels.isEmpty {
                guard rest.first == "{", let close = rest.firstIndex(of: "}") else { continue }
                let labelText = rest[rest.index(after: rest.startIndex)..<close]
                guard labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            }
            guard let value = rest.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            return value
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick, so never one of
    /// the lab's well-known ports).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 40000...60000) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound else { return Int.random(in: 40000...60000) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

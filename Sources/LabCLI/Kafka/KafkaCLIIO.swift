import Foundation
import Synchronization

/// Where `lab kafka produce|consume|groups` read and write: stdin/stdout/stderr from the
/// command line, memory in tests (which call `execute` instead of `run`).
struct KafkaCLIIO: Sendable {
    /// Data output, written as given (callers add the newlines).
    var out: @Sendable (String) -> Void
    /// Diagnostics, one line per call (the newline is added).
    var err: @Sendable (String) -> Void

    static let standard = KafkaCLIIO(
        out: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
        err: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })

    /// Lines of stdin, read on a thread of their own so that a blocking read holds no
    /// thread of the cooperative pool.
    static func standardInputLines() -> AsyncStream<String> {
        AsyncStream { continuation in
            Thread.detachNewThread {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }
        }
    }
}

/// A stop request that a signal handler or a test sets and a loop polls.
final class KafkaCLIStop: Sendable {
    private let flag = Atomic<Bool>(false)
    var requested: Bool { flag.load(ordering: .acquiring) }
    func request() { flag.store(true, ordering: .releasing) }

    /// Requests a stop on SIGINT or SIGTERM (the signals' default actions are turned off).
    /// Keep the returned sources alive while it should hold.
    func installSignalHandlers() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in self.request() }
            source.resume()
            return source
        }
    }
}

/// Parses `key=value` (the value may be empty or contain `=`).
func splitKeyValue(_ entry: String, option: String) throws -> (key: String, value: String) {
    guard let equals = entry.firstIndex(of: "=") else {
        throw KafkaCLIFailure("\(option): want key=value, got '\(entry)'")
    }
    return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
}

struct KafkaCLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Where trace events go: a file or stdout as JSONL or one text line each, and/or an
/// in-memory observer (tests). Shared by every connection; writes are serialized.
public final class TraceSink: Sendable {
    public enum Format: String, Sendable, CaseIterable { case jsonl, text }

    private struct State: @unchecked Sendable {
        var file: UnsafeMutablePointer<FILE>?
        var ownsFile: Bool
    }

    public let format: Format
    private let state: Mutex<State>
    private let observer: (@Sendable (TraceEvent) -> Void)?

    /// `path` nil: no output (only `observer`); "-": stdout.
    public init(path: String?, format: Format = .jsonl, observer: (@Sendable (TraceEvent) -> Void)? = nil) throws(ProxyError) {
        self.format = format
        self.observer = observer
        var file: UnsafeMutablePointer<FILE>?
        var owns = false
        if let path {
            if path == "-" {
                file = fdopen(1, "w")
            } else {
                guard let opened = fopen(path, "a") else { throw .io("cannot open trace file \(path): \(String(cString: strerror(errno)))") }
                file = opened
                owns = true
            }
        }
        state = Mutex(State(file: file, ownsFile: owns))
    }

    public func emit(_ event: TraceEvent) {
        observer?(event)
        state.withLock { state in
            guard let file = state.file else { return }
            let line = (format == .jsonl ? event.jsonLine : event.textLine) + "\n"
            fputs(line, file)
            fflush(file)
        }
    }

    public func close() {
        state.withLock { state in
            if state.ownsFile, let file = state.file { fclose(file) }
            state.file = nil
        }
    }

    deinit { close() }
}

public enum ProxyError: Error, Sendable, CustomStringConvertible {
    case io(String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .io(message), let .invalid(message): return message
        }
    }
}

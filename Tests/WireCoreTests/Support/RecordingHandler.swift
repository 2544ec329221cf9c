import Synchronization
import Testing
import WireCore

/// A channel handler that records everything the channel delivers, for tests to inspect.
final class RecordingHandler: ChannelHandler, Sendable {
    struct Record: Sendable {
        var bytes: [UInt8] = []
        var closeErrors: [WireError] = []
        var readsAfterClose = 0
        var readsOffLoop = 0
    }

    private let record = Mutex(Record())
    let eventLoop: EventLoop?

    init(eventLoop: EventLoop? = nil) {
        self.eventLoop = eventLoop
    }

    var snapshot: Record { record.withLock { $0 } }

    func channelRead(_ buffer: inout InboundBuffer) {
        let chunk = buffer.storage[buffer.readerIndex..<buffer.writerIndex]
        let offLoop = eventLoop.map { !$0.inEventLoop } ?? false
        record.withLock { record in
            if !record.closeErrors.isEmpty { record.readsAfterClose += 1 }
            if offLoop { record.readsOffLoop += 1 }
            record.bytes.append(contentsOf: chunk)
        }
        buffer.readerIndex = buffer.writerIndex
    }

    func channelClosed(_ error: WireError) {
        record.withLock { $0.closeErrors.append(error) }
    }

    /// Waits until `condition` holds for the record, polling; false after `timeout`.
    func wait(timeout: Duration = .seconds(10), until condition: (Record) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { condition(snapshot) }
    }

    /// The first close error, once the channel has reported one (nil after `timeout`).
    func closeError(timeout: Duration = .seconds(10)) async -> WireError? {
        _ = await wait(timeout: timeout) { !$0.closeErrors.isEmpty }
        return snapshot.closeErrors.first
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
func eventually(timeout: Duration, _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

/// The error a throwing async call failed with, or nil (recording an issue) when it succeeded.
func failure<T>(
    of body: () async throws(WireError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) async -> WireError? {
    do {
        _ = try await body()
        Issue.record("expected a WireError, but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The bytes a channel has received and its handler has not consumed yet. The storage is
/// reused across reads; a handler consumes by advancing `readerIndex`, and decodes straight
/// from `storage[readerIndex..<writerIndex]` without copying.
public struct InboundBuffer: Sendable {
    public private(set) var storage: [UInt8]
    public var readerIndex: Int {
        didSet { precondition(readerIndex >= 0 && readerIndex <= writerIndex, "readerIndex out of range") }
    }
    public private(set) var writerIndex: Int

    public init(capacity: Int = 64 * 1024) {
        storage = InboundBuffer.unfilledStorage(count: capacity)
        readerIndex = 0
        writerIndex = 0
    }

    /// Storage whose bytes are not zeroed first: every byte is written (by a read from the
    /// socket, or a copy) before anything reads it, and zeroing 64 KiB for each new channel
    /// is a measurable part of a short connection's cost.
    static func unfilledStorage(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    public var readableBytes: Int { writerIndex - readerIndex }

    /// A copy of the unread bytes, for handlers that hand bytes over wholesale.
    public func readableBytesArray() -> [UInt8] { Array(storage[readerIndex..<writerIndex]) }

    /// Makes at least `minimum` bytes writable at the end, compacting or growing the storage,
    /// and passes the writable region to `body`, which returns how many bytes it filled.
    mutating func writeWithUnsafeMutableBytes(minimum: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        if readerIndex == writerIndex {
            readerIndex = 0
            writerIndex = 0
        }
        if storage.count - writerIndex < minimum {
            if readerIndex > 0 {
                let unread = writerIndex - readerIndex
                storage.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + readerIndex, byteCount: unread)
                }
                readerIndex = 0
                writerIndex = unread
            }
            if storage.count - writerIndex < minimum {
                // A new array plus one memcpy: growing element by element is slow in debug
                // builds and makes a multi-megabyte message crawl in.
                let newCount = max(storage.count * 2, writerIndex + minimum)
                var grown = InboundBuffer.unfilledStorage(count: newCount)
                let used = writerIndex
                grown.withUnsafeMutableBytes { destination in
                    storage.withUnsafeBytes { source in
                        destination.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: used)
                    }
                }
                storage = grown
            }
        }
        let start = writerIndex
        let filled = storage.withUnsafeMutableBytes { raw in
            body(UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
        if filled > 0 { writerIndex += filled }
        return filled
    }

    /// Releases memory after a burst of large messages, once everything has been consumed.
    mutating func shrinkIfIdle(to capacity: Int) {
        if readerIndex == writerIndex && storage.count > capacity * 4 {
            storage = InboundBuffer.unfilledStorage(count: capacity)
            readerIndex = 0
            writerIndex = 0
        }
    }
}

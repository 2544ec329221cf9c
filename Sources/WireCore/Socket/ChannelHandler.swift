/// The protocol logic attached to a channel. Both calls arrive on the channel's event loop
/// thread, never concurrently.
public protocol ChannelHandler: AnyObject, Sendable {
    /// New bytes are available in `buffer`; consume what forms complete messages by advancing
    /// `buffer.readerIndex` and leave the rest for the next call.
    func channelRead(_ buffer: inout InboundBuffer)
    /// The channel is closed, for the reason given (`.closed` when closed on this side).
    /// Called exactly once; no read follows it.
    func channelClosed(_ error: WireError)
}

/// Options for a channel's socket and deadlines.
public struct ChannelOptions: Sendable {
    public var connectTimeout: Duration
    /// How long buffered outbound bytes may wait for the socket to accept them before the
    /// connection is declared dead.
    public var writeTimeout: Duration
    public var noDelay: Bool
    public var keepAlive: Bool
    public var receiveBufferCapacity: Int

    public init(
        connectTimeout: Duration = .seconds(10),
        writeTimeout: Duration = .seconds(30),
        noDelay: Bool = true,
        keepAlive: Bool = true,
        receiveBufferCapacity: Int = 64 * 1024
    ) {
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
        self.noDelay = noDelay
        self.keepAlive = keepAlive
        self.receiveBufferCapacity = receiveBufferCapacity
    }
}

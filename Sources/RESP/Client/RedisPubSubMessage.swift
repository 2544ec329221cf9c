/// A message delivered to a subscribed connection.
public struct RedisPubSubMessage: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case message, pmessage, smessage
    }

    public var kind: Kind
    public var channel: String
    /// The pattern that matched, for `pmessage`.
    public var pattern: String?
    public var payload: [UInt8]

    public var payloadString: String { String(decoding: payload, as: UTF8.self) }

    /// Interprets a RESP3 push or a RESP2 array in subscribed mode; nil when it is not a message.
    init?(_ items: [RESPValue]) {
        guard let first = items.first?.string, let kind = Kind(rawValue: first.lowercased()) else { return nil }
        self.kind = kind
        switch kind {
        case .message, .smessage:
            guard items.count == 3, let channel = items[1].string, let payload = items[2].bytes else { return nil }
            self.channel = channel
            self.pattern = nil
            self.payload = payload
        case .pmessage:
            guard items.count == 4, let pattern = items[1].string, let channel = items[2].string,
                  let payload = items[3].bytes else { return nil }
            self.channel = channel
            self.pattern = pattern
            self.payload = payload
        }
    }
}

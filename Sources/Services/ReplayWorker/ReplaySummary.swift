/// What a replay did. `scanned` = `replayed` + `skippedAlreadyReplayed` + `filteredOut`.
public struct ReplaySummary: Codable, Sendable, Equatable {
    /// Records read from the dead-letter topic (up to its end offsets at the start).
    public var scanned = 0
    public var replayed = 0
    /// Records whose event id `replay_log` already holds.
    public var skippedAlreadyReplayed = 0
    /// Records outside the key/time filters, or that cannot be replayed safely (no event id,
    /// no target topic); the latter are logged.
    public var filteredOut = 0

    public init() {}
}

/// The dead-letter topic named by a replay does not exist (→ 404).
public struct DeadLetterTopicNotFound: Error, Sendable, CustomStringConvertible {
    public let topic: String
    public var description: String { "dead-letter topic \(topic) does not exist" }
}

/// How a record's effect is tied to its offset commit.
public enum ConsumptionMode: String, Sendable, CaseIterable {
    /// The standard: `processed_event` and the effect in one transaction, offsets committed
    /// after the batch — a redelivered record is recognised and skipped.
    case idempotent
    /// The effect alone (E-003's misuse): a redelivered record is applied again.
    case naive
    /// Offsets committed before the batch is processed (E-004's misuse, at-most-once): a
    /// crash while processing loses the rest of the batch. Processing itself is idempotent.
    case commitFirst = "commit-first"
}

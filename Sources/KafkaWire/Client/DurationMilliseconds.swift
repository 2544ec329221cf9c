extension Duration {
    /// Whole milliseconds, clamped to Int32: the unit of Kafka's timeout fields
    /// (`timeoutMs`, `maxWaitMs`, `sessionTimeoutMs`, …).
    var kafkaMilliseconds: Int32 {
        Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}

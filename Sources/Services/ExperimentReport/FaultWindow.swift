/// A fault the experiment injected, in seconds since the run started: from `start` until
/// `end`, or until the end of the run when `end` is nil (a fault never healed, or an
/// instantaneous one such as a kill -9 whose effect lasts).
public struct FaultWindow: Sendable, Hashable, Codable {
    public var label: String
    public var start: Double
    public var end: Double?
    /// How it was injected (e.g. "kill -9 pid 4242", "PUT /failpoints/relay.after_publish_before_mark?spec=crash").
    public var detail: String?

    public init(label: String, start: Double, end: Double? = nil, detail: String? = nil) {
        self.label = label
        self.start = start
        self.end = end
        self.detail = detail
    }
}

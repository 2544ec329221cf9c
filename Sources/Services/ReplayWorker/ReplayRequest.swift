import Foundation
import ServiceKit

/// What to replay from a dead-letter topic (`POST /replays`, or `--once`).
public struct ReplayRequest: Codable, Sendable, Equatable {
    public var dltTopic: String
    /// Only records with this key (exact, as UTF-8 text).
    public var key: String?
    /// Only records whose timestamp is within [from, to] (ms since the epoch, both inclusive).
    public var fromTimestampMs: Int64?
    public var toTimestampMs: Int64?
    /// Records produced per second at most; the worker's default when absent.
    public var ratePerSecond: Double?
    /// Where the records go; by default each record's `kafka_dlt-original-topic`.
    public var targetTopic: String?

    public init(dltTopic: String, key: String? = nil, fromTimestampMs: Int64? = nil, toTimestampMs: Int64? = nil,
                ratePerSecond: Double? = nil, targetTopic: String? = nil) {
        self.dltTopic = dltTopic
        self.key = key
        self.fromTimestampMs = fromTimestampMs
        self.toTimestampMs = toTimestampMs
        self.ratePerSecond = ratePerSecond
        self.targetTopic = targetTopic
    }

    static let fields: Set<String> = ["dltTopic", "key", "fromTimestampMs", "toTimestampMs", "ratePerSecond", "targetTopic"]

    /// Parses and validates a JSON body; the error says what is wrong (→ 400). Unknown
    /// fields are refused: a misspelt filter must not silently widen a replay.
    public static func parse(_ body: [UInt8]) throws(ServiceError) -> ReplayRequest {
        guard !body.isEmpty else { throw .invalidInput("request body is empty; expected JSON with at least dltTopic") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw .invalidInput("request body is not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(fields)
        guard unknown.isEmpty else {
            throw .invalidInput("unknown field(s) \(unknown.sorted().joined(separator: ", ")); known: \(fields.sorted().joined(separator: ", "))")
        }
        let request: ReplayRequest
        do {
            request = try JSONDecoder().decode(ReplayRequest.self, from: Data(body))
        } catch {
            throw .invalidInput(EventCoding.describe(error))
        }
        try request.validate()
        return request
    }

    public func validate() throws(ServiceError) {
        guard !dltTopic.isEmpty else { throw .invalidInput("dltTopic is empty") }
        if let ratePerSecond, !(ratePerSecond > 0) || !ratePerSecond.isFinite {
            throw .invalidInput("ratePerSecond must be > 0 (got \(ratePerSecond))")
        }
        if let fromTimestampMs, let toTimestampMs, fromTimestampMs > toTimestampMs {
            throw .invalidInput("fromTimestampMs (\(fromTimestampMs)) is after toTimestampMs (\(toTimestampMs))")
        }
        if let targetTopic, targetTopic.isEmpty { throw .invalidInput("targetTopic is empty") }
    }

    /// Whether a record passes the key and time filters.
    func matches(key recordKey: String?, timestamp: Int64) -> Bool {
        if let key, recordKey != key { return false }
        if let fromTimestampMs, timestamp < fromTimestampMs { return false }
        if let toTimestampMs, timestamp > toTimestampMs { return false }
        return true
    }
}

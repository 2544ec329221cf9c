/// One request/response exchange (or a one-way frame, or bytes no codec could read) seen by
/// the proxy.
public struct TraceEvent: Sendable {
    /// Wall-clock time the request arrived, in microseconds since the epoch.
    public var timeMicros: Int64
    public var connection: UInt64
    public var route: String
    public var proto: ProxyProtocol
    /// The Kafka API, MySQL command or Redis command; "unparsed" for bytes forwarded blind.
    public var name: String
    public var version: Int?
    public var correlationID: Int64?
    /// Request arrival to response arrival at the proxy, in µs; nil when nothing answered.
    public var latencyMicros: Int64?
    /// Protocol-specific fields, in a stable order.
    public var fields: [(String, JSONValue)]

    public init(
        timeMicros: Int64, connection: UInt64, route: String, proto: ProxyProtocol, name: String,
        version: Int? = nil, correlationID: Int64? = nil, latencyMicros: Int64? = nil,
        fields: [(String, JSONValue)] = []
    ) {
        self.timeMicros = timeMicros
        self.connection = connection
        self.route = route
        self.proto = proto
        self.name = name
        self.version = version
        self.correlationID = correlationID
        self.latencyMicros = latencyMicros
        self.fields = fields
    }

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("time", .string(Self.isoTime(timeMicros))),
            ("conn", .int(Int64(connection))),
            ("route", .string(route)),
            ("protocol", .string(proto.rawValue)),
            ("api", .string(name)),
        ]
        if let version { pairs.append(("version", .int(Int64(version)))) }
        if let correlationID { pairs.append(("correlation_id", .int(correlationID))) }
        pairs.append(("latency_us", latencyMicros.map { .int($0) } ?? .null))
        pairs.append(contentsOf: fields)
        return .object(pairs)
    }

    public var jsonLine: String { json.serialized }

    /// One human-readable line: `time conn route proto api vN #corr latency key=value…`.
    public var textLine: String {
        var line = Self.isoTime(timeMicros) + " c\(connection) \(route) \(proto.rawValue) \(name)"
        if let version { line += " v\(version)" }
        if let correlationID { line += " #\(correlationID)" }
        if let latencyMicros { line += " \(Self.formatLatency(latencyMicros))" } else { line += " -" }
        for (key, value) in fields {
            line += " \(key)="
            if case let .string(s) = value { line += s.count > 80 ? String(s.prefix(77)) + "..." : s } else { line += value.serialized }
        }
        return line
    }

    static func formatLatency(_ micros: Int64) -> String {
        if micros >= 10_000 { return "\(micros / 1000)ms" }
        if micros >= 1000 { return "\(Double(micros / 100) / 10)ms" }
        return "\(micros)µs"
    }

    /// `2026-01-02T03:04:05.123456Z`
    static func isoTime(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        let days = seconds / 86400
        let secondOfDay = seconds % 86400
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 6))Z"
    }
}

import Foundation
import WireCore

/// A JSON value for the `key` and `value` fields of a history line: what the operation read
/// or wrote, kept as data (not preformatted text) so that a checker can compare it.
public enum HistoryValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([HistoryValue])
    /// Written with sorted keys, so the same value is the same bytes.
    case object([String: HistoryValue])

    /// Compact JSON.
    public var json: String {
        var out = ""
        write(into: &out)
        return out
    }

    public var description: String { json }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .int(value): out += String(value)
        case let .double(value):
            // JSON has no NaN or infinities; null says "no number" without breaking the line.
            out += value.isFinite ? JSONText.number(value) : "null"
        case let .string(value): out += JSONText.quote(value)
        case let .array(values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(into: &out)
            }
            out += "]"
        case let .object(fields):
            out += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += JSONText.quote(key)
                out += ":"
                fields[key]!.write(into: &out)
            }
            out += "}"
        }
    }
}

extension HistoryValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringInterpolation, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: HistoryValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, HistoryValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}

/// JSON numbers as the history and the report files write them.
extension JSONText {
    /// A finite Double as JSON: integral values without ".0" (counts read as counts),
    /// others as Swift's shortest round-tripping text (valid JSON, exponent included).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

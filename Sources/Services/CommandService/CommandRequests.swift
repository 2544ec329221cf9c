import Hummingbird
import ServiceKit

/// Request bodies and path values, and the rules they must meet.
enum CommandRequests {
    /// A body that is JSON but not what the endpoint takes; its description is the reason.
    struct InvalidBody: Error, CustomStringConvertible {
        let description: String
    }

    /// `{"amountCents": N}`. Decoded by hand so that each wrong shape gets a reason that
    /// names the field (the decoder's own error for 1.5 or 1e20 does not).
    struct DepositBody: Decodable {
        var amountCents: Int64

        enum CodingKeys: String, CodingKey { case amountCents }

        init(from decoder: any Decoder) throws {
            let container = try objectContainer(decoder, keyedBy: CodingKeys.self, example: #"{"amountCents": 100}"#)
            guard container.contains(.amountCents) else { throw InvalidBody(description: "missing field 'amountCents'") }
            if let value = try? container.decode(Int64.self, forKey: .amountCents) {
                amountCents = value
                return
            }
            let got: String
            if let number = try? container.decode(Double.self, forKey: .amountCents) {
                got = "\(number)"
            } else if let text = try? container.decode(String.self, forKey: .amountCents) {
                got = "the string \"\(text.prefix(40))\""
            } else if (try? container.decodeNil(forKey: .amountCents)) == true {
                got = "null"
            } else {
                got = "a value that is not a number"
            }
            throw InvalidBody(description: "amountCents must be an integer from \(amountRange.lowerBound) to \(amountRange.upperBound) (got \(got))")
        }
    }

    /// `{"message": "…"}`.
    struct SecondScenarioBody: Decodable {
        var message: String

        enum CodingKeys: String, CodingKey { case message }

        init(from decoder: any Decoder) throws {
            let container = try objectContainer(decoder, keyedBy: CodingKeys.self, example: #"{"message": "hello"}"#)
            guard container.contains(.message) else { throw InvalidBody(description: "missing field 'message'") }
            guard let message = try? container.decode(String.self, forKey: .message) else {
                throw InvalidBody(description: "message must be a string of 1–200 characters")
            }
            self.message = message
        }
    }

    /// The top-level object, or a reason saying that the body must be one.
    static func objectContainer<Key: CodingKey>(
        _ decoder: any Decoder, keyedBy: Key.Type, example: String
    ) throws -> KeyedDecodingContainer<Key> {
        do {
            return try decoder.container(keyedBy: Key.self)
        } catch {
            throw InvalidBody(description: "the body must be a JSON object like \(example)")
        }
    }

    static let amountRange: ClosedRange<Int64> = 1...100_000_000
    static let messageLength: ClosedRange<Int> = 1...200
    static let accountIDLength: ClosedRange<Int> = 1...64

    /// Account ids are 1–64 characters of A–Z, a–z, 0–9, `_` and `-` (they become Kafka
    /// keys, cache keys and log fields, so nothing that needs escaping).
    static func accountID(_ raw: String?) throws(HTTPError) -> String {
        guard let raw else { throw HTTPError(.badRequest, message: "the path has no account id") }
        guard accountIDLength.contains(raw.count) else {
            throw HTTPError(.badRequest, message: "account id must be 1–64 characters long (got \(raw.count))")
        }
        guard raw.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }) else {
            throw HTTPError(.badRequest, message: "account id may contain only A-Z, a-z, 0-9, '_' and '-' (got '\(raw)')")
        }
        return raw
    }

    static func deposit(_ request: Request) async throws -> Int64 {
        let body = try await ServiceHTTP.decode(DepositBody.self, from: request)
        guard amountRange.contains(body.amountCents) else {
            throw HTTPError(.badRequest, message: "amountCents must be an integer from \(amountRange.lowerBound) to \(amountRange.upperBound) (got \(body.amountCents))")
        }
        return body.amountCents
    }

    static func secondScenario(_ request: Request) async throws -> String {
        let body = try await ServiceHTTP.decode(SecondScenarioBody.self, from: request)
        guard messageLength.contains(body.message.count) else {
            throw HTTPError(.badRequest, message: "message must be 1–200 characters long (got \(body.message.count))")
        }
        return body.message
    }
}

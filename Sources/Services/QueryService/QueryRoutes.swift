import HTTPTypes
import Hummingbird
import Logging
import ServiceKit

/// The query-service's HTTP API: `GET /accounts/{id}`.
///
/// - 200 `{"accountId","balanceCents","version"}` with `X-Cache: hit|miss|bypass`
/// - 400 `{"error": reason}` for an id that is not 1–64 characters of `[A-Za-z0-9_-]`
/// - 404 `{"error": …}` when the read model has no such account (not cached)
/// - 503 `{"error": …}` when the value had to come from the read model and it is unavailable
public enum QueryRoutes {
    public static let cacheHeader = HTTPField.Name("X-Cache")!

    public static func register(on router: Router<ServiceHTTP.Context>, cache: AccountReadCache, logger: Logger) {
        router.get("accounts/:id") { _, context -> Response in
            await account(context.parameters.get("id") ?? "", cache: cache, logger: logger)
        }
    }

    static func account(_ text: String, cache: AccountReadCache, logger: Logger) async -> Response {
        let id: AccountID
        do {
            id = try AccountID(validating: text)
        } catch {
            return ServiceHTTP.json(.badRequest, ["error": "\(error)"])
        }
        do {
            let read = try await cache.read(id)
            var response: Response
            if let account = read.account {
                response = ServiceHTTP.json(.ok, encoding: account)
            } else {
                response = ServiceHTTP.json(.notFound, ["error": "no account \(id) in the read model"])
            }
            response.headers[cacheHeader] = read.cache.rawValue
            return response
        } catch {
            logger.warning("account read failed", metadata: ["account": "\(id)", "error": "\(error)"])
            return ServiceHTTP.json(.serviceUnavailable, ["error": error.description])
        }
    }
}

import Hummingbird
import ServiceKit

/// The command-service's own HTTP endpoints. Every error answers `{"error": "<reason>"}`
/// (Hummingbird's default would nest it as `{"error": {"message": …}}`).
enum CommandRoutes {
    static func add(to router: Router<ServiceHTTP.Context>, deposits: AccountDeposits, scenario: SecondScenarioPublisher) {
        router.post("accounts/:id/deposits") { request, context -> Response in
            await answering {
                let accountID = try CommandRequests.accountID(context.parameters.get("id"))
                let amount = try await CommandRequests.deposit(request)
                do throws(DepositFailure) {
                    let receipt = try await deposits.deposit(accountID: accountID, amountCents: amount)
                    return ServiceHTTP.json(.created, encoding: receipt)
                } catch let failure {
                    switch failure {
                    case let .notCommitted(_, injected): return error(injected ? .internalServerError : .serviceUnavailable, "\(failure)")
                    case .committedNotPublished: return error(.badGateway, "\(failure)")
                    }
                }
            }
        }
        router.get("accounts/:id") { _, context -> Response in
            await answering {
                let accountID = try CommandRequests.accountID(context.parameters.get("id"))
                let account: AccountSnapshot?
                do {
                    account = try await deposits.account(accountID)
                } catch {
                    return Self.error(.serviceUnavailable, "database: \(error)")
                }
                guard let account else { return Self.error(.notFound, "account \(accountID) not found") }
                return ServiceHTTP.json(.ok, encoding: account)
            }
        }
        router.post("events/second-scenario") { request, _ -> Response in
            await answering {
                let message = try await CommandRequests.secondScenario(request)
                do {
                    let ids = try await scenario.publish(message: message)
                    return ServiceHTTP.json(.created, encoding: ["eventIds": ids])
                } catch {
                    return Self.error(.serviceUnavailable, "Kafka did not acknowledge the events: \(error)")
                }
            }
        }
    }

    static func error(_ status: HTTPResponse.Status, _ reason: String) -> Response {
        ServiceHTTP.json(status, ["error": reason])
    }

    /// Runs a handler; an `HTTPError` it throws (a rejected input) becomes `{"error": reason}`.
    static func answering(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let failure as HTTPError {
            return error(failure.status, failure.body ?? failure.status.reasonPhrase)
        } catch {
            return Self.error(.internalServerError, "\(error)")
        }
    }
}

/// What a consumed record means and what applying it does.
public enum ConsumerHandler: String, Sendable, CaseIterable {
    /// `AccountDeposited` → a ledger row and the `account_view` read model (+ cache invalidation).
    case account
    /// The pool-exhaustion scenario's `SecondScenarioEvent` → a `scenario_event` row (seed 000).
    case secondScenario = "second-scenario"

    /// The topic the handler reads unless told otherwise.
    public var defaultTopic: String {
        switch self {
        case .account: "account-events.v1"
        case .secondScenario: "second-scenario.v1"
        }
    }
}

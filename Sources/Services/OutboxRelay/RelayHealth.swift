import Synchronization

/// What /health reports: the outcome of the relay's last attempt at a batch. Unhealthy
/// (with the reason) while the database or Kafka is failing it; healthy again after the
/// next attempt that succeeds.
final class RelayHealth: Sendable {
    enum Stage: String, Sendable {
        case database
        case kafka
        case failpoint
    }

    private let problem = Mutex<String?>(nil)

    var reason: String? { problem.withLock { $0 } }

    func succeeded() { problem.withLock { $0 = nil } }

    func failed(_ stage: Stage, _ error: any Error) {
        problem.withLock { $0 = "last batch failed (\(stage.rawValue)): \(error)" }
    }
}

import Synchronization

/// Each listener's state, for /health: unhealthy until every listener has polled once (it
/// joined its group), and while any listener's polls fail.
final class ListenerHealth: Sendable {
    enum State: Equatable {
        case starting
        case polling
        case failing(String)
    }

    private let states = Mutex<[String: State]>([:])

    func set(_ listener: String, _ state: State) {
        states.withLock { $0[listener] = state }
    }

    func remove(_ listener: String) {
        states.withLock { $0[listener] = nil }
    }

    /// nil when healthy, else why not.
    var problem: String? {
        let reasons = states.withLock { states in
            states.sorted { $0.key < $1.key }.compactMap { name, state -> String? in
                switch state {
                case .polling: nil
                case .starting: "listener \(name) has not joined its group yet"
                case let .failing(why): "listener \(name) cannot poll: \(why)"
                }
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }
}

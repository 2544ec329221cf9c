/// A rule that makes some records fail on purpose (seed 000's 10% poison messages).
public enum PoisonRule: String, Sendable, CaseIterable {
    case none
    /// `randomValue % 10 == 0` fails after holding its pooled connection for `poisonHold`.
    case randomValueMod10 = "random-value-mod-10"

    func isPoison(randomValue: Int) -> Bool {
        switch self {
        case .none: false
        case .randomValueMod10: randomValue % 10 == 0
        }
    }
}

/// One runnable experiment of the catalog (`experiments/<ID>.md` explains it).
public protocol Experiment: Sendable {
    /// `E-001`, `DB-2.1`, …
    var id: String { get }
    var title: String { get }
    /// ✅ (the standard holds the invariant) or ❌ (the misuse breaks it; reproduced next to its ✅ counterpart).
    var kind: String { get }
    /// What it shows, for the report.
    var summary: String { get }
    /// Drives the experiment and records its invariants on `run`. Throwing ends it as failed.
    func run(_ run: ExperimentRun) async throws
}

/// The experiments `scripts/exp` knows, in catalog order.
public enum ExperimentCatalog {
    public static let all: [any Experiment] = [
        E001OutboxRelay(), E002DirectProduce(), E003NoProcessedEvent(), E004CommitFirst(), E005RetryDLTReplay(),
        DB21PoolExhaustion(),
    ]

    public static func find(_ id: String) -> (any Experiment)? {
        all.first { $0.id.caseInsensitiveCompare(id) == .orderedSame || $0.id.replacingOccurrences(of: "-", with: "") == id.uppercased() }
    }
}

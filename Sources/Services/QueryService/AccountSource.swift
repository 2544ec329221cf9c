import MySQLWire
import ServiceKit

/// Where accounts are loaded from on a cache miss.
public protocol AccountSource: Sendable {
    /// The account, or nil when there is none; throws when the store cannot answer.
    func account(_ id: String) async throws -> AccountSnapshot?
}

/// The read model `account_view`, which the consumer-service keeps (and after whose commits
/// it invalidates the cache).
public struct AccountViewTable: AccountSource {
    public let database: ServiceDatabase

    public init(database: ServiceDatabase) {
        self.database = database
    }

    public func account(_ id: String) async throws -> AccountSnapshot? {
        let result = try await database.query(
            "SELECT balance_cents, version FROM account_view WHERE account_id = ?", [.string(id)])
        guard let row = result.rows.first else { return nil }
        guard row.count == 2, let balance = row[0].int64, let version = row[1].int64 else {
            throw ServiceError.dependency("account_view row \(id) is not (balance_cents, version) as BIGINTs: \(row)")
        }
        return AccountSnapshot(accountId: id, balanceCents: balance, version: version)
    }
}

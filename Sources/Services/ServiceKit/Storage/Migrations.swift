import Foundation
import MySQLWire

/// Versioned plain-SQL migrations (`Schema/migrations/V<NNN>__<name>.sql`, shipped as
/// resources), applied in version order, each once, recorded in `schema_migration`. Every
/// service applies them at start; a named lock makes concurrent starts take turns.
public enum Migrations {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var statements: [String]
    }

    /// The migrations shipped with ServiceKit, in version order.
    public static func bundled() throws(ServiceError) -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "migrations", withExtension: nil) else {
            throw .invalidConfiguration("the migrations resource folder is missing from the ServiceKit bundle")
        }
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        } catch {
            throw .invalidConfiguration("cannot list migrations in \(directory.path): \(error)")
        }
        var migrations: [Migration] = []
        for file in files where file.pathExtension == "sql" {
            let text: String
            do { text = try String(contentsOf: file, encoding: .utf8) } catch {
                throw .invalidConfiguration("cannot read \(file.path): \(error)")
            }
            migrations.append(try parse(fileName: file.lastPathComponent, text: text))
        }
        migrations.sort { $0.version < $1.version }
        for (earlier, later) in zip(migrations, migrations.dropFirst()) where earlier.version == later.version {
            throw .invalidConfiguration("two migrations have version \(later.version): \(earlier.name), \(later.name)")
        }
        return migrations
    }

    /// `V001__name.sql` → version 1, name `name`; statements split at `;`, comment lines dropped.
    public static func parse(fileName: String, text: String) throws(ServiceError) -> Migration {
        guard fileName.hasPrefix("V"), let separator = fileName.range(of: "__"),
              let version = Int(fileName[fileName.index(after: fileName.startIndex)..<separator.lowerBound])
        else { throw .invalidConfiguration("migration file name \(fileName) is not V<number>__<name>.sql") }
        let name = String(fileName[separator.upperBound...].dropLast(fileName.hasSuffix(".sql") ? 4 : 0))
        let body = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingSpaces.hasPrefix("--") }
            .joined(separator: "\n")
        let statements = body.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        return Migration(version: version, name: name, statements: statements)
    }

    /// Applies the migrations not yet recorded; returns the versions applied now.
    @discardableResult
    public static func apply(_ migrations: [Migration], on connection: MySQLConnection) async throws -> [Int] {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migration (
                version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at DATETIME(6) NOT NULL
            ) ENGINE = InnoDB
            """)
        let lock = try await connection.query("SELECT GET_LOCK('lab_schema_migration', 60)")
        guard lock.rows.first?.first?.int64 == 1 else { throw ServiceError.dependency("could not take the migration lock in 60 s") }
        do {
            let applied = Set(try await connection.query("SELECT version FROM schema_migration").rows.compactMap { $0.first?.int })
            var now: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements { _ = try await connection.query(statement) }
                _ = try await connection.query(
                    "INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, NOW(6))",
                    [.int(Int64(migration.version)), .string(migration.name)])
                now.append(migration.version)
            }
            _ = try await connection.query("SELECT RELEASE_LOCK('lab_schema_migration')")
            return now
        } catch {
            _ = try? await connection.query("SELECT RELEASE_LOCK('lab_schema_migration')")
            throw error
        }
    }

    /// Applies the bundled migrations through a pooled connection.
    @discardableResult
    public static func applyBundled(_ database: ServiceDatabase) async throws -> [Int] {
        let migrations = try bundled()
        return try await database.pool.withConnection { try await apply(migrations, on: $0) }
    }
}

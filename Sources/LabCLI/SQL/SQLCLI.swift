import ArgumentParser
import MySQLWire
import WireCore

/// `lab sql`: run a statement over the Swift MySQL client and print the result as a table.
struct SQLCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL against MySQL/MariaDB and print the result as a table.",
        discussion: """
        Examples:
          lab sql "SELECT VERSION()"
          lab sql --url mysql://lab:lab@127.0.0.1:13306/lab --prepared "SELECT * FROM t WHERE id = ?" 42
          lab sql "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2); SELECT * FROM t"
        """
    )

    @Option(help: "mysql://USER:PASSWORD@HOST:PORT/DATABASE")
    var url = "mysql://lab:lab@127.0.0.1:13306/lab"

    @Flag(help: "Prepare and execute through the binary protocol (COM_STMT_PREPARE/EXECUTE).")
    var prepared = false

    @Option(name: .customLong("ca-file"), help: "Require TLS, verifying the server against this CA file.")
    var caFile: String?

    @Option(help: "Statement timeout in seconds; the statement is killed server-side when it passes.")
    var timeout: Double?

    @Argument(help: "The SQL text (several statements separated by ';' run as a multi-statement).")
    var sql: String

    @Argument(help: "Parameters for --prepared, in order (the text NULL is SQL NULL).")
    var parameters: [String] = []

    func run() async throws {
        guard var configuration = MySQLConfiguration(url: url) else {
            throw ValidationError("cannot parse --url \(url); expected mysql://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        if let caFile {
            configuration.tlsMode = .required
            configuration.tls = TLSConfiguration(caFile: caFile)
        }
        let statementTimeout = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
        do {
            let connection = try await MySQLConnection.connect(configuration)
            let result: MySQLResult
            if prepared {
                let statement = try await connection.prepare(sql)
                let values: [MySQLValue] = parameters.map { $0 == "NULL" ? .null : .string($0) }
                result = try await connection.execute(statement, values, timeout: statementTimeout)
                try? await connection.close(statement)
            } else {
                result = try await connection.query(sql, timeout: statementTimeout)
            }
            await connection.close()
            for (index, set) in result.resultSets.enumerated() {
                if index > 0 { print("") }
                print(Self.render(set))
            }
        } catch {
            print("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// A mysql-client-like table, or the OK summary for statements without rows.
    static func render(_ set: MySQLResultSet) -> String {
        if set.columns.isEmpty {
            var line = "Query OK, \(set.affectedRows) row\(set.affectedRows == 1 ? "" : "s") affected"
            if set.lastInsertID > 0 { line += ", last insert id \(set.lastInsertID)" }
            if set.warnings > 0 { line += ", \(set.warnings) warning(s)" }
            return line
        }
        let header = set.columns.map(\.name)
        let cells = set.rows.map { row in row.map { $0.isNull ? "NULL" : $0.description } }
        var widths = header.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        func line(_ values: [String]) -> String {
            "| " + values.enumerated().map { index, value in
                value + String(repeating: " ", count: max(0, widths[index] - value.count))
            }.joined(separator: " | ") + " |"
        }
        var out = [rule, line(header), rule]
        out += cells.map(line)
        out.append(rule)
        out.append("\(set.rows.count) row\(set.rows.count == 1 ? "" : "s") in set")
        return out.joined(separator: "\n")
    }
}

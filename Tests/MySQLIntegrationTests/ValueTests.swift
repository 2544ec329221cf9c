import MySQLWire
import Testing

extension MariaDB {
    /// Every column type through both the text protocol (COM_QUERY) and the binary protocol
    /// (COM_STMT_EXECUTE): the same row must decode to the same values.
    @Suite("MariaDB: column types, text and binary", .enabled(if: MySQLTestServer.reachable, MySQLTestServer.skipReason))
    struct ValueTests {
        static let columns: [(name: String, type: String, value: String, expected: MySQLValue)] = [
            ("c_tiny", "TINYINT", "-128", .int(-128)),
            ("c_utiny", "TINYINT UNSIGNED", "255", .uint(255)),
            ("c_small", "SMALLINT", "-32768", .int(-32768)),
            ("c_usmall", "SMALLINT UNSIGNED", "65535", .uint(65535)),
            ("c_medium", "MEDIUMINT", "-8388608", .int(-8_388_608)),
            ("c_umedium", "MEDIUMINT UNSIGNED", "16777215", .uint(16_777_215)),
            ("c_int", "INT", "-2147483648", .int(-2_147_483_648)),
            ("c_uint", "INT UNSIGNED", "4294967295", .uint(4_294_967_295)),
            ("c_big", "BIGINT", "-9223372036854775808", .int(Int64.min)),
            ("c_ubig", "BIGINT UNSIGNED", "18446744073709551615", .uint(UInt64.max)),
            ("c_decimal", "DECIMAL(20,6)", "-12345678901234.123456", .decimal(MySQLDecimal("-12345678901234.123456")!)),
            ("c_decimal0", "DECIMAL(5,0)", "42", .decimal(MySQLDecimal("42")!)),
            ("c_float", "FLOAT", "1.5", .float(1.5)),
            ("c_double", "DOUBLE", "-2.25e100", .double(-2.25e100)),
            ("c_date", "DATE", "'2024-02-29'", .date(MySQLDate(year: 2024, month: 2, day: 29))),
            ("c_datetime", "DATETIME(6)", "'2024-02-29 23:59:58.123456'",
             .datetime(MySQLDateTime(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58, microsecond: 123_456))),
            ("c_datetime0", "DATETIME", "'1999-12-31 01:02:03'",
             .datetime(MySQLDateTime(year: 1999, month: 12, day: 31, hour: 1, minute: 2, second: 3))),
            ("c_datetime_midnight", "DATETIME", "'2001-01-01 00:00:00'", .datetime(MySQLDateTime(year: 2001, month: 1, day: 1))),
            ("c_timestamp", "TIMESTAMP(3) NULL", "'2020-06-15 12:30:45.500'",
             .datetime(MySQLDateTime(year: 2020, month: 6, day: 15, hour: 12, minute: 30, second: 45, microsecond: 500_000))),
            ("c_time", "TIME(6)", "'-838:59:59.000000'", .time(MySQLTime(isNegative: true, days: 34, hour: 22, minute: 59, second: 59))),
            ("c_time2", "TIME(6)", "'12:34:56.000789'", .time(MySQLTime(hour: 12, minute: 34, second: 56, microsecond: 789))),
            ("c_year", "YEAR", "2155", .uint(2155)),
            ("c_char", "CHAR(5)", "'héllo'", .string("héllo")),
            ("c_varchar", "VARCHAR(100)", "'emoji 🎉 ok'", .string("emoji 🎉 ok")),
            ("c_text", "TEXT", "'some text'", .string("some text")),
            ("c_binary", "BINARY(3)", "x'00ff10'", .bytes([0x00, 0xff, 0x10])),
            ("c_varbinary", "VARBINARY(10)", "x'deadbeef'", .bytes([0xde, 0xad, 0xbe, 0xef])),
            ("c_blob", "BLOB", "x'0001020300'", .bytes([0, 1, 2, 3, 0])),
            ("c_json", "JSON", "'{\"a\": [1, 2]}'", .string("{\"a\": [1, 2]}")),
            ("c_enum", "ENUM('red','green')", "'green'", .string("green")),
            ("c_set", "SET('a','b','c')", "'a,c'", .string("a,c")),
            ("c_bit1", "BIT(1)", "b'1'", .bit(1)),
            ("c_bit64", "BIT(64)", "b'1000000000000000000000000000000000000000000000000000000000000001'", .bit(0x8000_0000_0000_0001)),
        ]

        static func createTable(_ connection: MySQLConnection) async throws -> String {
            let table = MySQLTestServer.tableName("types")
            let definitions = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
            _ = try await connection.query("CREATE TABLE \(table) (id INT PRIMARY KEY, \(definitions))")
            let values = columns.map(\.value).joined(separator: ", ")
            _ = try await connection.query("INSERT INTO \(table) VALUES (1, \(values))")
            let nulls = columns.map { _ in "NULL" }.joined(separator: ", ")
            _ = try await connection.query("INSERT INTO \(table) VALUES (2, \(nulls))")
            return table
        }

        @Test func everyTypeThroughTextAndBinaryProtocols() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = try await Self.createTable(connection)
            defer { Task { _ = try? await connection.query("DROP TABLE \(table)"); await connection.close() } }

            let text = try await connection.query("SELECT * FROM \(table) ORDER BY id")
            let statement = try await connection.prepare("SELECT * FROM \(table) WHERE id >= ? ORDER BY id")
            #expect(statement.parameters.count == 1)
            #expect(statement.columns.count == Self.columns.count + 1)
            let binary = try await connection.execute(statement, [.int(0)])
            try await connection.close(statement)

            for result in [text, binary] {
                #expect(result.rows.count == 2)
                for (index, column) in Self.columns.enumerated() {
                    #expect(result.columns[index + 1].name == column.name)
                    #expect(result.rows[0][index + 1] == column.expected, "\(column.name) \(column.type)")
                    #expect(result.rows[1][index + 1] == .null, "\(column.name) NULL")
                }
            }
            #expect(text.rows == binary.rows)
        }

        @Test func everyTypeAsAParameterRoundTrips() async throws {
            let connection = try await MySQLTestServer.connect()
            let table = try await Self.createTable(connection)
            defer { Task { _ = try? await connection.query("DROP TABLE \(table)"); await connection.close() } }

            // Insert row 3 from the values decoded from row 1, via binary parameters.
            let row1 = try await connection.query("SELECT * FROM \(table) WHERE id = 1").rows[0]
            let placeholders = Array(repeating: "?", count: row1.count).joined(separator: ", ")
            var parameters = row1
            parameters[0] = .int(3)
            let insert = try await connection.query("INSERT INTO \(table) VALUES (\(placeholders))", parameters)
            #expect(insert.affectedRows == 1)
            let row3 = try await connection.query("SELECT * FROM \(table) WHERE id = 3").rows[0]
            #expect(Array(row3.dropFirst()) == Array(row1.dropFirst()))

            // And NULLs, through the NULL bitmap.
            let nulls = [MySQLValue.int(4)] + Array(repeating: MySQLValue.null, count: row1.count - 1)
            _ = try await connection.query("INSERT INTO \(table) VALUES (\(placeholders))", nulls)
            let row4 = try await connection.query("SELECT * FROM \(table) WHERE id = 4", []).rows[0]
            #expect(row4 == nulls)
        }

        @Test func parameterTypesAreSentExactly() async throws {
            let connection = try await MySQLTestServer.connect()
            let result = try await connection.query(
                "SELECT ? AS i, ? AS u, ? AS d, ? AS s, ? AS b, ? AS n, ? AS dcm, ? AS dt, ? AS t",
                [.int(-5), .uint(UInt64.max), .double(0.5), .string("naïve"), .bytes([0, 1, 255]), .null,
                 .decimal(MySQLDecimal("3.14")!), .datetime(MySQLDateTime(year: 2023, month: 1, day: 2, hour: 3, minute: 4, second: 5, microsecond: 6)),
                 .time(MySQLTime(isNegative: true, days: 1, hour: 2, minute: 3, second: 4))]
            )
            let row = result.rows[0]
            #expect(row[0].int64 == -5)
            #expect(row[1].uint64 == UInt64.max)
            #expect(row[2].double == 0.5)
            #expect(row[3].string == "naïve")
            #expect(row[4].bytes == [0, 1, 255])
            #expect(row[5] == .null)
            #expect(row[6].string == "3.14")
            #expect(row[7].string?.hasPrefix("2023-01-02 03:04:05.000006") == true)
            #expect(row[8].string == "-26:03:04" || row[8] == .time(MySQLTime(isNegative: true, days: 1, hour: 2, minute: 3, second: 4)))
            await connection.close()
        }

        @Test func largeValuesAcrossManyPackets() async throws {
            let connection = try await MySQLTestServer.connect()
            // 1 MiB text value and 5000 rows: many TCP reads, many packets per read.
            let big = try await connection.query("SELECT REPEAT('ab', 524288)")
            #expect(big.rows[0][0].string?.utf8.count == 1_048_576)
            let many = try await connection.query("SELECT seq, CONCAT('row', seq) FROM seq_1_to_5000")
            #expect(many.rows.count == 5000)
            #expect(many.rows[4999] == [.uint(5000), .string("row5000")])
            await connection.close()
        }

        /// Payloads of 16 MiB and more travel as several 0xffffff-byte frames, both ways.
        @Test func payloadsAbove16MiBSplitAndJoin() async throws {
            let connection = try await MySQLTestServer.connect()
            let allowed = try await connection.query("SELECT @@max_allowed_packet").rows[0][0].uint64 ?? 0
            try #require(allowed >= 40 * 1024 * 1024, "max_allowed_packet is \(allowed); scripts/infra sets 64M")
            let table = MySQLTestServer.tableName("big")
            _ = try await connection.query("CREATE TEMPORARY TABLE \(table) (id INT PRIMARY KEY, b LONGBLOB)")
            for size in [0xff_ffff - 20, 0xff_ffff, 20 * 1024 * 1024] {
                var blob = [UInt8](repeating: 0, count: size)
                for i in stride(from: 0, to: size, by: 997) { blob[i] = UInt8(truncatingIfNeeded: i) }
                // Client → server: a COM_STMT_EXECUTE larger than one frame.
                _ = try await connection.query("REPLACE INTO \(table) VALUES (1, ?)", [.bytes(blob)])
                let length = try await connection.query("SELECT LENGTH(b), MD5(b) = MD5(?) FROM \(table)", [.bytes(blob)])
                #expect(length.rows[0] == [.int(Int64(size)), .int(1)])
                // Server → client, in both protocols.
                let text = try await connection.query("SELECT b FROM \(table)")
                #expect(text.rows[0][0] == .bytes(blob))
                let binary = try await connection.query("SELECT b FROM \(table) WHERE id = ?", [1])
                #expect(binary.rows[0][0] == .bytes(blob))
            }
            await connection.close()
        }
    }
}

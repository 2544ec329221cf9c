import MySQLWire
import Testing

@Suite struct ConfigurationTests {
    @Test func parsesLabURL() throws {
        let configuration = try #require(MySQLConfiguration(url: "mysql://lab:lab@127.0.0.1:13306/lab"))
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 13306)
        #expect(configuration.username == "lab")
        #expect(configuration.password == "lab")
        #expect(configuration.database == "lab")
    }

    @Test func percentEscapesDefaultsAndRejections() throws {
        let escaped = try #require(MySQLConfiguration(url: "mysql://us%40er:p%3Ass@db.example"))
        #expect(escaped.username == "us@er")
        #expect(escaped.password == "p:ss")
        #expect(escaped.port == 3306)
        #expect(escaped.database == nil)
        #expect(MySQLConfiguration(url: "redis://x@h") == nil)
        #expect(MySQLConfiguration(url: "mysql://h:1/db") == nil)  // no user
        #expect(MySQLConfiguration(url: "mysql://u@h:99999") == nil)
    }

    @Test func valueAccessorsAndDescriptions() {
        #expect(MySQLValue.datetime(MySQLDateTime(year: 2024, month: 2, day: 9, hour: 1, minute: 2, second: 3, microsecond: 40)).description == "2024-02-09 01:02:03.000040")
        #expect(MySQLValue.time(MySQLTime(isNegative: true, days: 34, hour: 22, minute: 59, second: 59)).description == "-838:59:59")
        #expect(MySQLValue.int(5).uint64 == 5)
        #expect(MySQLValue.int(-5).uint64 == nil)
        #expect(MySQLValue.uint(UInt64.max).int64 == nil)
        #expect(MySQLDecimal("-0.50")?.scale == 2)
        #expect(MySQLDecimal("1e5") == nil)
        #expect(MySQLDecimal(".5") == nil)
        #expect(MySQLServerError(code: .deadlock, sqlState: "40001", message: "x").isTransactionRetriable)
    }
}

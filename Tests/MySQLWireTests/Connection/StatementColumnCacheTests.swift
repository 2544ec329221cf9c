@testable import MySQLWire
import Testing

/// The per-statement column cache with its most-recent entry in front: the entry must never
/// answer for a statement that was replaced, closed or dropped.
@Suite struct StatementColumnCacheTests {
    static let a = [ColumnDefinition41(name: "a", type: .long)]
    static let b = [ColumnDefinition41(name: "b", type: .varString)]
    static let c = [ColumnDefinition41(name: "c", type: .longlong), ColumnDefinition41(name: "d", type: .blob)]

    @Test func answersForEveryStatementNotOnlyTheLast() {
        var cache = StatementColumnCache()
        cache[1] = Self.a
        cache[2] = Self.b
        #expect(cache[1] == Self.a)
        #expect(cache[2] == Self.b)
        #expect(cache[1] == Self.a)
        #expect(cache[3] == nil)
    }

    @Test func replacedColumnsWinOverTheRecentEntry() {
        var cache = StatementColumnCache()
        cache[1] = Self.a
        #expect(cache[1] == Self.a)
        cache[1] = Self.c
        #expect(cache[1] == Self.c)
    }

    @Test func closedStatementIsForgottenEvenWhenItWasTheRecentOne() {
        var cache = StatementColumnCache()
        cache[1] = Self.a
        cache[2] = Self.b
        #expect(cache[1] == Self.a)  // 1 is now the recent entry
        cache[1] = nil
        #expect(cache[1] == nil)
        #expect(cache[2] == Self.b)
        cache[2] = nil
        #expect(cache[2] == nil)
    }

    @Test func removeAllForgetsTheRecentEntryToo() {
        var cache = StatementColumnCache()
        cache[7] = Self.c
        #expect(cache[7] == Self.c)
        cache.removeAll()
        #expect(cache[7] == nil)
    }
}

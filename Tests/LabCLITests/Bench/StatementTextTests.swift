import PropertyBased
import Testing
@testable import LabCLI

/// `StatementText` must produce exactly what string interpolation would: the benchmarks
/// send its output as SQL.
@Suite struct StatementTextTests {
    @Test func matchesInterpolationForEveryMagnitudeAndSign() async {
        // A bit width first, then a value of that width: one-digit numbers and 19-digit ones
        // come up equally often, and so do negatives.
        await propertyCheck(count: 1000, input: Gen.int(in: 0...64), Gen.uint64()) { width, raw throws in
            let number = width == 0 ? 0 : Int(truncatingIfNeeded: Int64(bitPattern: raw) >> Int64(64 - width))
            let text = StatementText("SELECT v FROM t WHERE id = ", " LIMIT 1")
            #expect(text(number) == "SELECT v FROM t WHERE id = \(number) LIMIT 1")
        }
    }

    @Test func extremesAndEmptyParts() {
        #expect(StatementText("x=")(Int.min) == "x=\(Int.min)")
        #expect(StatementText("x=")(Int.max) == "x=\(Int.max)")
        #expect(StatementText("")(0) == "0")
        #expect(StatementText("", "é")(-7) == "-7é")
        #expect(StatementText("VALUES ('a-", "-b')")(42) == "VALUES ('a-42-b')")
    }
}

import RESP
import Testing

@Suite struct RESPValueTests {
    @Test func stringAccessorReadsEveryStringType() {
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.bulkString(Array("héllo".utf8)).string == "héllo")
        #expect(RESPValue.verbatimString(format: "txt", text: Array("text".utf8)).string == "text")
        #expect(RESPValue.bulkString([0x66, 0xFF]).string == "f\u{FFFD}")
        #expect(RESPValue.integer(1).string == nil)
        #expect(RESPValue.simpleError("ERR").string == nil)
        #expect(RESPValue.attribute([], .simpleString("OK")).string == "OK")
    }

    @Test func scalarAccessors() {
        #expect(RESPValue.integer(.min).int == .min)
        #expect(RESPValue.bulkString(Array("1".utf8)).int == nil)
        #expect(RESPValue.double(1.5).double == 1.5)
        #expect(RESPValue.boolean(true).bool == true)
        #expect(RESPValue.bulkString([1, 2]).bytes == [1, 2])
        #expect(RESPValue.simpleString("ab").bytes == [0x61, 0x62])
        #expect(RESPValue.simpleError("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.bulkError(Array("SYNTAX".utf8)).errorMessage == "SYNTAX")
        #expect(RESPValue.bulkError([]).isError)
        #expect(!RESPValue.simpleString("OK").isError)
    }

    @Test func arrayAccessorCoversArraysSetsAndPushes() {
        #expect(RESPValue.array([1]).array == [1])
        #expect(RESPValue.set([1]).array == [1])
        #expect(RESPValue.push([1]).array == [1])
        #expect(RESPValue.map([]).array == nil)
        #expect(RESPValue.map([RESPPair(key: 1, value: 2)]).pairs == [RESPPair(key: 1, value: 2)])
    }

    @Test func nullAccessor() {
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.attribute([RESPPair(key: "ttl", value: 1)], .null).isNull)
        #expect(!RESPValue.bulkString([]).isNull)
        #expect(!RESPValue.array([]).isNull)
    }

    @Test func withoutAttributesStripsThemAtEveryDepth() {
        let ttl = [RESPPair(key: .simpleString("ttl"), value: 3600)]
        let annotated: RESPValue = .attribute(ttl, .array([
            1, .attribute(ttl, 2), .map([RESPPair(key: .attribute(ttl, "k"), value: .set([.attribute(ttl, 3)]))]),
        ]))
        #expect(annotated.attributes == ttl)
        #expect(annotated.withoutAttributes == .array([1, 2, .map([RESPPair(key: "k", value: .set([3]))])]))
        let plain: RESPValue = .array([1, .push(["x"])])
        #expect(plain.withoutAttributes == plain)
        #expect(plain.attributes == nil)
    }

    @Test func allNaNsAreEqualAndHashAlike() {
        let quietNaN = RESPValue.double(.nan)
        let otherNaN = RESPValue.double(Double(bitPattern: 0x7FF8_0000_0000_0001))
        #expect(quietNaN == otherNaN)
        #expect(quietNaN.hashValue == otherNaN.hashValue)
        #expect(Set([quietNaN, otherNaN, .double(1)]).count == 2)
        #expect(RESPValue.double(0) == .double(-0.0))
        #expect(RESPValue.double(0).hashValue == RESPValue.double(-0.0).hashValue)
    }

    @Test func equalityDistinguishesTypesWithTheSamePayload() {
        #expect(RESPValue.simpleString("x") != .bulkString([0x78]))
        #expect(RESPValue.simpleString("x") != .simpleError("x"))
        #expect(RESPValue.array([1]) != .set([1]))
        #expect(RESPValue.array([1]) != .push([1]))
        #expect(RESPValue.bulkString([1]) != .bulkError([1]))
        #expect(Set<RESPValue>([.array([1]), .set([1]), .push([1])]).count == 3)
    }

    @Test func describesScalarsLikeRedisCLI() {
        #expect(RESPValue.simpleString("OK").description == "OK")
        #expect(RESPValue.simpleError("ERR no").description == "(error) ERR no")
        #expect(RESPValue.integer(-3).description == "(integer) -3")
        #expect(RESPValue.bulkString(Array("a\"b\\c\r\n\u{1}".utf8) + [0xFF]).description == #""a\"b\\c\r\n\x01\xff""#)
        #expect(RESPValue.null.description == "(nil)")
        #expect(RESPValue.boolean(false).description == "(false)")
        #expect(RESPValue.double(1.5).description == "(double) 1.5")
        #expect(RESPValue.double(-.infinity).description == "(double) -inf")
        #expect(RESPValue.bigNumber("123").description == "(big number) 123")
        #expect(RESPValue.bulkError(Array("SYNTAX x".utf8)).description == "(error) SYNTAX x")
        #expect(RESPValue.verbatimString(format: "txt", text: Array("hi".utf8)).description == "hi")
        #expect(RESPValue.array([]).description == "(empty array)")
    }

    @Test func describesNestedAggregatesWithAlignedIndices() {
        let value: RESPValue = .array([
            "a", .array([1, .null]), .set([.simpleString("x")]),
            .map([RESPPair(key: "k", value: .array(["v", "w"]))]),
            5, 6, 7, 8, 9, 10,
        ])
        #expect(value.description == """
             1) "a"
             2) 1) (integer) 1
                2) (nil)
             3) 1~ x
             4) 1# "k" => 1) "v"
                          2) "w"
             5) (integer) 5
             6) (integer) 6
             7) (integer) 7
             8) (integer) 8
             9) (integer) 9
            10) (integer) 10
            """)
    }

    @Test func describesAttributesAndPushes() {
        let value: RESPValue = .attribute([RESPPair(key: .simpleString("ttl"), value: 3600)], "v")
        #expect(value.description == "|1# ttl => (integer) 3600\n\"v\"")
        #expect(RESPValue.push([.simpleString("message"), "hi"]).description == "(push) 1) message\n       2) \"hi\"")
    }

    @Test func debugDescriptionIsOneSwiftLikeLine() {
        let value: RESPValue = .array(["a", .map([RESPPair(key: 1, value: .double(.nan))]), .verbatimString(format: "txt", text: [])])
        #expect(value.debugDescription == #".array([.bulkString("a"), .map([.integer(1): .double(nan)]), .verbatimString(format: "txt", text: "")])"#)
    }
}

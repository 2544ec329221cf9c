import PropertyBased
import RESP
import Testing

@Suite struct HashSlotTests {
    /// Slots as `CLUSTER KEYSLOT` reports them; the CRCs were cross-checked with Python's
    /// `binascii.crc_hqx(key, 0)`, an independent CRC-16/XMODEM.
    @Test(arguments: [
        ("foo", 12182), ("bar", 5061), ("hello", 866), ("123456789", 12739), ("", 0), ("user1000", 3443),
        ("ключ", 10303),
    ] as [(String, UInt16)])
    func knownSlots(_ key: String, _ slot: UInt16) {
        #expect(HashSlot.slot(forKey: key) == slot)
        #expect(HashSlot.slot(forKey: Array(key.utf8)) == slot)
    }

    @Test func crc16MatchesTheXmodemCheckValue() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([UInt8]()) == 0)
        #expect(HashSlot.crc16([0xFF, 0x00, 0x80]) == 0x5EEB)
    }

    @Test func slotIsTheCRCModuloTheSlotCount() {
        #expect(HashSlot.count == 16384)
        #expect(HashSlot.crc16(Array("foo".utf8)) == 0xAF96)
        #expect(HashSlot.slot(forKey: "foo") == 0xAF96 % 16384)
    }

    @Test func keysSharingAHashTagShareASlot() {
        let following = HashSlot.slot(forKey: "{user1000}.following")
        #expect(following == HashSlot.slot(forKey: "{user1000}.followers"))
        #expect(following == HashSlot.slot(forKey: "user1000"))
        #expect(following == 3443)
    }

    /// The rule from the cluster specification: the first `{`, then the first `}` after it,
    /// and only a non-empty tag counts.
    @Test(arguments: [
        ("{user1000}.following", "user1000"),
        ("a{b}c{d}", "b"),
        ("{{a}}", "{a"),
        ("foo{{bar}}zap", "{bar"),
        ("foo{bar}{zap}", "bar"),
        ("x{ }y", " "),
        ("{}", nil),
        ("{}{a}", nil),
        ("foo{}{bar}", nil),
        ("{a", nil),
        ("a}b{", nil),
        ("}{x}", "x"),
        ("plain", nil),
        ("", nil),
    ] as [(String, String?)])
    func hashTags(_ key: String, _ tag: String?) {
        #expect(HashSlot.hashTag(in: key).map(String.init) == tag)
        #expect(HashSlot.hashTag(in: Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) } == tag)
        let hashed = tag ?? key
        #expect(HashSlot.slot(forKey: key) == HashSlot.crc16(Array(hashed.utf8)) % 16384)
    }

    @Test func emptyTagMeansTheWholeKeyIsHashed() {
        #expect(HashSlot.slot(forKey: "{}") == 15257)
        #expect(HashSlot.slot(forKey: "{}{a}") == 13650)
        #expect(HashSlot.slot(forKey: "{{a}}") == 10276)
        #expect(HashSlot.slot(forKey: "a{b}c{d}") == HashSlot.slot(forKey: "b"))
    }

    @Test func contiguousAndNonContiguousKeysAgree() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...255).array(of: 0...40)) { key in
            let slot = HashSlot.slot(forKey: key)
            #expect(slot < 16384)
            #expect(HashSlot.slot(forKey: key.lazy.map { $0 }) == slot)
            #expect(HashSlot.slot(forKey: key[...]) == slot)
            #expect(HashSlot.slot(forKey: ContiguousArray(key)) == slot)
        }
    }
}

import PropertyBased
import Testing
@testable import MySQLWire

/// `IDMap` against `Dictionary`: any sequence of inserts, overwrites and removals leaves both
/// with the same contents.
@Suite struct IDMapTests {
    @Test func behavesLikeADictionary() async {
        // Each step packs an id (few, so they collide), an operation and a value.
        let step = Gen.int(in: 0...(13 * 4 * 1_000 - 1))
        await propertyCheck(count: 500, input: step.array(of: 0...120)) { steps in
            var map = IDMap<Int>()
            var reference: [Int: Int] = [:]
            for packed in steps {
                let (id, operation, value) = (packed % 13, packed / 13 % 4, packed / 52)
                switch operation {
                case 0, 1:
                    map[id] = value
                    reference[id] = value
                case 2:
                    map[id] = nil
                    reference[id] = nil
                default:
                    #expect(map.removeValue(forKey: id) == reference.removeValue(forKey: id))
                }
                #expect(map[id] == reference[id])
            }
            #expect(map.count == reference.count)
            #expect(map.isEmpty == reference.isEmpty)
            #expect(Set(map.keys) == Set(reference.keys))
            for (id, value) in reference { #expect(map[id] == value) }
            #expect(map.values.sorted() == reference.values.sorted())
        }
    }
}

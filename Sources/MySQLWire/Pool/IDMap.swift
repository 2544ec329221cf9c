/// A map from integer ids to values, for the pool's collections, which hold at most
/// `maximumPoolSize` entries: a scan of a few contiguous integers costs less than hashing one
/// key with `Hasher` (SipHash), which every `Dictionary<Int, _>` access does, several times
/// per acquire and release. Iteration order is not defined (removal moves the last entry into
/// the gap), as with `Dictionary`.
struct IDMap<Value> {
    private(set) var keys: [Int] = []
    private(set) var values: [Value] = []

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    private func index(of id: Int) -> Int? {
        keys.firstIndex(of: id)
    }

    subscript(id: Int) -> Value? {
        get {
            guard let index = index(of: id) else { return nil }
            return values[index]
        }
        set {
            if let index = index(of: id) {
                if let newValue {
                    values[index] = newValue
                } else {
                    remove(at: index)
                }
            } else if let newValue {
                keys.append(id)
                values.append(newValue)
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: Int) -> Value? {
        guard let index = index(of: id) else { return nil }
        let value = values[index]
        remove(at: index)
        return value
    }

    private mutating func remove(at index: Int) {
        let last = keys.count - 1
        if index != last {
            keys.swapAt(index, last)
            values.swapAt(index, last)
        }
        keys.removeLast()
        values.removeLast()
    }
}

extension IDMap: Sendable where Value: Sendable {}

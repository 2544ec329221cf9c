/// A binary min-heap of deadlines for the event loop. Cancelled timers stay in the heap and
/// are skipped when they surface, so cancellation is O(1) and needs no search.
struct TimerQueue {
    struct Entry {
        var deadline: NanoTime
        var id: UInt64
    }

    private var heap: [Entry] = []
    private var callbacks: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 1

    var isEmpty: Bool { callbacks.isEmpty }

    mutating func schedule(at deadline: NanoTime, _ callback: @escaping @Sendable () -> Void) -> UInt64 {
        let id = nextID
        nextID &+= 1
        callbacks[id] = callback
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        return id
    }

    mutating func cancel(_ id: UInt64) {
        callbacks.removeValue(forKey: id)
    }

    /// The earliest live deadline, discarding cancelled entries on the way.
    mutating func nextDeadline() -> NanoTime? {
        while let first = heap.first {
            if callbacks[first.id] != nil { return first.deadline }
            popFirst()
        }
        return nil
    }

    /// Removes and returns the callbacks whose deadline is at or before `now`.
    mutating func popExpired(now: NanoTime) -> [@Sendable () -> Void] {
        var due: [@Sendable () -> Void] = []
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let callback = callbacks.removeValue(forKey: first.id) {
                due.append(callback)
            }
        }
        return due
    }

    private mutating func popFirst() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[child].deadline < heap[parent].deadline {
                heap.swapAt(child, parent)
                child = parent
            } else {
                return
            }
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

/// A binary min-heap of deadlines for the event loop. Cancelled timers stay in the heap and
/// are skipped when they surface, so cancellation is O(1) and needs no search.
///
/// Callbacks live in reusable slots, not a dictionary: a timer's ID is its slot's index and
/// the slot's generation, so scheduling, cancelling and checking whether a heap entry is still
/// live index an array instead of hashing (each connection schedules and cancels a timer or
/// two). A slot's generation changes whenever its timer fires or is cancelled, which makes
/// every older ID for it, and the heap entry behind that ID, stale.
struct TimerQueue {
    struct Entry {
        var deadline: NanoTime
        var id: UInt64
    }

    private struct Slot {
        var generation: UInt32 = 0
        var callback: (@Sendable () -> Void)?
    }

    private var heap: [Entry] = []
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var liveCount = 0

    var isEmpty: Bool { liveCount == 0 }

    mutating func schedule(at deadline: NanoTime, _ callback: @escaping @Sendable () -> Void) -> UInt64 {
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
        } else {
            index = slots.count
            slots.append(Slot())
        }
        slots[index].callback = callback
        liveCount += 1
        let id = UInt64(slots[index].generation) << 32 | UInt64(index)
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        return id
    }

    mutating func cancel(_ id: UInt64) {
        guard let index = liveSlot(id) else { return }
        release(index)
    }

    /// The earliest live deadline, discarding cancelled entries on the way.
    mutating func nextDeadline() -> NanoTime? {
        while let first = heap.first {
            if liveSlot(first.id) != nil { return first.deadline }
            popFirst()
        }
        return nil
    }

    /// Removes and returns the callbacks whose deadline is at or before `now`.
    mutating func popExpired(now: NanoTime) -> [@Sendable () -> Void] {
        var due: [@Sendable () -> Void] = []
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let index = liveSlot(first.id), let callback = release(index) {
                due.append(callback)
            }
        }
        return due
    }

    /// The slot of a timer that has neither fired nor been cancelled. The generation alone
    /// tells: a slot is released with a new generation, and no ID carries that generation
    /// until the slot is scheduled again.
    private func liveSlot(_ id: UInt64) -> Int? {
        let index = Int(truncatingIfNeeded: id & 0xffff_ffff)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: id >> 32) else { return nil }
        return index
    }

    /// Empties a live slot for reuse and returns its callback.
    @discardableResult
    private mutating func release(_ index: Int) -> (@Sendable () -> Void)? {
        let callback = slots[index].callback
        slots[index].callback = nil
        slots[index].generation &+= 1
        freeSlots.append(index)
        liveCount -= 1
        return callback
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Array where Element == UInt8 {
    /// Whether both arrays hold the same bytes, compared with `memcmp`. The standard `==`
    /// walks the elements one by one (about ten instructions per byte); a client comparing a
    /// packet with a remembered one on every reply wants the word-at-a-time comparison.
    @inlinable
    public func hasSameBytes(as other: [UInt8]) -> Bool {
        hasSameBytes(as: other, from: 0, to: other.count)
    }

    /// Whether `bytes[start..<end]` holds the same bytes as this array (a packet compared
    /// where it was received, without copying it out first).
    @inlinable
    public func hasSameBytes(as bytes: [UInt8], from start: Int, to end: Int) -> Bool {
        precondition(start >= 0 && start <= end && end <= bytes.count, "range \(start)..<\(end) outside \(bytes.count) bytes")
        guard count == end - start else { return false }
        return withUnsafeBufferPointer { mine in
            bytes.withUnsafeBufferPointer { theirs in
                // Empty, or the same bytes in the same storage: equal without comparing.
                guard let mine = mine.baseAddress, let theirs = theirs.baseAddress, mine != theirs + start else { return true }
                return memcmp(mine, theirs + start, count) == 0
            }
        }
    }
}

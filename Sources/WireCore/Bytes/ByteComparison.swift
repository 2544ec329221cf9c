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
        guard count == other.count else { return false }
        return withUnsafeBufferPointer { mine in
            other.withUnsafeBufferPointer { theirs in
                // Empty, or the same storage: equal without comparing.
                guard let mine = mine.baseAddress, let theirs = theirs.baseAddress, mine != theirs else { return true }
                return memcmp(mine, theirs, count) == 0
            }
        }
    }
}

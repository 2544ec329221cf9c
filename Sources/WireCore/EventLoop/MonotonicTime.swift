#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Nanoseconds on the monotonic clock: the one time base for deadlines and timers, cheap to
/// read and immune to wall-clock jumps.
public struct NanoTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    @inlinable
    public static func now() -> NanoTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return NanoTime(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    @inlinable
    public static func + (lhs: NanoTime, rhs: Duration) -> NanoTime {
        NanoTime(nanoseconds: lhs.nanoseconds &+ rhs.wholeNanoseconds)
    }

    @inlinable
    public static func - (lhs: NanoTime, rhs: NanoTime) -> Duration {
        if lhs.nanoseconds >= rhs.nanoseconds {
            return .nanoseconds(Int64(lhs.nanoseconds - rhs.nanoseconds))
        }
        return .nanoseconds(-Int64(rhs.nanoseconds - lhs.nanoseconds))
    }

    /// Signed nanoseconds from `earlier` to this time, without building a `Duration` (whose
    /// 128-bit arithmetic costs more than the measurement it would carry).
    @inlinable
    public func nanoseconds(since earlier: NanoTime) -> Int64 {
        Int64(bitPattern: nanoseconds &- earlier.nanoseconds)
    }

    @inlinable
    public static func < (lhs: NanoTime, rhs: NanoTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static let distantFuture = NanoTime(nanoseconds: UInt64.max / 2)

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// Whole nanoseconds, clamped to zero for negative durations.
    @inlinable
    public var wholeNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let fromSeconds = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if fromSeconds.overflow { return UInt64.max / 2 }
        return fromSeconds.partialValue &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// Seconds as a Double, for reporting.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

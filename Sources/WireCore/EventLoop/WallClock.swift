#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time, for timestamps that leave the process (Kafka record timestamps).
/// Intervals and deadlines use the monotonic `NanoTime` instead.
public enum WallClock {
    public static func millisecondsSinceEpoch() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

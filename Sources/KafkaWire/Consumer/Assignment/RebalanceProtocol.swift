/// How a group moves partitions between members (KIP-429).
public enum RebalanceProtocol: Sendable, Hashable {
    /// Every member gives up everything before each assignment (range, roundrobin).
    case eager
    /// Members keep what they are assigned again; a partition changing owner is revoked in
    /// one rebalance and handed out in the next (cooperative-sticky).
    case cooperative
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A transport-level failure: what happened to the connection, in terms an operator
/// recognises, with the peer and operation named.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    case hostNotFound(host: String, reason: String)
    case connectionRefused(peer: String)
    case connectionReset(peer: String)
    /// The peer closed the connection (EOF) while the client still expected bytes.
    case closedByPeer(peer: String)
    /// The connection was closed on this side (explicitly, or after an earlier error).
    case closed(peer: String)
    case timedOut(operation: String, peer: String, after: Duration)
    case tls(peer: String, reason: String)
    case certificateRejected(peer: String, reason: String)
    case io(operation: String, errno: Int32)
    case invalidAddress(String)

    public var description: String {
        switch self {
        case let .hostNotFound(host, reason): return "host not found: \(host) (\(reason))"
        case let .connectionRefused(peer): return "connection refused by \(peer)"
        case let .connectionReset(peer): return "connection reset by \(peer)"
        case let .closedByPeer(peer): return "connection closed by \(peer)"
        case let .closed(peer): return "connection to \(peer) is closed"
        case let .timedOut(operation, peer, after):
            return "\(operation) to \(peer) timed out after \(after.formattedMilliseconds)"
        case let .tls(peer, reason): return "TLS with \(peer) failed: \(reason)"
        case let .certificateRejected(peer, reason): return "certificate of \(peer) rejected: \(reason)"
        case let .io(operation, code): return "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidAddress(address): return "invalid address: \(address)"
        }
    }

    /// True for failures after which a new connection may well succeed (the usual retry set).
    public var isRetriable: Bool {
        switch self {
        case .connectionRefused, .connectionReset, .closedByPeer, .closed, .timedOut: return true
        case .io: return true
        case .hostNotFound, .tls, .certificateRejected, .invalidAddress: return false
        }
    }

    static func fromErrno(_ code: Int32, operation: String, peer: String) -> WireError {
        switch code {
        case ECONNREFUSED: return .connectionRefused(peer: peer)
        case ECONNRESET, EPIPE: return .connectionReset(peer: peer)
        case ETIMEDOUT: return .timedOut(operation: operation, peer: peer, after: .zero)
        default: return .io(operation: operation, errno: code)
        }
    }
}

extension Duration {
    public var formattedMilliseconds: String {
        let ms = seconds * 1000
        if ms >= 100 { return "\(Int(ms.rounded())) ms" }
        return "\((ms * 10).rounded() / 10) ms"
    }
}

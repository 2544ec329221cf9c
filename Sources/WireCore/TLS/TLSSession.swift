import COpenSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One TLS connection over a non-blocking socket, driven by the channel that owns it.
/// Not thread-safe: the channel serialises every call under its I/O lock.
final class TLSSession: @unchecked Sendable {
    enum Progress {
        case done(Int)
        case wantRead
        case wantWrite
        case closed
        case failed(String)
    }

    private let context: TLSContext
    private let ssl: OpaquePointer
    let peer: String

    init(fd: Int32, configuration: TLSConfiguration, host: String, peer: String) throws(WireError) {
        self.peer = peer
        let context = try TLSContext.shared(for: configuration, peer: peer)
        self.context = context
        guard let ssl = SSL_new(context.pointer) else {
            throw .tls(peer: peer, reason: "SSL_new: \(TLSSession.lastError())")
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)

        let name = configuration.serverName ?? host
        let isIP = SocketAddress.isIPLiteral(name)
        if !isIP {
            _ = lab_SSL_set_tlsext_host_name(ssl, name)
        }
        if configuration.verification == .full {
            let parameters = SSL_get0_param(ssl)
            if isIP {
                X509_VERIFY_PARAM_set1_ip_asc(parameters, name)
            } else {
                X509_VERIFY_PARAM_set1_host(parameters, name, 0)
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    func handshake() -> Progress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done(0) }
        return classify(result)
    }

    /// Explains a failed handshake, preferring the certificate verdict when there is one.
    func handshakeFailure(_ reason: String) -> WireError {
        let verdict = SSL_get_verify_result(ssl)
        if verdict != X509_V_OK {
            return .certificateRejected(peer: peer, reason: String(cString: X509_verify_cert_error_string(verdict)))
        }
        return .tls(peer: peer, reason: reason)
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Progress {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer, Int32(min(count, Int(Int32.max))))
        if result > 0 { return .done(Int(result)) }
        return classify(result)
    }

    func write(from buffer: UnsafeRawPointer, count: Int) -> Progress {
        ERR_clear_error()
        let result = SSL_write(ssl, buffer, Int32(min(count, Int(Int32.max))))
        if result > 0 { return .done(Int(result)) }
        return classify(result)
    }

    /// Bytes already decrypted and buffered inside OpenSSL.
    var pendingPlaintext: Int { Int(SSL_pending(ssl)) }

    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }

    private func classify(_ result: Int32) -> Progress {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let queued = TLSSession.lastError()
            if queued != "no error" { return .failed(queued) }
            if result == 0 || errno == 0 { return .closed }
            return .failed(String(cString: strerror(errno)))
        default:
            return .failed(TLSSession.lastError())
        }
    }

    static func lastError() -> String {
        TLSContext.lastError()
    }
}

/// An OpenSSL client context for one configuration. Building one loads the trust store,
/// which is far too slow to do per connection, so contexts are cached per configuration.
final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    private static let cache = Mutex<[TLSConfiguration: TLSContext]>([:])

    static func shared(for configuration: TLSConfiguration, peer: String) throws(WireError) -> TLSContext {
        if let cached = cache.withLock({ $0[configuration] }) { return cached }
        let context = try TLSContext(configuration: configuration, peer: peer)
        return cache.withLock { cache in
            if let raced = cache[configuration] { return raced }
            cache[configuration] = context
            return context
        }
    }

    private init(configuration: TLSConfiguration, peer: String) throws(WireError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .tls(peer: peer, reason: "SSL_CTX_new: \(TLSContext.lastError())")
        }
        pointer = context
        _ = lab_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        _ = lab_SSL_CTX_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))

        switch configuration.verification {
        case .none:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        case .full, .chainOnly:
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let caFile = configuration.caFile {
                if SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
                    throw .tls(peer: peer, reason: "cannot load CA file \(caFile): \(TLSContext.lastError())")
                }
            } else {
                SSL_CTX_set_default_verify_paths(context)
            }
        }
        if let certificate = configuration.certificateFile {
            let key = configuration.privateKeyFile ?? certificate
            if SSL_CTX_use_certificate_chain_file(context, certificate) != 1
                || SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 {
                throw .tls(peer: peer, reason: "cannot load client certificate: \(TLSContext.lastError())")
            }
        }
    }

    deinit { SSL_CTX_free(pointer) }

    static func lastError() -> String {
        let code = ERR_get_error()
        if code == 0 { return "no error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// How a client verifies and presents itself over TLS. Verification is on by default:
/// a lab that teaches operational standards should not teach `verify=false`.
public struct TLSConfiguration: Sendable, Hashable {
    public enum Verification: Sendable, Hashable {
        /// Verify the chain and that the certificate names the host (or IP) connected to.
        case full
        /// Verify the chain only (e.g. a certificate issued for another name).
        case chainOnly
        /// Accept any certificate. For debugging only.
        case none
    }

    public var verification: Verification
    /// PEM file with trusted CA certificates; nil uses the system's default trust store.
    public var caFile: String?
    /// The name to send as SNI and to verify; nil uses the host connected to.
    public var serverName: String?
    /// PEM files for client-certificate authentication.
    public var certificateFile: String?
    public var privateKeyFile: String?

    public init(
        verification: Verification = .full,
        caFile: String? = nil,
        serverName: String? = nil,
        certificateFile: String? = nil,
        privateKeyFile: String? = nil
    ) {
        self.verification = verification
        self.caFile = caFile
        self.serverName = serverName
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }
}

/// The versions to use with one broker: for every API both sides speak, the highest version
/// in the intersection of our `ApiKey.supportedVersions` and the broker's advertised range.
public struct KafkaApiVersionTable: Sendable, Equatable {
    /// The negotiated version per API; an API missing here cannot be used with this broker.
    public private(set) var versions: [ApiKey: Int16]
    /// APIs the broker advertises whose range does not meet ours (either side too old).
    public private(set) var incompatible: [ApiKey: ClosedRange<Int16>]

    public init(versions: [ApiKey: Int16] = [:], incompatible: [ApiKey: ClosedRange<Int16>] = [:]) {
        self.versions = versions
        self.incompatible = incompatible
    }

    /// Intersects what the broker advertised (`ApiVersionsResponse.apiKeys`) with what we speak.
    /// Keys this codec does not know and malformed ranges (min > max) are ignored.
    public init(broker apiKeys: [ApiVersionsResponse.ApiVersion]) {
        var versions: [ApiKey: Int16] = [:]
        var incompatible: [ApiKey: ClosedRange<Int16>] = [:]
        for entry in apiKeys {
            guard let key = ApiKey(rawValue: entry.apiKey), entry.minVersion <= entry.maxVersion else { continue }
            let ours = key.supportedVersions
            let low = max(ours.lowerBound, entry.minVersion)
            let high = min(ours.upperBound, entry.maxVersion)
            if low <= high {
                versions[key] = high
            } else {
                incompatible[key] = entry.minVersion...entry.maxVersion
            }
        }
        self.init(versions: versions, incompatible: incompatible)
    }

    /// The table with each API in `caps` held to at most that version (an API whose lowest
    /// usable version is above its cap is dropped).
    public func capped(_ caps: [ApiKey: Int16]) -> KafkaApiVersionTable {
        var table = self
        for (key, cap) in caps {
            guard let version = table.versions[key], version > cap else { continue }
            table.versions[key] = cap >= key.supportedVersions.lowerBound ? cap : nil
        }
        return table
    }

    /// The version to send `key` at, or nil if the broker does not speak a version we do.
    public func version(for key: ApiKey) -> Int16? { versions[key] }

    /// ApiVersions itself before negotiation: v3 is flexible and sends the client's software
    /// name; a broker that does not speak it answers at v0 with UNSUPPORTED_VERSION and its
    /// own range, and the client retries with the highest version in that range.
    public static let initialApiVersionsVersion: Int16 = 3
}

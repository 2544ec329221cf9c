import WireCore

/// 0xFE + plugin name + plugin data: the server asks the client to authenticate again with
/// another plugin (and a fresh nonce).
public struct AuthSwitchRequest: Sendable, Hashable {
    public var pluginName: String
    /// As sent; MySQL appends a NUL to the 20-byte nonce (see `nonce`).
    public var pluginData: [UInt8]

    public init(pluginName: String, pluginData: [UInt8]) {
        self.pluginName = pluginName
        self.pluginData = pluginData
    }

    /// The plugin data without the trailing NUL that servers append to scrambles.
    public var nonce: [UInt8] {
        pluginData.last == 0 ? Array(pluginData.dropLast()) : pluginData
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(0xfe)
        writer.writeNullTerminatedString(pluginName)
        writer.writeBytes(pluginData)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 48)
        encode(into: &writer)
        return writer.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> AuthSwitchRequest {
        try decodingMessage("AuthSwitchRequest") { () throws(WireDecodingError) -> AuthSwitchRequest in
            var reader = ByteReader(payload)
            let header = try reader.readUInt8("header")
            guard header == 0xfe else {
                throw .malformed(field: "header", reason: "0x\(String(header, radix: 16)), expected 0xfe", offset: 0)
            }
            // A bare 0xFE is the old (pre-4.1) "use the old password" request.
            guard !reader.isAtEnd else {
                throw .malformed(field: "plugin name", reason: "old-password switch is not supported", offset: 1)
            }
            let name = try reader.readNullTerminatedString("plugin name")
            return AuthSwitchRequest(pluginName: name, pluginData: reader.readRemainingBytes())
        }
    }
}

import WireCore

/// COM_PING: checks the server is alive; answered by OK.
public struct COMPing: Sendable, Hashable {
    public init() {}

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.ping)
    }

    public func encoded() -> [UInt8] { [MySQLCommandCode.ping] }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMPing {
        try decodeBareCommand(payload, code: MySQLCommandCode.ping, name: "COM_PING")
        return COMPing()
    }
}

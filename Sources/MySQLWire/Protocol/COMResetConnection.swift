import WireCore

/// COM_RESET_CONNECTION: resets session state (transactions, temporary tables, user variables, prepared statements) without re-authenticating; answered by OK.
public struct COMResetConnection: Sendable, Hashable {
    public init() {}

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.resetConnection)
    }

    public func encoded() -> [UInt8] { [MySQLCommandCode.resetConnection] }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMResetConnection {
        try decodeBareCommand(payload, code: MySQLCommandCode.resetConnection, name: "COM_RESET_CONNECTION")
        return COMResetConnection()
    }
}

import WireCore

/// COM_QUIT: ends the session; the server closes the connection without a reply.
public struct COMQuit: Sendable, Hashable {
    public init() {}

    public func encode(into writer: inout ByteWriter) {
        writer.writeUInt8(MySQLCommandCode.quit)
    }

    public func encoded() -> [UInt8] { [MySQLCommandCode.quit] }

    public static func decode(_ payload: [UInt8]) throws(MySQLProtocolError) -> COMQuit {
        try decodeBareCommand(payload, code: MySQLCommandCode.quit, name: "COM_QUIT")
        return COMQuit()
    }
}

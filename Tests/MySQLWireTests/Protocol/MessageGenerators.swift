import MySQLWire
import PropertyBased
import WireCore

/// Random protocol messages and values for round-trip and robustness properties.
enum MySQLGen {
    static func bytes<R: RandomNumberGenerator>(_ range: ClosedRange<Int>, using rng: inout R) -> [UInt8] {
        (0..<Int.random(in: range, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func text<R: RandomNumberGenerator>(_ range: ClosedRange<Int>, using rng: inout R) -> String {
        let alphabet = Array("abcXYZ019 _-'\"é🎉\\;")
        return String((0..<Int.random(in: range, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    /// NUL-free text (for NUL-terminated fields).
    static func name<R: RandomNumberGenerator>(using rng: inout R) -> String { text(0...12, using: &rng) }

    static func nonce<R: RandomNumberGenerator>(using rng: inout R) -> [UInt8] {
        (0..<20).map { _ in UInt8.random(in: 1...255, using: &rng) }
    }

    static func handshake<R: RandomNumberGenerator>(using rng: inout R) -> HandshakeV10 {
        var caps = MySQLCapabilities(rawValue: UInt32.random(in: 0...UInt32.max, using: &rng))
        caps.formUnion([.protocol41, .secureConnection, .pluginAuth])
        return HandshakeV10(
            serverVersion: text(1...30, using: &rng), connectionID: UInt32.random(in: 0...UInt32.max, using: &rng),
            authPluginData: nonce(using: &rng), capabilities: caps, characterSet: UInt8.random(in: 0...255, using: &rng),
            statusFlags: MySQLServerStatus(rawValue: UInt16.random(in: 0...UInt16.max, using: &rng)),
            authPluginName: name(using: &rng), mariaDBExtendedCapabilities: UInt32.random(in: 0...UInt32.max, using: &rng)
        )
    }

    static func handshakeResponse<R: RandomNumberGenerator>(using rng: inout R) -> HandshakeResponse41 {
        var caps: MySQLCapabilities = [.protocol41]
        for flag in [MySQLCapabilities.secureConnection, .pluginAuthLengthEncodedClientData, .connectWithDB, .pluginAuth, .connectAttrs, .ssl]
        where Bool.random(using: &rng) {
            caps.insert(flag)
        }
        // Without either length-prefixed form, the auth response is NUL-terminated.
        let response = caps.isDisjoint(with: [.secureConnection, .pluginAuthLengthEncodedClientData])
            ? (0..<20).map { _ in UInt8.random(in: 1...255, using: &rng) } : bytes(0...40, using: &rng)
        let attributes = caps.contains(.connectAttrs)
            ? (0..<Int.random(in: 0...3, using: &rng)).map { _ in (key: text(0...8, using: &rng), value: text(0...8, using: &rng)) } : []
        return HandshakeResponse41(
            capabilities: caps, maxPacketSize: UInt32.random(in: 0...UInt32.max, using: &rng),
            characterSet: UInt8.random(in: 0...255, using: &rng), username: name(using: &rng), authResponse: response,
            database: caps.contains(.connectWithDB) ? name(using: &rng) : nil,
            authPluginName: caps.contains(.pluginAuth) ? name(using: &rng) : nil, attributes: attributes
        )
    }

    static func ok<R: RandomNumberGenerator>(using rng: inout R) -> OKPacket {
        OKPacket(
            header: Bool.random(using: &rng) ? 0x00 : 0xfe,
            affectedRows: integer(using: &rng), lastInsertID: integer(using: &rng),
            statusFlags: MySQLServerStatus(rawValue: UInt16.random(in: 0...UInt16.max, using: &rng)).subtracting(.sessionStateChanged),
            warnings: UInt16.random(in: 0...UInt16.max, using: &rng), info: text(0...20, using: &rng)
        )
    }

    static func integer<R: RandomNumberGenerator>(using rng: inout R) -> UInt64 {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return UInt64.random(in: 0...250, using: &rng)
        case 1: return UInt64.random(in: 251...0xffff, using: &rng)
        case 2: return UInt64.random(in: 0x1_0000...0xff_ffff, using: &rng)
        default: return UInt64.random(in: 0...UInt64.max, using: &rng)
        }
    }

    static func serverError<R: RandomNumberGenerator>(using rng: inout R) -> MySQLServerError {
        let states = ["23000", "40001", "HY000", "42S02"]
        return MySQLServerError(
            code: .init(UInt16.random(in: 1000...UInt16.max, using: &rng)),
            sqlState: Bool.random(using: &rng) ? states.randomElement(using: &rng) : nil,
            message: Bool.random(using: &rng) ? text(0...40, using: &rng) : "x" + text(0...40, using: &rng).replacingOccurrences(of: "#", with: "")
        )
    }

    static func column<R: RandomNumberGenerator>(using rng: inout R) -> ColumnDefinition41 {
        ColumnDefinition41(
            catalog: "def", schema: text(0...8, using: &rng), table: text(0...8, using: &rng), originalTable: text(0...8, using: &rng),
            name: text(0...8, using: &rng), originalName: text(0...8, using: &rng),
            characterSet: UInt16.random(in: 0...UInt16.max, using: &rng), columnLength: UInt32.random(in: 0...UInt32.max, using: &rng),
            type: MySQLColumnType(rawValue: UInt8.random(in: 0...255, using: &rng)),
            flags: MySQLColumnFlags(rawValue: UInt16.random(in: 0...UInt16.max, using: &rng)), decimals: UInt8.random(in: 0...255, using: &rng)
        )
    }

    /// A value and a column it can be stored in, such that both protocols carry it exactly.
    static func typedValue<R: RandomNumberGenerator>(using rng: inout R) -> (MySQLValue, ColumnDefinition41) {
        func col(_ type: MySQLColumnType, _ flags: MySQLColumnFlags = [], charset: UInt16 = 45) -> ColumnDefinition41 {
            ColumnDefinition41(name: "c", characterSet: charset, type: type, flags: flags)
        }
        switch Int.random(in: 0..<16, using: &rng) {
        case 0: return (.int(Int64(Int8.random(in: .min ... .max, using: &rng))), col(.tiny))
        case 1: return (.uint(UInt64(UInt16.random(in: 0 ... .max, using: &rng))), col(.short, .unsigned))
        case 2: return (.int(Int64(Int32.random(in: .min ... .max, using: &rng))), col(.long))
        case 3: return (.int(Int64.random(in: .min ... .max, using: &rng)), col(.longlong))
        case 4: return (.uint(UInt64.random(in: 0 ... .max, using: &rng)), col(.longlong, .unsigned))
        case 5: return (.float(Float(Int16.random(in: .min ... .max, using: &rng)) / 4), col(.float))
        case 6: return (.double(Double.random(in: -1e300...1e300, using: &rng)), col(.double))
        case 7:
            let digits = String(UInt64.random(in: 0...UInt64.max, using: &rng))
            return (.decimal(MySQLDecimal((Bool.random(using: &rng) ? "-" : "") + digits + "." + String(Int.random(in: 0...999, using: &rng)))!), col(.newdecimal))
        case 8: return (.string(text(0...300, using: &rng)), col(.varString))
        case 9: return (.bytes(bytes(0...300, using: &rng)), col(.blob, .binary, charset: 63))
        case 10: return (.date(MySQLDate(year: UInt16.random(in: 1...9999, using: &rng), month: UInt8.random(in: 1...12, using: &rng), day: UInt8.random(in: 1...28, using: &rng))), col(.date))
        case 11:
            let micro = Bool.random(using: &rng) ? UInt32.random(in: 0...999_999, using: &rng) : 0
            return (.datetime(MySQLDateTime(
                year: UInt16.random(in: 1...9999, using: &rng), month: UInt8.random(in: 1...12, using: &rng), day: UInt8.random(in: 1...28, using: &rng),
                hour: UInt8.random(in: 0...23, using: &rng), minute: UInt8.random(in: 0...59, using: &rng), second: UInt8.random(in: 0...59, using: &rng),
                microsecond: micro
            )), col(.datetime))
        case 12:
            let micro = Bool.random(using: &rng) ? UInt32.random(in: 0...999_999, using: &rng) : 0
            let time = MySQLTime(
                isNegative: Bool.random(using: &rng), days: UInt32.random(in: 0...34, using: &rng), hour: UInt8.random(in: 0...23, using: &rng),
                minute: UInt8.random(in: 0...59, using: &rng), second: UInt8.random(in: 0...59, using: &rng), microsecond: micro
            )
            // "-00:00:00" is not a distinct value.
            let zero = time.days == 0 && time.hour == 0 && time.minute == 0 && time.second == 0 && time.microsecond == 0
            return (.time(zero ? MySQLTime() : time), col(.time))
        case 13: return (.bit(UInt64.random(in: 0...UInt64.max, using: &rng)), col(.bit, .unsigned, charset: 63))
        case 14: return (.json("{\"k\": \(Int.random(in: 0...100, using: &rng))}"), col(.json))
        default: return (.null, col(.varString))
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

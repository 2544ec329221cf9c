import MySQLWire
import PropertyBased
import Testing
import WireCore

/// Random result sets, encoded as a server would send them, come out of the state machine
/// as the same rows — in both protocols, with and without CLIENT_DEPRECATE_EOF, one or
/// several result sets per command.
@Suite struct StateMachinePropertyTests {
    struct Scenario: Sendable {
        var deprecateEOF: Bool
        var binary: Bool
        var sets: [(columns: [ColumnDefinition41], rows: [[MySQLValue]])]
    }

    static let scenarios = Generator<Scenario, Shrink.None<Scenario>> { rng in
        let sets = (0..<Int.random(in: 1...3, using: &rng)).map { _ -> (columns: [ColumnDefinition41], rows: [[MySQLValue]]) in
            let width = Int.random(in: 1...6, using: &rng)
            let kinds = (0..<width).map { _ in MySQLGen.typedValue(using: &rng) }
            let columns = kinds.map(\.1)
            let rows = (0..<Int.random(in: 0...8, using: &rng)).map { _ in
                columns.indices.map { index -> MySQLValue in
                    // Same column type for every row: regenerate until the type matches.
                    var value = MySQLGen.typedValue(using: &rng)
                    var attempts = 0
                    while value.1 != columns[index] && attempts < 200 {
                        value = MySQLGen.typedValue(using: &rng)
                        attempts += 1
                    }
                    return value.1 == columns[index] && Int.random(in: 0..<8, using: &rng) != 0 ? value.0 : .null
                }
            }
            return (columns, rows)
        }
        return Scenario(deprecateEOF: Bool.random(using: &rng), binary: Bool.random(using: &rng), sets: sets)
    }

    @Test func resultSetsSurviveTheStateMachine() async {
        await propertyCheck(count: 200, input: Self.scenarios) { scenario in
            let caps = scenario.deprecateEOF ? StateMachineTests.serverCaps : StateMachineTests.serverCaps.subtracting(.deprecateEOF)
            var machine = StateMachineTests.authenticated(caps: caps)
            let command: MySQLConnectionStateMachine.Command
            if scenario.binary {
                let statement = MySQLPreparedStatement(id: 1, sql: "CALL p()", parameters: [], columns: [], connectionID: 77)
                command = .execute(statement, [])
            } else {
                command = .query("CALL p()")
            }
            guard case .send = machine.startCommand(command) else {
                Issue.record("command not started")
                return
            }
            var payloads: [[UInt8]] = []
            for (index, set) in scenario.sets.enumerated() {
                let status: MySQLServerStatus = index == scenario.sets.count - 1 ? .autocommit : [.autocommit, .moreResultsExist]
                var count = ByteWriter()
                count.writeLengthEncodedInteger(UInt64(set.columns.count))
                payloads.append(count.bytes)
                payloads += set.columns.map { $0.encoded() }
                if !scenario.deprecateEOF { payloads.append(EOFPacket().encoded()) }
                for row in set.rows {
                    if scenario.binary {
                        payloads.append(BinaryResultRow.encoded(values: row, columns: set.columns))
                    } else {
                        var writer = ByteWriter()
                        TextResultRow.encode(values: row, into: &writer)
                        payloads.append(writer.bytes)
                    }
                }
                payloads.append(scenario.deprecateEOF ? OKPacket(header: 0xfe, statusFlags: status).encoded() : EOFPacket(statusFlags: status).encoded())
            }
            let actions = StateMachineTests.feed(&machine, payloads)
            guard case let .complete(.result(result), _)? = actions.last else {
                Issue.record("no result: \(String(describing: actions.last))")
                return
            }
            #expect(actions.dropLast().allSatisfy { $0 == .none })
            #expect(result.resultSets.map(\.columns) == scenario.sets.map(\.columns))
            #expect(result.resultSets.map(\.rows) == scenario.sets.map(\.rows))
            #expect(machine.isReady)
        }
    }
}

import ArgumentParser
import KafkaWire

struct KafkaGroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "List consumer groups, or describe one: members, assignments, committed offsets and lag.",
        discussion: """
        Examples:
          lab kafka groups
          lab kafka groups audit
        """
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Argument(help: "Describe this group.")
    var group: String?

    func execute(io: KafkaCLIIO) async throws {
        let client = try connection.makeClient()
        do {
            if let group { try await describe(group, client: client, io: io) } else { try await list(client: client, io: io) }
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    private func list(client: KafkaClient, io: KafkaCLIIO) async throws {
        let groups = try await KafkaAdmin(client: client).listGroups()
        var text = "group\tstate\tprotocol-type\tcoordinator\n"
        for group in groups {
            text += "\(group.groupID)\t\(group.state.isEmpty ? "-" : group.state)\t\(group.protocolType.isEmpty ? "-" : group.protocolType)\t\(group.coordinator)\n"
        }
        io.out(text)
    }

    private func describe(_ group: String, client: KafkaClient, io: KafkaCLIIO) async throws {
        let admin = KafkaAdmin(client: client)
        guard let description = try await admin.describeGroups([group]).first else { throw KafkaCLIFailure("group \(group) not described") }
        var text = "group \(description.groupID)\n"
        text += "state \(description.state)\n"
        text += "protocol \(description.protocolType.isEmpty ? "-" : description.protocolType)/\(description.protocolName.isEmpty ? "-" : description.protocolName)\n"
        text += "members \(description.members.count)\n"
        var owners: [TopicPartition: String] = [:]
        for member in description.members {
            var assigned: [TopicPartition] = []
            var note = ""
            if description.protocolType == "consumer", !member.assignment.isEmpty {
                do {
                    assigned = try ConsumerProtocolAssignment.decode(member.assignment).assignedPartitions.sorted()
                } catch {
                    note = " (assignment undecodable: \(error))"
                }
            }
            for tp in assigned { owners[tp] = member.memberID }
            let instance = member.groupInstanceID.map { " instance=\($0)" } ?? ""
            text += "  \(member.memberID) client=\(member.clientID) host=\(member.clientHost)\(instance) partitions=\(Self.partitionList(assigned))\(note)\n"
        }
        let committed = try await KafkaAdmin(client: client).committedOffsets(group: group)
        let known = Set(committed.keys).union(owners.keys)
        text += "topic\tpartition\tcommitted\tlog-end\tlag\tmember\n"
        var logEnds: [String: [Int32: Int64]] = [:]
        for topic in Set(known.map(\.topic)).sorted() {
            do {
                logEnds[topic] = try await admin.listOffsets(topic: topic, spec: .latest).mapValues(\.offset)
            } catch {
                io.err("log end of \(topic): \(error)")
            }
        }
        // Every partition of the topics the group touches, committed to or not.
        let topicPartitions = known.union(logEnds.flatMap { topic, ends in ends.keys.map { TopicPartition(topic, $0) } }).sorted()
        for tp in topicPartitions {
            let offset = committed[tp]
            let end = logEnds[tp.topic]?[tp.partition]
            let lag = offset.flatMap { offset in end.map { max(0, $0 - offset) } }
            text += "\(tp.topic)\t\(tp.partition)\t\(offset.map(String.init) ?? "-")\t\(end.map(String.init) ?? "-")\t\(lag.map(String.init) ?? "-")\t\(owners[tp] ?? "-")\n"
        }
        io.out(text)
    }

    static func partitionList(_ partitions: [TopicPartition]) -> String {
        partitions.isEmpty ? "-" : partitions.map { "\($0.topic)-\($0.partition)" }.joined(separator: ",")
    }

    func run() async throws {
        do {
            try await execute(io: .standard)
        } catch {
            KafkaCLIIO.standard.err("error: \(error)")
            throw ExitCode(1)
        }
    }
}

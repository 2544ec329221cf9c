import ArgumentParser
import Foundation
import KafkaWire

/// `lab kafka`: a small kcat-like tool over the Swift Kafka client.
struct KafkaCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Kafka over the Swift client: topics, offsets, produce, consume and groups.",
        subcommands: [
            KafkaTopicsCommand.self, KafkaOffsetsCommand.self, KafkaProduceCommand.self, KafkaConsumeCommand.self, KafkaTransformCommand.self,
            KafkaGroupsCommand.self,
        ]
    )
}

/// Options every `lab kafka` command takes.
struct KafkaConnectionOptions: ParsableArguments {
    /// $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP, else Tansu's port (as `lab bench kafka`).
    static var defaultBootstrap: String {
        let environment = ProcessInfo.processInfo.environment
        for variable in ["LAB_KAFKA_BOOTSTRAP", "LAB_KAFKA_TANSU_BOOTSTRAP"] {
            if let value = environment[variable], !value.isEmpty { return value }
        }
        return "127.0.0.1:19092"
    }

    @Option(help: "Bootstrap servers, host:port[,host:port…] (default: $LAB_KAFKA_BOOTSTRAP, else $LAB_KAFKA_TANSU_BOOTSTRAP, else 127.0.0.1:19092).")
    var bootstrap: String = KafkaConnectionOptions.defaultBootstrap

    @Option(help: "Request timeout in seconds.")
    var timeout: Double = 10

    func makeClient() throws -> KafkaClient {
        guard let servers = KafkaBootstrapServer.parseList(bootstrap) else {
            throw ValidationError("--bootstrap: want host:port[,host:port…], got '\(bootstrap)'")
        }
        return KafkaClient(configuration: KafkaClientConfiguration(
            bootstrapServers: servers, clientID: "lab-kafka-cli", requestTimeout: .milliseconds(Int64(timeout * 1000))))
    }
}

struct KafkaTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List topics (with partitions and leaders), or create or delete one.",
        discussion: """
        Examples:
          lab kafka topics
          lab kafka topics --create orders --partitions 3 --replication 1
          lab kafka topics --delete orders
        """
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(help: "Create a topic with this name.")
    var create: String?

    @Option(help: "Partitions of the created topic (-1: broker default).")
    var partitions: Int32 = 1

    @Option(help: "Replication factor of the created topic (-1: broker default).")
    var replication: Int16 = 1

    @Option(name: .customLong("config"), help: "Topic config for --create, key=value (repeatable).")
    var configs: [String] = []

    @Option(help: "Delete the topic with this name.")
    var delete: String?

    func run() async throws {
        let client = try connection.makeClient()
        let admin = KafkaAdmin(client: client)
        do {
            if let name = create {
                var settings: [String: String] = [:]
                for entry in configs {
                    guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--config: want key=value, got '\(entry)'") }
                    settings[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
                }
                let created = try await admin.createTopic(name, partitions: partitions, replicationFactor: replication, configs: settings)
                print("created \(created.name) (id \(created.topicID))")
            }
            if let name = delete {
                try await admin.deleteTopics([name])
                print("deleted \(name)")
            }
            if create == nil && delete == nil {
                let names = try await admin.listTopics()
                let metadata = await client.metadata
                for name in names {
                    let topic = metadata.topics[name]
                    let partitions = topic?.sortedPartitions ?? []
                    print("\(name)\tpartitions=\(partitions.count)\tid=\(topic?.topicID.description ?? "-")")
                    for partition in partitions {
                        print("  \(partition.index)\tleader=\(partition.leaderID)\tepoch=\(partition.leaderEpoch)\treplicas=\(partition.replicas)\tisr=\(partition.isr)")
                    }
                }
            }
        } catch {
            await client.close()
            print("error: \(error)")
            throw ExitCode(1)
        }
        await client.close()
    }
}

struct KafkaOffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets",
        abstract: "Show log start offset, high watermark and last stable offset of every partition of a topic.",
        discussion: """
            The high watermark (HW) is where read_uncommitted consumers stop, the last stable offset (LSO) \
            where read_committed ones stop: HW > LSO while a transaction is open on the partition.
            Example: lab kafka offsets orders
            """
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Argument(help: "The topic.")
    var topic: String

    func run() async throws {
        let client = try connection.makeClient()
        let admin = KafkaAdmin(client: client)
        do {
            let earliest = try await admin.listOffsets(topic: topic, spec: .earliest)
            let highWatermark = try await admin.listOffsets(topic: topic, spec: .latest, isolation: .readUncommitted)
            let lastStable = try await admin.listOffsets(topic: topic, spec: .latest, isolation: .readCommitted)
            print("partition\tlog-start\thw\tlso\topen-txn")
            for partition in earliest.keys.sorted() {
                let start = earliest[partition]?.offset ?? -1
                let hw = highWatermark[partition]?.offset ?? -1
                let lso = lastStable[partition]?.offset ?? -1
                print("\(partition)\t\(start)\t\(hw)\t\(lso)\t\(hw > lso ? "yes" : "no")")
            }
        } catch {
            await client.close()
            print("error: \(error)")
            throw ExitCode(1)
        }
        await client.close()
    }
}

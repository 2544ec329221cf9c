import ArgumentParser
import Foundation
import KafkaWire

/// `lab kafka transform`: an exactly-once copy from one topic to another (read_committed in,
/// transactional out, offsets committed in the transaction) until SIGINT/SIGTERM. Several
/// instances with the same group and different transactional ids share the partitions; kill
/// one with -9 and the others (or its replacement) carry on with no duplicate and no loss.
struct KafkaTransformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Copy a topic to another exactly once (consume-transform-produce in transactions).",
        discussion: "Example: lab kafka transform --from orders --to orders-copy --group copier --transactional-id copier-1"
    )

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(help: "The input topic.")
    var from: String

    @Option(help: "The output topic (records keep key, value and headers).")
    var to: String

    @Option(help: "The consumer group.")
    var group: String

    @Option(name: .customLong("transactional-id"), help: "This instance's transactional.id (unique per instance).")
    var transactionalID: String

    @Option(name: .customLong("session-timeout-ms"), help: "Group session timeout: how soon a killed instance's partitions move.")
    var sessionTimeoutMs: Int = 6000

    func run() async throws {
        let stop = KafkaCLIStop()
        let sources = stop.installSignalHandlers()
        defer { for source in sources { source.cancel() } }
        let consumer = KafkaConsumer(client: try connection.makeClient(), configuration: KafkaConsumerConfiguration(
            groupID: group, autoOffsetReset: .earliest, enableAutoCommit: false, sessionTimeout: .milliseconds(sessionTimeoutMs),
            heartbeatInterval: .milliseconds(max(100, sessionTimeoutMs / 6)), fetchMaxWait: .milliseconds(100),
            isolation: .readCommitted))
        let producer = try KafkaProducer(client: try connection.makeClient(), configuration: KafkaProducerConfiguration(
            linger: .milliseconds(1), requestTimeout: .milliseconds(Int64(connection.timeout * 1000)), transactionalID: transactionalID))
        let output = to
        let pipeline = try ConsumeTransformProduce(consumer: consumer, producer: producer) { record in
            [ProducerRecord(topic: output, key: record.key, value: record.value, headers: record.headers)]
        }
        do {
            try await pipeline.start(topics: [from])
            var copied = 0
            while !stop.requested {
                if case let .committed(records, _) = try await pipeline.runOnce(pollTimeout: .milliseconds(250)) {
                    copied += records
                }
            }
            await consumer.close()
            await producer.close()
            FileHandle.standardError.write(Data("copied \(copied) records\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

// libFuzzer entry point for what a Kafka consumer decodes besides whole messages: the
// consumer-protocol subscription and assignment carried in JoinGroup/SyncGroup, and a
// fetched partition's records turned into application records (`FetchedRecordsDecoder`,
// with read_committed filtering by an aborted-transaction list). The first byte picks:
//   0      a ConsumerProtocolSubscription;
//   1      a ConsumerProtocolAssignment;
//   others [fetch offset byte][aborted count byte][per aborted: producer byte, offset byte][records].
// Besides "never traps", it checks, trapping when one fails:
// - a decoded subscription/assignment re-encodes at the highest known version and decodes
//   to the same value;
// - decoded records have ascending offsets at or after the fetch offset, and the position
//   never moves backwards;
// - read_committed decodes whatever read_uncommitted decodes, delivers a subset of its
//   records, and stops at the same position.
import KafkaWire
import WireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    switch selector {
    case 0:
        guard let subscription = try? ConsumerProtocolSubscription.decode(body) else { return 0 }
        guard let again = try? ConsumerProtocolSubscription.decode(try subscription.encoded()) else {
            fatalError("a decoded subscription does not re-encode and decode")
        }
        // Versions above the highest known drop what they added; compare the known fields.
        precondition(again.topics == subscription.topics && again.ownedPartitions == subscription.ownedPartitions,
                     "subscription round trip changed the value")
    case 1:
        guard let assignment = try? ConsumerProtocolAssignment.decode(body) else { return 0 }
        guard let again = try? ConsumerProtocolAssignment.decode(try assignment.encoded()) else {
            fatalError("a decoded assignment does not re-encode and decode")
        }
        precondition(again.assignedPartitions == assignment.assignedPartitions, "assignment round trip changed the value")
    default:
        guard body.count >= 2 else { return 0 }
        let fetchOffset = Int64(body[0])
        let abortedCount = Int(body[1] % 8)
        guard body.count >= 2 + abortedCount * 2 else { return 0 }
        var aborted: [FetchResponse.AbortedTransaction] = []
        for index in 0..<abortedCount {
            aborted.append(.init(producerId: Int64(body[2 + index * 2] % 4), firstOffset: Int64(body[3 + index * 2])))
        }
        let records = Array(body[(2 + abortedCount * 2)...])
        let partition = TopicPartition("t", 0)
        let committed = try? FetchedRecordsDecoder.decode(
            records, topicPartition: partition, fetchOffset: fetchOffset, isolation: .readCommitted, abortedTransactions: aborted)
        let uncommitted = try? FetchedRecordsDecoder.decode(
            records, topicPartition: partition, fetchOffset: fetchOffset, isolation: .readUncommitted, abortedTransactions: aborted)
        // read_committed skips the records of aborted batches, so a corrupt record there fails
        // only read_uncommitted; the reverse cannot happen.
        precondition(uncommitted == nil || committed != nil, "read_committed failed where read_uncommitted decoded")
        guard let committed, let uncommitted else { return 0 }
        for result in [committed, uncommitted] {
            precondition(result.nextOffset >= fetchOffset, "the position moved backwards")
            var previous = Int64.min
            for record in result.records {
                precondition(record.offset >= fetchOffset && record.offset > previous, "records out of order or before the fetch offset")
                previous = record.offset
            }
        }
        let all = Set(uncommitted.records.map(\.offset))
        precondition(committed.records.allSatisfy { all.contains($0.offset) }, "read_committed delivered a record read_uncommitted did not")
        precondition(committed.nextOffset == uncommitted.nextOffset, "isolation changed the position")
    }
    return 0
}

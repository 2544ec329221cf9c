import WireCore

/// Turns one partition's records section from a Fetch response into the records an
/// application may see, the way the Java consumer does:
/// - records before the fetch offset are skipped (a compressed batch can start earlier), and
///   offsets only go forward;
/// - control batches (transaction markers) are never handed out;
/// - under read_committed, batches of a producer's aborted transaction are dropped: the
///   response lists each aborted transaction's producer id and first offset, and the
///   producer's ABORT marker ends it;
/// - the position moves past every complete batch, delivered or not, so a consumer never
///   stalls on markers or aborted data.
/// Pure: tested on constructed responses without a broker.
public struct FetchedRecordsDecoder {
    public struct Result: Sendable {
        public var records: [ConsumerRecord] = []
        /// Where the next fetch starts: past the last complete batch (the fetch offset if none).
        public var nextOffset: Int64
        public var batches = 0
        public var controlBatches = 0
        public var abortedBatches = 0
    }

    public static func decode(
        _ bytes: [UInt8], topicPartition: TopicPartition, fetchOffset: Int64, isolation: ConsumerIsolation,
        abortedTransactions: [FetchResponse.AbortedTransaction]?, verifyCRC: Bool = true
    ) throws(KafkaConsumerError) -> Result {
        var result = Result(nextOffset: fetchOffset)
        var reader = RecordBatchReader(bytes, options: RecordBatchDecodingOptions(verifyCRC: verifyCRC))
        var pendingAborts = (abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }[...]
        var abortedProducers: Set<Int64> = []
        var nextRecordOffset = fetchOffset
        while true {
            let batch: RecordBatchView
            do {
                guard let next = try reader.next() else { break }
                batch = next
            } catch {
                throw .corruptRecords(topicPartition, offset: result.nextOffset, "\(error)")
            }
            let header = batch.header
            result.batches += 1
            defer { result.nextOffset = max(result.nextOffset, header.nextOffset) }
            if header.nextOffset <= fetchOffset { continue }
            if isolation == .readCommitted && header.producerId >= 0 {
                // Transactions of this producer that began at or before this batch are aborted ones.
                while let first = pendingAborts.first, first.firstOffset <= header.lastOffset {
                    abortedProducers.insert(first.producerId)
                    pendingAborts.removeFirst()
                }
                if header.isControl {
                    if Self.isAbortMarker(batch) { abortedProducers.remove(header.producerId) }
                } else if header.isTransactional && abortedProducers.contains(header.producerId) {
                    result.abortedBatches += 1
                    continue
                }
            }
            if header.isControl {
                result.controlBatches += 1
                continue
            }
            var iterator = batch.makeRecordIterator()
            do {
                while let record = try iterator.next() {
                    // Offsets only go forward: a record at or before one already delivered
                    // (never sent by a broker; possible in corrupt or hostile data) is skipped.
                    guard record.offset >= nextRecordOffset else { continue }
                    nextRecordOffset = record.offset + 1
                    result.records.append(ConsumerRecord(
                        topic: topicPartition.topic, partition: topicPartition.partition, offset: record.offset,
                        timestamp: header.timestamp(ofRecordWithTimestamp: record.timestamp),
                        key: record.key.map(Array.init), value: record.value.map(Array.init),
                        headers: record.headerCount == 0 ? [] : record.headers))
                }
            } catch {
                throw .corruptRecords(topicPartition, offset: header.baseOffset, "\(error)")
            }
        }
        return result
    }

    private static func isAbortMarker(_ batch: RecordBatchView) -> Bool {
        var iterator = batch.makeRecordIterator()
        guard let record = try? iterator.next(), let key = record.key else { return false }
        guard let marker = try? ControlRecordKey(decoding: key) else { return false }
        return marker.type == ControlRecordKey.abortType
    }
}

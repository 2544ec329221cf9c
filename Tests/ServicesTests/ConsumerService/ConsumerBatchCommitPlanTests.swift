import ConsumerService
import KafkaWire
import Testing

@Suite("ConsumerBatchCommitPlanTests")
struct ConsumerBatchCommitPlanTests {
    static let partition = TopicPartition("t", 0)
    static let records = (10...14).map { ConsumerRecord(topic: "t", partition: 0, offset: Int64($0), timestamp: 0, key: nil, value: nil) }

    static func plan(finished offsets: [Int64]) -> BatchCommitPlan {
        BatchCommitPlan(records: records, finished: Set(offsets.map { RecordPosition(partition, $0) }))
    }

    @Test("commits up to the first unfinished record and rewinds to it")
    func gap() {
        let plan = Self.plan(finished: [10, 11, 13])
        #expect(plan.commit == [Self.partition: 12])
        #expect(plan.rewind == [Self.partition: 12])
    }

    @Test("all finished: commit past the batch, nothing to reread")
    func allFinished() {
        let plan = Self.plan(finished: [10, 11, 12, 13, 14])
        #expect(plan.commit == [Self.partition: 15])
        #expect(plan.rewind.isEmpty)
        #expect(BatchCommitPlan.afterBatch(Self.records) == [Self.partition: 15])
    }

    @Test("nothing finished: no commit, reread from the first")
    func noneFinished() {
        let plan = Self.plan(finished: [11, 12])
        #expect(plan.commit.isEmpty)
        #expect(plan.rewind == [Self.partition: 10])
    }
}

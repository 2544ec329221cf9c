@testable import KafkaWire
import Testing

@Suite("DeliverySlot", .timeLimit(.minutes(1)))
struct DeliverySlotTests {
    static let metadata = RecordMetadata(topicPartition: TopicPartition("t", 3), offset: 41, timestamp: 7)

    @Test("a report that comes before the caller waits is kept and returned")
    func reportFirst() async throws {
        let slot = DeliverySlot()
        slot.deliver(.success(Self.metadata))
        #expect(try await slot.report().get() == Self.metadata)
    }

    @Test("a caller already waiting is resumed by the report; a failure comes through as such")
    func waiterFirst() async {
        let slot = DeliverySlot()
        async let report = slot.report()
        // Let the waiter park before the report comes (either order must work).
        try? await Task.sleep(for: .milliseconds(20))
        slot.deliver(.failure(.closed))
        let result = await report
        guard case .failure(.closed) = result else {
            Issue.record("expected the failure, got \(result)")
            return
        }
    }

    @Test("a second report does not replace the first")
    func firstReportStands() async throws {
        let slot = DeliverySlot()
        slot.deliver(.success(Self.metadata))
        slot.deliver(.failure(.closed))
        #expect(try await slot.report().get() == Self.metadata)
    }

    @Test("many slots filled from other tasks in any order all resolve to their own report")
    func concurrentFill() async {
        let slots = (0..<200).map { _ in DeliverySlot() }
        await withTaskGroup(of: Void.self) { group in
            for (index, slot) in slots.enumerated() {
                group.addTask {
                    slot.deliver(.success(RecordMetadata(topicPartition: TopicPartition("t", 0), offset: Int64(index), timestamp: 0)))
                }
            }
            for (index, slot) in slots.enumerated() {
                group.addTask {
                    let offset = try? await slot.report().get().offset
                    #expect(offset == Int64(index))
                }
            }
        }
    }
}

import KafkaWire
import Logging
import MySQLWire
import ServiceKit

/// One batch of the relay: in one transaction, take the oldest unsent rows (locked), publish
/// them in id order, wait for every acknowledgement, and only then mark them sent and COMMIT.
///
/// A row is never marked sent unless its record was acknowledged. The converse does not
/// hold: a crash (or failure) after the acknowledgements and before COMMIT leaves the rows
/// unsent, and the next batch publishes them again — at-least-once, which the consumer's
/// `processed_event` absorbs.
///
/// Several relays may run at once: `FOR UPDATE SKIP LOCKED` gives each different rows and
/// none waits for another. But only a single relay keeps per-aggregate order strictly: with
/// two, relay A may hold an aggregate's event 5 while relay B takes and publishes its event 6
/// first.
struct OutboxBatchRelay: Sendable {
    struct Row: Sendable {
        var id: Int64
        var eventID: String
        var aggregateID: String
        var type: String
        var payload: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        var stage: RelayHealth.Stage
        var error: any Error
        var description: String { "\(error)" }
    }

    static let afterPublishBeforeMark = "relay.after_publish_before_mark"

    let database: ServiceDatabase
    let publisher: OrderedPublisher
    let queries: OutboxQueries
    let failpoints: Failpoints
    let topic: String
    let batchSize: Int
    let published: @Sendable (Int) -> Void

    /// Relays one batch; the number of rows published and marked (0: nothing to do).
    func relayOnce() async throws(Failure) -> Int {
        do {
            return try await database.pool.withConnection { connection in
                // READ COMMITTED: the locking read takes no gap locks, so the command-service's
                // INSERTs into the outbox are not held up while this batch waits for Kafka.
                _ = try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                return try await connection.transaction { connection in try await relay(on: connection) }
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(stage: .database, error: error)
        }
    }

    private func relay(on connection: MySQLConnection) async throws -> Int {
        let poll = queries.poll(limit: batchSize)
        let rows = try await connection.query(poll.sql, poll.parameters).rows.map { values throws -> Row in
            guard values.count == 5, let id = values[0].int64, let eventID = values[1].string,
                  let aggregateID = values[2].string, let type = values[3].string, let payload = values[4].bytes
            else { throw ServiceError.dependency("outbox row with an unexpected shape: \(values)") }
            return Row(id: id, eventID: eventID, aggregateID: aggregateID, type: type, payload: payload)
        }
        guard !rows.isEmpty else { return 0 }
        do {
            _ = try await publisher.publishAll(rows.map { row in
                ProducerRecord(
                    topic: topic, key: Array(row.aggregateID.utf8), value: row.payload,
                    headers: [
                        RecordHeader(key: EventHeaders.id, value: EventHeaders.string(row.eventID)),
                        RecordHeader(key: EventHeaders.type, value: EventHeaders.string(row.type)),
                    ])
            })
        } catch {
            throw Failure(stage: .kafka, error: error)
        }
        published(rows.count)
        do {
            try await failpoints.hit(Self.afterPublishBeforeMark)
        } catch {
            throw Failure(stage: .failpoint, error: error)
        }
        let mark = queries.markSent(ids: rows.map(\.id))
        let result = try await connection.query(mark.sql, mark.parameters)
        guard result.affectedRows == UInt64(rows.count) else {
            throw ServiceError.dependency("marked \(result.affectedRows) of \(rows.count) outbox rows sent")
        }
        return rows.count
    }
}

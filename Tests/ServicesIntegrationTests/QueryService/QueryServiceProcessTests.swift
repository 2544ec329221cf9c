import Foundation
import QueryService
import ServiceKit
import Testing

/// The query-service as a process (`lab service query`): the HTTP contract of
/// GET /accounts/{id} (status codes, X-Cache, body) and its metrics.
@Suite(
    .serialized,
    .enabled(if: ServicesTestKit.mysqlAndRedis.reachable, ServicesTestKit.mysqlAndRedis.skipReason),
    .enabled(if: ServiceProcess.labPath != nil, ServiceProcess.missingLabReason)
)
struct QueryServiceProcessTests {
    static func object(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    @Test("GET /accounts/{id}: 200 miss then hit, 404 unknown, 400 invalid ids; metrics count them", arguments: ["del", "versioned"])
    func httpContract(mode: String) async throws {
        let fixture = try await QueryTestKit.Fixture()
        let account = QueryTestKit.uniqueAccount("http")
        try await fixture.insert(account, balance: 12_345, version: 4)
        let service = try await ServiceProcess.start(
            arguments: [
                "service", "query", "--cache-mode", mode, "--ttl", "30", "--pool-size", "3",
                "--mysql-url", ServicesTestKit.environment.mysqlURL, "--redis-url", ServicesTestKit.environment.redisURL,
            ],
            port: ServiceProcess.freePort())

        let miss = try await service.http.get("/accounts/\(account)")
        #expect(miss.status == 200, "\(miss.text)")
        #expect(miss.header("X-Cache") == "miss")
        #expect(miss.header("Content-Type") == "application/json")
        let body = Self.object(miss.body)
        #expect(body["accountId"] as? String == account)
        #expect((body["balanceCents"] as? NSNumber)?.int64Value == 12_345)
        #expect((body["version"] as? NSNumber)?.int64Value == 4)

        let hit = try await service.http.get("/accounts/\(account)")
        #expect(hit.status == 200 && hit.header("X-Cache") == "hit")
        #expect(hit.body == miss.body)

        let unknown = try await service.http.get("/accounts/\(QueryTestKit.uniqueAccount("missing"))")
        #expect(unknown.status == 404)
        #expect((Self.object(unknown.body)["error"] as? String)?.isEmpty == false, "\(unknown.text)")

        for bad in ["bad%20id", "a.b", String(repeating: "z", count: 65)] {
            let response = try await service.http.get("/accounts/\(bad)")
            #expect(response.status == 400, "\(bad): \(response.status) \(response.text)")
            #expect((Self.object(response.body)["error"] as? String)?.contains("account id") == true, "\(response.text)")
        }

        #expect(try await service.metric("lab_cache_requests_total", labels: ["result": "hit"]) == 1)
        #expect(try await service.metric("lab_cache_requests_total", labels: ["result": "miss"]) == 2)
        #expect(try await service.metric("lab_cache_db_loads_total") == 2)
        #expect(try await service.metric("hikaricp_connections_max", labels: ["pool": "query"]) == 3)
        let status = await service.stop()
        #expect(status == 0, "a clean stop on SIGTERM:\n\(service.outputTail())")
        await fixture.close()
    }
}

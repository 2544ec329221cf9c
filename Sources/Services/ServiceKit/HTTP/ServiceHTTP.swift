import Foundation
import Hummingbird
import Logging

/// The HTTP side every service has: `GET /health`, `GET /metrics` (Prometheus text),
/// `GET|PUT|DELETE /failpoints[/NAME]`, plus the service's own routes; request counts and
/// latency histograms through Hummingbird's MetricsMiddleware.
public enum ServiceHTTP {
    public typealias Context = BasicRequestContext

    /// A router with the common endpoints. `health` returns nil when healthy, else the reason.
    public static func router(
        service: String, failpoints: Failpoints, health: @escaping @Sendable () async -> String? = { nil }
    ) -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: MetricsMiddleware())
        router.get("health") { _, _ -> Response in
            if let problem = await health() {
                return json(.serviceUnavailable, ["status": "unhealthy", "service": service, "reason": problem])
            }
            return json(.ok, ["status": "ok", "service": service])
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: ServiceMetrics.render())))
        }
        router.get("failpoints") { _, _ -> Response in
            let armed = failpoints.status.map { ["name": $0.name, "spec": $0.spec.description, "hits": "\($0.hits)", "fired": "\($0.fired)"] }
            return jsonValue(.ok, ["known": failpoints.known, "armed": armed] as [String: Any])
        }
        router.put("failpoints/:name") { request, context -> Response in
            let name = try context.parameters.require("name")
            guard let text = request.uri.queryParameters.get("spec") else {
                throw HTTPError(.badRequest, message: "give the failpoint's spec as ?spec=crash|error|error(MSG)|delay(MS)[,after=N][,times=M]")
            }
            do throws(FailpointError) {
                try failpoints.arm(name, try FailpointSpec.parse(text))
            } catch {
                throw HTTPError(.badRequest, message: error.description)
            }
            return json(.ok, ["armed": name, "spec": text])
        }
        router.delete("failpoints/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            failpoints.disarm(name)
            return json(.ok, ["disarmed": name])
        }
        return router
    }

    /// Runs the application on 127.0.0.1:`port` until SIGTERM/SIGINT.
    public static func run<Responder: HTTPResponder>(responder: Responder, port: Int, logger: Logger) async throws
    where Responder.Context == Context {
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService()
    }

    // MARK: JSON in and out

    /// A JSON response from string fields.
    public static func json(_ status: HTTPResponse.Status, _ fields: [String: String]) -> Response {
        jsonValue(status, fields)
    }

    /// A JSON response from an Encodable value.
    public static func json<T: Encodable>(_ status: HTTPResponse.Status, encoding value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A JSON response from a JSONSerialization-compatible value.
    public static func jsonValue(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes the request body as JSON `T`, or answers 400 saying what is wrong with it
    /// (413 past `limit` bytes).
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 1 << 20) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw HTTPError(.contentTooLarge, message: "request body larger than \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw HTTPError(.badRequest, message: "request body is empty; expected JSON") }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "invalid request body: \(EventCoding.describe(error))")
        }
    }
}

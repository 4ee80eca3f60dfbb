// `duet serve`'s HTTP side on Hummingbird 2: the routes, the bearer token, the body
// limit, metrics around every request, and errors as JSON bodies.
//
//     let app = ServeApplication.make(service: service, host: "127.0.0.1", port: 8080, logger: logger)
//     try await ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint],
//                                                 logger: logger)).run()   // SIGTERM drains in-flight requests

import DuetSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Simulation

public enum ServeApplication {
    /// The routes: `POST /v1/predict`, `POST /v1/plan`, `GET /v1/model`, `GET /healthz`,
    /// `GET /metrics` (docs/openapi.yaml).
    public static func router(service: PredictionService) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestAccounting<BasicRequestContext>(metrics: service.metrics))
        if let token = service.options.token { router.add(middleware: BearerToken<BasicRequestContext>(token: token)) }
        router.get("/healthz") { _, _ in ServeApplication.json("{\"status\":\"ok\"}") }
        router.get("/metrics") { _, _ in ServeApplication.prometheus(service.metrics.text()) }
        router.get("/v1/model") { _, _ in ServeApplication.json(service.modelDescription()) }
        router.post("/v1/predict") { request, _ in
            let body = try await ServeApplication.body(request, limit: service.options.bodyLimit)
            if let type = request.headers[.contentType], type.lowercased().hasPrefix("text/csv") {
                return ServeApplication.csv(try service.predictCSV(body: body.readableBytesView))
            }
            return ServeApplication.json(try service.predict(body: body.readableBytesView))
        }
        router.post("/v1/plan") { request, _ in
            let body = String(buffer: try await ServeApplication.body(request, limit: service.options.bodyLimit))
            // A plan predicts up to --max-plan-combinations configurations (seconds):
            // off Swift's cooperative pool, which the other requests need.
            return ServeApplication.json(try await ServeApplication.onDispatchQueue { try service.plan(body: body) })
        }
        return router
    }

    /// The application listening on `host:port`; `onRunning` gets the bound port (port 0
    /// picks a free one).
    public static func make(service: PredictionService, host: String, port: Int, logger: Logger,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(router: router(service: service),
                    configuration: .init(address: .hostname(host, port: port), serverName: "duet/\(DuetVersion.string)"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                    logger: logger)
    }

    /// Makes Swift concurrency's global executor SwiftNIO's event loops (the ones
    /// Hummingbird serves on), so that a request's handler runs on the loop that read it
    /// instead of hopping to the cooperative pool and back: two thread switches fewer per
    /// request. Process-wide and once only: `duet serve` calls it first thing; tests do not.
    /// False when the runtime offers no hook (the default executor stays).
    @discardableResult
    public static func runConcurrencyOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// A Prometheus text exposition (format 0.0.4).
    static func prometheus(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func csv(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Runs long, blocking work on a Dispatch queue and waits for it without blocking.
    static func onDispatchQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// The request body, refused with 413 above `limit` bytes.
    static func body(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServeError(status: 413, path: "", message: "the body is larger than \(limit) bytes")
        }
    }
}

extension ServeError: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ServeApplication.json(json.text(numbers: .plain), status: status)
    }
}

/// Times and counts every request by route and status (the route as registered, so
/// that ids in paths do not multiply the series), and turns every error into a JSON
/// body: a `ServeError` as it is, Hummingbird's own (404, 405, 413) and anything
/// unexpected (500) into one.
struct RequestAccounting<Context: RequestContext>: RouterMiddleware {
    let metrics: ServeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServeError {
            response = try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let status = Int(error.status.code)
            response = try ServeError(status: status, path: "", message: error.status.reasonPhrase)
                .response(from: request, context: context)
        } catch {
            context.logger.error("request failed: \(error)")
            response = try ServeError(status: 500, path: "", message: "internal error: \(error)")
                .response(from: request, context: context)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        metrics.request(route: context.endpointPath ?? "unmatched", status: Int(response.status.code), seconds: seconds)
        return response
    }
}

/// Requires `Authorization: Bearer TOKEN` on every route but `/healthz` (which
/// Kubernetes probes call without credentials); 401 otherwise.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        let given = request.headers[.authorization].flatMap { header -> Substring? in
            header.hasPrefix("Bearer ") ? header.dropFirst("Bearer ".count) : nil
        }
        guard let given, Self.equal(Array(given.utf8), Array(token.utf8)) else {
            var response = try ServeError(status: 401, path: "", message: "missing or wrong bearer token (Authorization: Bearer TOKEN)")
                .response(from: request, context: context)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Compares in time that does not depend on where the first difference is.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

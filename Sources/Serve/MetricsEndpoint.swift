// A Prometheus scrape endpoint for a process that is not an HTTP server otherwise
// (`duet coordinator --metrics HOST:PORT`): GET /metrics and GET /healthz on
// Hummingbird, run on Swift's concurrency pool beside the process's own threads.

import Dispatch
import DuetSupport
import Foundation
import Hummingbird
import Logging

public enum MetricsEndpoint {
    /// The application: `GET /metrics` answers `text()` (Prometheus text format 0.0.4),
    /// `GET /healthz` `{"status":"ok"}`.
    public static func make(host: String, port: Int, logger: Logger, text: @escaping @Sendable () -> String,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
    {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in ServeApplication.json("{\"status\":\"ok\"}") }
        router.get("/metrics") { _, _ in ServeApplication.prometheus(text()) }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "duet/\(DuetVersion.string)"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Why the endpoint could not start.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Starts the endpoint in the background and returns its port once it listens (port
    /// 0: any free one); throws why when it cannot listen. It serves until the process exits.
    public static func start(bind: ServeBind, logger: Logger, text: @escaping @Sendable () -> String) throws(StartError) -> Int {
        let outcome = FirstOutcome()
        let ready = DispatchSemaphore(value: 0)
        let app = make(host: bind.host, port: bind.port, logger: logger, text: text) { port in
            outcome.set(.success(port))
            ready.signal()
        }
        Task.detached {
            do {
                try await app.runService()
            } catch {
                outcome.set(.failure(StartError(description: "cannot serve metrics on \(bind): \(error)")))
                ready.signal()
            }
        }
        if ready.wait(timeout: .now() + 30) == .timedOut {
            throw StartError(description: "the metrics endpoint on \(bind) did not start within 30 s")
        }
        return try outcome.value!.get()
    }

    /// The first of "listening on this port" and "failed", from whichever task says it.
    private final class FirstOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var first: Result<Int, StartError>?
        func set(_ outcome: Result<Int, StartError>) { lock.withLock { if first == nil { first = outcome } } }
        var value: Result<Int, StartError>? { lock.withLock { first } }
    }
}

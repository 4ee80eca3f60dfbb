import ArgumentParser
import Foundation
import Logging
import Serve
import ServiceLifecycle

extension ServeBind: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer predictions and plans over HTTP (docs/openapi.yaml), with Prometheus metrics.",
        discussion: """
            Routes: POST /v1/predict (one configuration, or a list, as JSON: the answer is \
            `duet predict --json`'s shape, with "warnings" for keys outside the model's domain), \
            POST /v1/plan ({"base": CONFIG, "slo": ["p95Response<=2"], "vary": ["stations.2.servers=1..64"], \
            "top": 10}: `duet plan --json`'s answer), GET /v1/model, GET /healthz, GET /metrics. A bad \
            request gets 400 with {"error": {"path": ..., "message": ...}} naming the key. Listens on \
            loopback unless --bind says otherwise; any other address needs --token-file (every route \
            but /healthz then requires `Authorization: Bearer TOKEN`). SIGTERM or Ctrl-C stops \
            accepting connections and finishes the requests in flight. Without a model file the \
            shipped model is used (found as by `duet predict`).
            """
    )

    @Argument(help: "Model file written by `duet train` or `duet search` (default: the shipped model).") var model: String?
    @Option(help: "HOST:PORT to listen on (port 0: any free port, printed at start).") var bind = ServeBind("127.0.0.1:8080")!
    @Option(help: "A file holding the bearer token clients must send; required for a non-loopback --bind.") var tokenFile: String?
    @Option(help: "The largest request body, in bytes (413 above).") var bodyLimit = ServeOptions().bodyLimit
    @Option(help: "The most configurations one predict request may list.") var maxBatch = ServeOptions().maxBatch
    @Option(help: "The most combinations one plan request may search.") var maxPlanCombinations = ServeOptions().maxPlanCombinations

    func validate() throws {
        if !bind.isLoopback && tokenFile == nil {
            throw ValidationError("--bind \(bind) is reachable from other machines: give --token-file FILE "
                                      + "(clients then send Authorization: Bearer TOKEN), or bind to 127.0.0.1")
        }
        if bodyLimit < 1024 { throw ValidationError("--body-limit must be at least 1024 bytes, got \(bodyLimit)") }
        if maxBatch < 1 || maxPlanCombinations < 1 {
            throw ValidationError("--max-batch and --max-plan-combinations must be at least 1")
        }
    }

    func run() async throws {
        ServeApplication.runConcurrencyOnEventLoops()
        let path = try modelPath(named: model)
        let surrogate = try loadModel(named: model)
        var token: String?
        if let tokenFile {
            let text: String
            do {
                text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw CLIError("--token-file \(tokenFile): cannot read it (\(error.localizedDescription))")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if token!.isEmpty { throw CLIError("--token-file \(tokenFile): the file is empty; put the token in it") }
        }
        let service = PredictionService(
            model: surrogate, modelName: (path as NSString).lastPathComponent,
            options: ServeOptions(token: token, bodyLimit: bodyLimit, maxBatch: maxBatch, maxPlanCombinations: maxPlanCombinations))
        var logger = Logger(label: "duet.serve")
        logger.logLevel = .notice
        let bind = self.bind
        let app = ServeApplication.make(service: service, host: bind.host, port: bind.port, logger: logger) { port in
            var shown = bind
            shown.port = port
            log("duet serve: listening on http://\(shown) (model \(path)); SIGTERM or Ctrl-C stops")
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        log("duet serve: stopped")
    }
}

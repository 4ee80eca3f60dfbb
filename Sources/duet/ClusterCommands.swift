// `duet coordinator`, `duet worker` and `duet keys`: thin shells over the Cluster
// library's server, worker and key files.

import ArgumentParser
import Cluster
import ClusterCore
import Dispatch
import DuetSupport
import Foundation
import Logging
import Searches
import Serve
import Sweeps

/// The version workers announce in their hello: the one `duet --version` prints.
let duetVersion = "duet \(DuetVersion.string)"

extension TaskRegistry {
    /// Every task kind the `duet` binary runs: the generic ones (`noop`), and those of
    /// the layers above the cluster (`sweep-point`, `train-trial`).
    static var duet: TaskRegistry {
        var registry = TaskRegistry.standard
        registry.register(SweepPointRunner.kind, SweepPointRunner())
        registry.register(SweepPointRunner.chosenKind, SweepPointRunner())
        registry.register(TrainTrialRunner.kind, TrainTrialRunner())
        return registry
    }
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Serve runs to workers and clients from a journal (the cluster's coordinator).",
        discussion: """
            Prints "listening on ENDPOINT" (with the real port) as its first line on stdout; logs go to \
            stderr. Recovers every unfinished run from the journal on start. SIGINT or SIGTERM stops it \
            gracefully (a second one at once); workers keep their tasks and reconnect when it is back.
            """
    )

    @Option(help: "Endpoint to listen on for workers and clients: tcp://*:5555, tcp://127.0.0.1:0 (any free port), ipc:///path.")
    var bind: String = "tcp://127.0.0.1:5555"
    @Option(help: "The SQLite journal (created if missing).")
    var journal: String = "duet.sqlite"
    @Option(help: "CURVE key directory: coordinator.key, coordinator.pub and allowed/*.pub (deploy/README.md).")
    var keys: String?
    @Flag(help: "Listen on a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false
    @Option(name: .customLong("heartbeat-ms"), help: "Milliseconds between heartbeats.")
    var heartbeatMilliseconds: Int = 1000
    @Option(help: "Heartbeat intervals of silence after which a worker is lost.")
    var liveness: Int = 3
    @Option(name: .customLong("max-attempts"), help: "Failed attempts after which a task is recorded as failed.")
    var maxAttempts: Int = 3
    @Option(
        name: .customLong("task-deadline"),
        help: ArgumentHelp(
            "Seconds an attempt of a task kind may run before it is taken back and retried elsewhere (repeatable).",
            discussion: "KIND=SECONDS, *=SECONDS for kinds not named, KIND=none for no deadline. Defaults: "
                + CoordinatorConfig.standardTaskDeadlines.sorted { $0.key < $1.key }.map { "\($0.key)=\(Int($0.value))" }
                .joined(separator: ", ") + ", *=\(Int(CoordinatorConfig().defaultTaskDeadline)).",
            valueName: "KIND=SECONDS"),
        transform: { try TaskDeadlineSetting(parsing: $0) })
    var taskDeadlines: [TaskDeadlineSetting] = []
    @Option(
        name: .customLong("abandon-after"),
        help: ArgumentHelp(
            "Seconds an unfinished run may go without its client (duet sweep, search, ...) asking about it before it is cancelled as abandoned; none: never.",
            valueName: "SECONDS"),
        transform: { try AbandonAfter(parsing: $0).seconds })
    var abandonAfter: Double = 600
    @Option(help: "Most messages handled per journal commit.")
    var batch: Int = 256
    @Flag(help: "fsync the journal on every commit (survives power loss; slower).")
    var durable = false
    @Option(
        help: ArgumentHelp(
            "HOST:PORT to serve Prometheus metrics on (GET /metrics): tasks queued, running, done, failed, workers, journal commit latency. No authentication: the figures are read-only.",
            valueName: "HOST:PORT"))
    var metrics: ServeBind?
    @Flag(help: "Log every task (debug level).")
    var verbose = false
    @OptionGroup var logging: LogOptions
    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentPID: Int32?

    func validate() throws {
        if heartbeatMilliseconds < 10 { throw ValidationError("--heartbeat-ms: must be >= 10, got \(heartbeatMilliseconds)") }
        if liveness < 1 { throw ValidationError("--liveness: must be >= 1, got \(liveness)") }
        if maxAttempts < 1 { throw ValidationError("--max-attempts: must be >= 1, got \(maxAttempts)") }
        if batch < 1 { throw ValidationError("--batch: must be >= 1, got \(batch)") }
        if keys != nil && insecure { throw ValidationError("--insecure and --keys contradict each other; pick one") }
        if keys == nil && !insecure {
            do { try EndpointRules.checkPlain(bind, binding: true) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        var config = CoordinatorConfig()
        config.heartbeatInterval = Double(heartbeatMilliseconds) / 1000
        config.liveness = liveness
        config.maxAttempts = maxAttempts
        config.abandonAfter = abandonAfter
        for setting in taskDeadlines { setting.apply(to: &config) }
        var options = CoordinatorOptions(
            endpoints: [bind], journalPath: journal, keys: try keys.map(KeyFiles.loadServer(directory:)), config: config)
        options.batchLimit = batch
        options.durable = durable
        options.parentPID = parentPID
        let logger = logging.bootstrap(label: "duet.coordinator", verbose: verbose)
        if let keys = options.keys {
            logger.log(.info, "CURVE on; allow-list: \(keys.allowedFiles.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))")
        } else {
            for line in EndpointRules.plainWarning(bind, binding: true) { logger.log(.warning, line) }
        }
        if let metrics {
            let exporter = CoordinatorMetrics()
            options.metrics = exporter
            var httpLogger = logger
            httpLogger.logLevel = .warning
            var shown = metrics
            do {
                shown.port = try MetricsEndpoint.start(bind: metrics, logger: httpLogger) { exporter.text() }
            } catch {
                throw CLIError("--metrics \(metrics): \(error)")
            }
            logger.log(.notice, "metrics on http://\(shown)/metrics")
        }
        let server = CoordinatorServer(options: options, logger: logger)
        let trap = SignalTrap { signal in server.stop(reason: signal == SIGINT ? "SIGINT" : "SIGTERM") }
        defer { trap.cancel() }
        try server.run { endpoints in
            print("listening on \(endpoints.joined(separator: " "))")
            fflush(nil)
        }
    }
}

/// `--abandon-after SECONDS` or `none`.
struct AbandonAfter {
    var seconds: Double
    init(parsing text: String) throws {
        if text == "none" {
            seconds = .infinity
        } else if let value = Double(text), value.isFinite, value > 0 {
            seconds = value
        } else {
            throw ValidationError("--abandon-after: expected seconds > 0 or none, got \(text)")
        }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run tasks for a coordinator until told to stop.",
        discussion: """
            Reconnects with back-off when the coordinator goes away, keeping its tasks and their results. \
            SIGINT or SIGTERM hands the tasks held back to the coordinator and exits. Task kinds: \
            \(TaskRegistry.duet.kinds.joined(separator: ", ")).
            """
    )

    @OptionGroup var endpoint: CoordinatorEndpointOption
    @Option(help: "Tasks run at once (default: all cores).")
    var slots: Int?
    @Option(help: "Tasks held queued beyond the slots, to hide the round trip of very short tasks (while the queue keeps every slot busy, results wait up to 1 ms to go out together).")
    var prefetch: Int = 0
    @Option(help: "CURVE key directory: coordinator.pub and this worker's key pair (default: $DUET_KEYS).")
    var keys: String?
    @Flag(help: "Connect to a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false
    @Option(help: "Directory that caches blobs across restarts (default: memory only).")
    var cache: String?
    @Flag(help: "Log every task (debug level).")
    var verbose = false
    @OptionGroup var logging: LogOptions
    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentPID: Int32?

    func validate() throws {
        if let slots, !(1...Hello.maxSlots).contains(slots) {
            throw ValidationError("--slots: must be 1...\(Hello.maxSlots), got \(slots)")
        }
        if !(0...Hello.maxSlots).contains(prefetch) { throw ValidationError("--prefetch: must be 0...\(Hello.maxSlots), got \(prefetch)") }
        _ = try address(environment: ProcessInfo.processInfo.environment)
    }

    /// The coordinator to work for: --coordinator, else DUET_COORDINATOR (keys: --keys, else DUET_KEYS).
    func address(environment: [String: String]) throws -> CoordinatorAddress {
        guard let address = try CoordinatorAddress.resolve(
            endpoint: endpoint.endpoint, keys: keys, insecure: insecure, environment: environment)
        else {
            throw ValidationError("give the coordinator's endpoint: --coordinator tcp://HOST:5555 (or set \(ClusterEnvironment.coordinator))")
        }
        return address
    }

    func run() throws {
        endpoint.warnIfDeprecated()
        let address = try address(environment: ProcessInfo.processInfo.environment)
        let connect = address.endpoint
        var options = WorkerOptions(
            endpoint: connect, slots: slots ?? ProcessInfo.processInfo.activeProcessorCount, prefetch: prefetch,
            keys: try address.clientKeys(), cacheDirectory: cache, version: duetVersion)
        options.parentPID = parentPID
        let logger = logging.bootstrap(label: "duet.worker", verbose: verbose)
        if options.keys == nil {
            for line in EndpointRules.plainWarning(connect, binding: false) { logger.log(.warning, line) }
        }
        let worker = WorkerNode(options: options, registry: .duet, logger: logger)
        let trap = SignalTrap { signal in worker.stop(reason: signal == SIGINT ? "SIGINT" : "SIGTERM") }
        defer { trap.cancel() }
        let reason = try worker.run()
        FileHandle.standardError.write(Data("worker exited: \(reason)\n".utf8))
    }
}

/// How the long-running processes log: `--log-format text` (one line per entry, for
/// people) or `json` (one object per line, for machines). The one place the tool
/// bootstraps swift-log.
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: "Log lines on stderr: text or json (one object per line).")
    var format: DuetLogHandler.Format = .text

    /// Installs the handler for this process and returns the shells' logger.
    func bootstrap(label: String, verbose: Bool) -> Logger {
        let format = self.format
        LoggingSystem.bootstrap { _ in DuetLogHandler(format: format) }
        var logger = Logger(label: label)
        logger.logLevel = verbose ? .debug : .info
        return logger
    }
}

extension DuetLogHandler.Format: ExpressibleByArgument {}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "CURVE key pairs for the cluster (see deploy/README.md for the layout).",
        subcommands: [KeysGenerate.self]
    )
}

struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (public), Z85 text."
    )

    @Option(help: "Directory to write into (created if missing).")
    var out: String
    @Option(help: "Name of the pair: coordinator, worker, client, ...")
    var name: String
    @Flag(help: "Replace an existing pair of that name.")
    var force = false
    @Flag(help: "Print {\"secretKeyFile\", \"publicKeyFile\", \"publicKey\"} as JSON.")
    var json = false

    func run() throws {
        let pair = try KeyFiles.generate(directory: out, name: name, force: force)
        let base = (out as NSString).appendingPathComponent(name)
        if json {
            let object: JSON = [
                "secretKeyFile": .string(base + ".key"), "publicKeyFile": .string(base + ".pub"),
                "publicKey": .string(pair.publicKey),
            ]
            print(object.text(numbers: .plain))
            return
        }
        print("wrote \(base).key (secret, mode 0600) and \(base).pub")
        print("public key: \(pair.publicKey)")
    }
}

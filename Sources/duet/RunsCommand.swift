// `duet runs` and `duet cancel RUN`: the runs a coordinator holds, and stopping one
// (CANCELRUN, docs/protocol.md). Both are one request through `ClusterClient`.

import ArgumentParser
import Cluster
import ClusterCore
import DuetSupport
import Foundation

/// Where a one-request client command finds the coordinator: `--coordinator`, else
/// DUET_COORDINATOR, else the local default; keys from `--keys`, else DUET_KEYS
/// (`CoordinatorAddress`, as `duet status` resolves them).
struct CoordinatorClientOptions: ParsableArguments {
    @Option(help: "The coordinator's endpoint (default: $DUET_COORDINATOR, else tcp://127.0.0.1:5555).")
    var coordinator: String?
    @Option(help: "CURVE key directory: coordinator.pub and this client's key pair (default: $DUET_KEYS).")
    var keys: String?
    @Flag(help: "Connect to a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false
    @Option(help: "Seconds to wait for the coordinator's answer.")
    var timeout: Double = 5

    func validate() throws {
        _ = try address(environment: ProcessInfo.processInfo.environment)
        if timeout <= 0 { throw ValidationError("--timeout: must be > 0, got \(timeout)") }
    }

    func address(environment: [String: String]) throws -> CoordinatorAddress {
        // With a fallback, resolve always returns an address.
        try CoordinatorAddress.resolve(endpoint: coordinator, keys: keys, insecure: insecure, environment: environment,
                                       fallback: "tcp://127.0.0.1:5555")!
    }

    /// The endpoint asked, for messages.
    var endpoint: String { (try? address(environment: ProcessInfo.processInfo.environment).endpoint) ?? coordinator ?? "?" }

    /// Sends one request and returns the reply; an `ERROR` reply or no answer is a `CLIError`.
    func ask(_ request: ClientRequest) throws -> ClientReply {
        let address = try address(environment: ProcessInfo.processInfo.environment)
        let coordinator = address.endpoint
        let client = try ClusterClient(endpoint: coordinator, keys: try address.clientKeys())
        defer { client.close() }
        let reply: ClientReply
        do {
            reply = try client.request(request, timeout: timeout)
        } catch {
            throw CLIError(
                "\(error.description)\(error.kind == .noAnswer ? "; is it running, is the endpoint right, and does it need --keys?" : "")")
        }
        if case .error(let message) = reply { throw CLIError("the coordinator at \(coordinator) refused: \(message)") }
        return reply
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List a coordinator's runs: id, kind, label, phase, tasks queued, running, done and failed, age.",
        discussion: """
            Lists the unfinished runs and the latest finished ones the coordinator keeps in memory \
            (older ones are in its journal: duet status --journal FILE --finished N). --json prints the "runs" \
            array of the status object (docs/protocol.md). Stop a run with duet cancel RUN.
            """
    )

    @OptionGroup var target: CoordinatorClientOptions
    @Flag(help: "Print the runs as a JSON array.")
    var json = false

    func run() throws {
        let status: ClusterStatus
        switch try target.ask(.status) {
        case .status(let received): status = received
        case let other: throw CLIError("the coordinator at \(target.endpoint) answered STATUS with \(other.typeName)")
        }
        if json {
            print(status.json["runs"]?.text ?? "[]")
        } else {
            print(StatusReport.renderRuns(status, now: Date().timeIntervalSince1970))
        }
    }
}

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a run on a coordinator: its queued tasks are dropped and its running ones stopped.",
        discussion: """
            Workers are told to stop the run's tasks at once (a result that still arrives is ignored); \
            the journal marks the run and its unfinished tasks cancelled. The results already in are \
            kept. A client following the run (duet sweep, duet search) stops with an error saying the \
            run was cancelled; running the same command again submits the work as a new run.
            """
    )

    @Argument(help: ArgumentHelp("The run's id (duet runs lists them).", valueName: "RUN"))
    var id: Int
    @OptionGroup var target: CoordinatorClientOptions

    func validate() throws {
        if id < 1 { throw ValidationError("RUN: must be a run id >= 1, got \(id)") }
    }

    func run() throws {
        switch try target.ask(.cancel(run: RunID(id))) {
        case .cancelled(let run): print("run \(run.rawValue) cancelled")
        case let other: throw CLIError("the coordinator at \(target.endpoint) answered CANCELRUN with \(other.typeName)")
        }
    }
}

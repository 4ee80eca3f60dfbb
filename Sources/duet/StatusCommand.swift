import ArgumentParser
import Cluster
import ClusterCore
import Foundation
import Searches

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a coordinator's workers, runs, throughput, ETA and recent failures.",
        discussion: """
            Asks the coordinator at --coordinator (default: $DUET_COORDINATOR, else tcp://127.0.0.1:5555), or reads a journal file directly with --journal (read-only; \
            works while the coordinator runs, and when it is down). --json prints the status object of \
            docs/protocol.md, one line per refresh with --watch.

            --search DIR shows a search instead (`duet search --out DIR`, local or on a cluster): \
            trials by state, the leaderboard (top 10) and the best trial's hyperparameters, read \
            from DIR/trials.json, which the search rewrites after every rung result.
            """
    )

    @OptionGroup var endpoint: CoordinatorEndpointOption
    @Option(help: "CURVE key directory: coordinator.pub and this client's key pair (default: $DUET_KEYS).")
    var keys: String?
    @Flag(help: "Connect to a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false
    @Option(help: "Read this journal file instead of asking a coordinator.")
    var journal: String?
    @Option(help: """
        With --journal: how many of the latest finished runs to list (default \(Journal.listedFinishedRuns); \
        unfinished runs are always listed).
        """)
    var finished: Int?
    @Option(help: "Show the search whose --out is DIR (its trials.json) instead of a coordinator.")
    var search: String?
    @Flag(help: "Print the status as JSON.")
    var json = false
    @Flag(help: "Refresh until interrupted.")
    var watch = false
    @Option(help: "Seconds between refreshes with --watch.")
    var interval: Double = 1
    @Option(help: "Seconds to wait for the coordinator's answer.")
    var timeout: Double = 3

    func validate() throws {
        _ = try address(environment: ProcessInfo.processInfo.environment)
        if interval <= 0 { throw ValidationError("--interval: must be > 0, got \(interval)") }
        if timeout <= 0 { throw ValidationError("--timeout: must be > 0, got \(timeout)") }
        if let finished {
            if finished < 0 { throw ValidationError("--finished: must be >= 0, got \(finished)") }
            if journal == nil {
                throw ValidationError(
                    "--finished applies only with --journal: a coordinator lists the finished runs it keeps in memory")
            }
        }
    }

    /// The coordinator to ask: --coordinator, else DUET_COORDINATOR, else the local
    /// default; nil when reading a journal or a search instead.
    func address(environment: [String: String]) throws -> CoordinatorAddress? {
        guard journal == nil, search == nil else { return nil }
        return try CoordinatorAddress.resolve(
            endpoint: endpoint.endpoint, keys: keys, insecure: insecure, environment: environment,
            fallback: "tcp://127.0.0.1:5555")
    }

    func run() throws {
        endpoint.warnIfDeprecated()
        let source = try search.map(searchSource) ?? makeSource()
        let isTerminal = isatty(STDOUT_FILENO) == 1
        var first = true
        while true {
            let text: String
            do {
                if let render = source.render {
                    text = try render(json)
                } else {
                    let status = try source.fetch()
                    text = json ? status.json.text : StatusReport.render(status, source: source.name, now: Date().timeIntervalSince1970)
                }
            } catch {
                guard watch else { throw error }
                text = "\(error)"
            }
            if watch && !json && isTerminal {
                // Redraw in place: home, clear, draw.
                print("\u{1B}[H\u{1B}[2J" + text, terminator: "\n")
            } else {
                if watch && !json && !first { print("") }
                print(text)
            }
            fflush(nil)
            first = false
            guard watch else { return }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    struct Source {
        let name: String
        let fetch: () throws -> ClusterStatus
        /// Renders the whole text itself (a search), given --json.
        var render: ((Bool) throws -> String)? = nil
    }

    func searchSource(_ directory: String) -> Source {
        Source(name: directory, fetch: { throw StatusError("not a coordinator") }) { json in
            do {
                return json ? try SearchReport.statusJSON(directory: directory) : try SearchReport.status(directory: directory)
            } catch let error as SearchError {
                throw StatusError(error.description)
            }
        }
    }

    func makeSource() throws -> Source {
        if let journal {
            return Source(name: journal) {
                let file = try Journal(path: journal, options: Journal.Options(readOnly: true))
                defer { try? file.close() }
                return try file.status(now: Date().timeIntervalSince1970, finishedRuns: finished ?? Journal.listedFinishedRuns)
            }
        }
        let address = try address(environment: ProcessInfo.processInfo.environment)!
        let connect = address.endpoint
        let client = try ClusterClient(endpoint: connect, keys: try address.clientKeys())
        return Source(name: connect) { [connect, timeout] in
            do {
                switch try client.request(.status, timeout: timeout) {
                case .status(let status): return status
                case .error(let message): throw ValidationError("the coordinator at \(connect) refused: \(message)")
                case let other: throw ValidationError("the coordinator at \(connect) answered STATUS with \(other.typeName)")
                }
            } catch let error as ClusterClientError {
                throw StatusError(
                    "\(error.description)\(error.kind == .noAnswer ? "; is it running, is the endpoint right, and does it need --keys?" : "")\n"
                        + "To read a journal file directly (works while the coordinator is down): duet status --journal FILE")
            }
        }
    }
}

struct StatusError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

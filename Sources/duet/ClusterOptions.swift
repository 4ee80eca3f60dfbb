// Where a command's work runs, for `duet sweep`, `duet search` and `duet run`: on this
// process's threads, on a local cluster started for it (`--local N`), or on an
// existing coordinator (`--coordinator ENDPOINT`, with `--keys` or `--insecure`). One
// group of options, declared, checked and turned into a `ClusterTarget` here; the help
// names the command's work (`ClusterWork`).

import ArgumentParser
import Cluster
import Foundation

/// What a command runs on the cluster, as its options' help says it.
protocol ClusterWork {
    /// "Run the points", "Train the trials".
    static var action: String { get }
    /// What each local worker takes on: "one slot each".
    static var perWorker: String { get }
}

enum SweepWork: ClusterWork {
    static let action = "Run the points"
    static let perWorker = "one slot each"
}

enum SearchWork: ClusterWork {
    static let action = "Train the trials"
    static let perWorker = "one trial each"
}

enum PipelineWork: ClusterWork {
    static let action = "Run the sweep and the search"
    static let perWorker = "one slot each"
}

/// The environment variables that stand in for the endpoint and key flags of every
/// command that talks to a coordinator, as RAY_ADDRESS or KUBECONFIG do: a flag given
/// wins over them, and an empty value counts as unset.
enum ClusterEnvironment {
    /// The coordinator's endpoint, for `--coordinator`.
    static let coordinator = "DUET_COORDINATOR"
    /// The CURVE key directory, for `--keys`.
    static let keys = "DUET_KEYS"

    /// The value of `name` in `environment`, nil when missing or empty.
    static func value(_ name: String, in environment: [String: String]) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// How a client or worker reaches a coordinator, resolved once from the flags and the
/// environment (flags win): the endpoint, the key directory (nil: plain), and where
/// the endpoint came from, for messages.
struct CoordinatorAddress: Equatable {
    var endpoint: String
    var keys: String?
    var insecure: Bool
    /// "--coordinator", "DUET_COORDINATOR" or "the default".
    var source: String

    /// The address given by `endpoint` (the `--coordinator` flag), else
    /// DUET_COORDINATOR, else `fallback`; nil when none is. The keys are `keys` (the
    /// `--keys` flag), else DUET_KEYS unless `--insecure` is given. A plain endpoint
    /// that is not loopback needs `--insecure`.
    static func resolve(endpoint: String?, keys: String?, insecure: Bool, environment: [String: String],
                        fallback: String? = nil) throws -> CoordinatorAddress? {
        if keys != nil && insecure { throw ValidationError("--insecure and --keys contradict each other; pick one") }
        let resolved: (endpoint: String, source: String)
        if let endpoint {
            resolved = (endpoint, "--coordinator")
        } else if let value = ClusterEnvironment.value(ClusterEnvironment.coordinator, in: environment) {
            resolved = (value, ClusterEnvironment.coordinator)
        } else if let fallback {
            resolved = (fallback, "the default")
        } else {
            return nil
        }
        let keyDirectory = keys ?? (insecure ? nil : ClusterEnvironment.value(ClusterEnvironment.keys, in: environment))
        if keyDirectory == nil && !insecure {
            do { try EndpointRules.checkPlain(resolved.endpoint, binding: false) } catch {
                throw ValidationError(resolved.source == "--coordinator" ? "\(error)" : "\(resolved.source): \(error)")
            }
        }
        return CoordinatorAddress(endpoint: resolved.endpoint, keys: keyDirectory, insecure: insecure, source: resolved.source)
    }

    /// The client's key pair from the key directory, nil when plain.
    func clientKeys() throws -> ClientKeys? { try keys.map(KeyFiles.loadClient(directory:)) }
}

/// `--coordinator ENDPOINT` with its deprecated spelling `--connect` (hidden; still
/// accepted, with a warning), for the commands that only ever talk to a coordinator
/// (`worker`, `status`).
struct CoordinatorEndpointOption: ParsableArguments {
    @Option(help: "The coordinator's endpoint: tcp://HOST:5555 or ipc:///path (default: $DUET_COORDINATOR).")
    var coordinator: String?
    @Option(help: .hidden)
    var connect: String?

    func validate() throws {
        if coordinator != nil && connect != nil {
            throw ValidationError("--connect is the old spelling of --coordinator; give only --coordinator")
        }
    }

    /// The flag's value, either spelling.
    var endpoint: String? { coordinator ?? connect }

    /// Says on stderr that `--connect` is deprecated, when it was given.
    func warnIfDeprecated() {
        guard let connect else { return }
        FileHandle.standardError.write(Data("warning: --connect is deprecated; use --coordinator \(connect)\n".utf8))
    }
}

struct ClusterOptions<Work: ClusterWork>: ParsableArguments {
    @Option(help: "\(Work.action) on N local worker processes (\(Work.perWorker)) and a local coordinator.")
    var local: Int?
    @Option(help: "\(Work.action) on the cluster of the coordinator at ENDPOINT (tcp://HOST:5555; default: $DUET_COORDINATOR).")
    var coordinator: String?
    @Option(help: "CURVE key directory for --coordinator: coordinator.pub and this client's key pair (default: $DUET_KEYS).")
    var keys: String?
    @Flag(help: "Allow --coordinator at a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false

    func validate() throws { _ = try resolve(environment: ProcessInfo.processInfo.environment) }

    /// The coordinator the work runs on, from the flags and then `environment`
    /// (DUET_COORDINATOR, DUET_KEYS); nil with `--local` or on this process's threads.
    func resolve(environment: [String: String]) throws -> CoordinatorAddress? {
        if let local, !(1...256).contains(local) { throw ValidationError("--local: must be 1...256, got \(local)") }
        if local != nil && coordinator != nil { throw ValidationError("give --local or --coordinator, not both") }
        let flag = keys != nil ? "--keys" : insecure ? "--insecure" : nil
        if local != nil, let flag { throw ValidationError("\(flag) applies only with --coordinator, not --local") }
        // --local is a flag too: it wins over DUET_COORDINATOR.
        let address = local != nil
            ? nil : try CoordinatorAddress.resolve(endpoint: coordinator, keys: keys, insecure: insecure, environment: environment)
        if address == nil, let flag {
            throw ValidationError("\(flag) applies only with --coordinator (or \(ClusterEnvironment.coordinator))")
        }
        return address
    }

    /// True when the work runs on a cluster (local or not).
    var isCluster: Bool { local != nil || (try? resolve(environment: ProcessInfo.processInfo.environment)) != nil }

    /// Where the work runs; nil on this process's threads. A local cluster keeps its
    /// journal and its children's log at the paths given (one slot per worker).
    func target(journalPath: String, logPath: String) throws -> ClusterTarget? {
        if let local {
            var options = LocalClusterOptions(
                executable: LocalCluster.currentExecutable, workers: local, journalPath: journalPath, logPath: logPath)
            options.slots = 1
            return .local(options)
        }
        if let address = try resolve(environment: ProcessInfo.processInfo.environment) {
            return .coordinator(endpoint: address.endpoint, keys: try address.clientKeys())
        }
        return nil
    }
}

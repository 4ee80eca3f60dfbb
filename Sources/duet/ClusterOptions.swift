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

struct ClusterOptions<Work: ClusterWork>: ParsableArguments {
    @Option(help: "\(Work.action) on N local worker processes (\(Work.perWorker)) and a local coordinator.")
    var local: Int?
    @Option(help: "\(Work.action) on the cluster of the coordinator at ENDPOINT (tcp://HOST:5555).")
    var coordinator: String?
    @Option(help: "CURVE key directory for --coordinator: coordinator.pub and this client's key pair.")
    var keys: String?
    @Flag(help: "Allow --coordinator at a non-loopback endpoint without keys (trusted networks only).")
    var insecure = false

    func validate() throws {
        if let local, !(1...256).contains(local) { throw ValidationError("--local: must be 1...256, got \(local)") }
        if local != nil && coordinator != nil { throw ValidationError("give --local or --coordinator, not both") }
        if (keys != nil || insecure) && coordinator == nil {
            throw ValidationError("\(keys != nil ? "--keys" : "--insecure") applies only with --coordinator")
        }
        if keys != nil && insecure { throw ValidationError("--insecure and --keys contradict each other; pick one") }
        if let coordinator, keys == nil, !insecure {
            do { try EndpointRules.checkPlain(coordinator, binding: false) } catch { throw ValidationError("\(error)") }
        }
    }

    /// True when the work runs on a cluster (local or not).
    var isCluster: Bool { local != nil || coordinator != nil }

    /// Where the work runs; nil on this process's threads. A local cluster keeps its
    /// journal and its children's log at the paths given (one slot per worker).
    func target(journalPath: String, logPath: String) throws -> ClusterTarget? {
        if let local {
            var options = LocalClusterOptions(
                executable: LocalCluster.currentExecutable, workers: local, journalPath: journalPath, logPath: logPath)
            options.slots = 1
            return .local(options)
        }
        if let coordinator {
            return .coordinator(endpoint: coordinator, keys: try keys.map(KeyFiles.loadClient(directory:)))
        }
        return nil
    }
}

// Where a cluster executor's tasks run (`duet sweep` and `duet search` with --local
// or --coordinator), and the local cluster's lifetime: started for the work, stopped
// after it or when the user interrupts.

import Foundation

/// An existing coordinator, or a coordinator and workers started here.
public enum ClusterTarget: Sendable {
    /// A coordinator already running.
    case coordinator(endpoint: String, keys: ClientKeys?)
    /// A coordinator and workers started for this work.
    case local(LocalClusterOptions)
}

public final class ClusterConnection: @unchecked Sendable {
    public let target: ClusterTarget
    let note: @Sendable (String) -> Void
    private let lock = NSLock()
    private var cluster: LocalCluster?
    private var stopping = false

    public init(target: ClusterTarget, note: @escaping @Sendable (String) -> Void) {
        self.target = target
        self.note = note
    }

    /// True once `shutdown()` was called.
    public var isStopping: Bool { lock.withLock { stopping } }

    /// Stops a local cluster's processes (Ctrl-C). Callable from any thread.
    public func shutdown() {
        let cluster = lock.withLock { () -> LocalCluster? in
            stopping = true
            return self.cluster
        }
        cluster?.stop(grace: 3)
    }

    /// Runs `body` with the coordinator's endpoint, the client keys and the local
    /// cluster (nil for an existing coordinator), starting the local cluster first and
    /// stopping it after. Nil when shut down before the local cluster started.
    public func connect<T>(_ body: (_ endpoint: String, _ keys: ClientKeys?, _ local: LocalCluster?) throws -> T) throws
        -> T?
    {
        switch target {
        case .coordinator(let endpoint, let keys):
            return try body(endpoint, keys, nil)
        case .local(let options):
            let cluster = try LocalCluster(options: options)
            let proceed = lock.withLock { () -> Bool in
                self.cluster = cluster
                return !stopping
            }
            guard proceed else { return nil }
            defer { cluster.stop(grace: 5) }
            try cluster.start()
            note("started a local coordinator and \(options.workers) worker\(options.workers == 1 ? "" : "s") (journal \(options.journalPath))")
            return try body(cluster.endpoint, nil, cluster)
        }
    }
}

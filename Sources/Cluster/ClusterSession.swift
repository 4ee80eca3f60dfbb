// Requests to a coordinator that outlast it: each is retried with back-off (0.5 s
// doubling to 10 s) until answered, so a sweep or a search keeps following a
// coordinator that restarts.

import ClusterCore
import Foundation

/// Thrown when following a run was interrupted (Ctrl-C: the caller is stopping).
public struct ClusterInterrupted: Error, CustomStringConvertible, Sendable {
    public var description: String { "interrupted" }
    public init() {}
}

/// Requests retried with back-off until answered, or until `stopping()` says so
/// (`ClusterInterrupted`) or the local cluster fails: what keeps a sweep or a
/// search following a coordinator that restarts.
public struct ClusterSession {
    public let client: ClusterClient
    let timeout: Double
    let note: @Sendable (String) -> Void
    let local: LocalCluster?
    let stopping: () -> Bool
    var failing = false

    public init(client: ClusterClient, timeout: Double, note: @escaping @Sendable (String) -> Void, local: LocalCluster?,
                stopping: @escaping () -> Bool) {
        self.client = client
        self.timeout = timeout
        self.note = note
        self.local = local
        self.stopping = stopping
    }

    public mutating func request(_ request: ClientRequest) throws -> ClientReply {
        var backoff = 0.5
        var lastNote = Date.distantPast
        while true {
            do {
                let reply = try client.request(request, timeout: timeout)
                if failing {
                    failing = false
                    note("the coordinator at \(client.endpoint) answers again")
                }
                return reply
            } catch {
                if stopping() { throw ClusterInterrupted() }
                if let local, let problem = local.health() { throw LocalClusterError(problem) }
                if !failing || Date().timeIntervalSince(lastNote) > 30 {
                    note(local == nil ? "\(error); retrying (Ctrl-C to stop: the run goes on, and this command resumes it)" : "\(error); retrying")
                    lastNote = Date()
                }
                failing = true
                Thread.sleep(forTimeInterval: backoff * (0.5 + 0.5 * Double.random(in: 0..<1)))
                backoff = min(backoff * 2, 10)
            }
        }
    }
}

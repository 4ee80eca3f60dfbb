// Following submitted runs from a client: what a sweep (one run of many tasks, read
// in index order) and a search (one-task runs, one per rung in flight) both do with a
// coordinator. It uploads the run's blobs, submits, reads results, and while nothing
// is new looks at the cluster now and then and backs off:
//
//     upload(blob) ─> submit(run) ─> results(run, from: next) ─┬─> progressed()
//                                                              └─> idle(): STATUS every 2 s
//                                                                  ("waiting: no worker ..."),
//                                                                  the local cluster's health,
//                                                                  sleep 10 ms doubling to 0.25 s
//
// Every request goes through a `ClusterSession`, so it is retried until the
// coordinator answers again. A coordinator on another journal does not know the
// runs or the blobs any more: `results` says so (`.unknownRun`), and the caller
// submits again; `submit` uploads the blobs again by itself when the coordinator
// lacks one.

import ClusterCore
import Foundation

/// A reply the follower cannot use: the coordinator refused a request, or answered it
/// with another message.
public struct RunFollowerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public final class RunFollower {
    public let endpoint: String
    let local: LocalCluster?
    let note: @Sendable (String) -> Void
    private let client: ClusterClient
    private var session: ClusterSession
    /// Blobs uploaded so far (and what they are), to upload again to a coordinator
    /// that lost them.
    private var blobs: [BlobHash: (bytes: [UInt8], what: String)] = [:]

    private var delay: Double
    private let initialDelay: Double
    private var lastStatus: Date
    private var lastProgress = Date()
    private var waitingNoted = false
    /// The task slots of the connected workers, as last seen (nil before any status).
    public private(set) var slots: Int?
    /// The most task slots seen at once.
    public private(set) var mostSlots = 0

    /// Opens a client to `endpoint`. `stopping` says when the caller is interrupted:
    /// requests then throw `ClusterInterrupted`. `initialDelay` is the first wait
    /// after a poll that brought nothing new; `statusAtOnce` asks for the status at
    /// the first idle wait rather than 2 s later.
    public init(endpoint: String, keys: ClientKeys?, local: LocalCluster?, timeout: Double,
                initialDelay: Double = 0.01, statusAtOnce: Bool = false,
                note: @escaping @Sendable (String) -> Void, stopping: @escaping () -> Bool) throws {
        self.endpoint = endpoint
        self.local = local
        self.note = note
        self.initialDelay = initialDelay
        delay = initialDelay
        lastStatus = statusAtOnce ? .distantPast : Date()
        client = try ClusterClient(endpoint: endpoint, keys: keys)
        session = ClusterSession(client: client, timeout: timeout, note: note, local: local, stopping: stopping)
    }

    deinit { client.close() }

    /// Closes the connection.
    public func close() { client.close() }

    /// Stores `bytes` on the coordinator (`what` names them in errors: "the dataset").
    @discardableResult
    public func upload(_ bytes: [UInt8], what: String) throws -> BlobHash {
        switch try session.request(.putBlob(bytes)) {
        case .blobStored(let hash, _):
            blobs[hash] = (bytes, what)
            return hash
        case .error(let message): throw RunFollowerError("the coordinator refused \(what): \(message)")
        case let other: throw RunFollowerError("the coordinator answered PUTBLOB with \(other.typeName)")
        }
    }

    /// What the coordinator said to a submission.
    public enum Submitted {
        case submitted(RunID, resumed: Bool)
        case refused(String)
    }

    /// Submits a run (an unfinished run of the same kind, spec and task count resumes).
    /// A coordinator that lacks one of the blobs uploaded here gets them again first.
    public func submit(_ submission: RunSubmission) throws -> Submitted {
        var reply = try session.request(.submit(submission))
        if case .error(let message) = reply, message.hasPrefix("unknown blob"), !blobs.isEmpty {
            // A coordinator on another journal does not have the blobs: upload them again.
            for (_, blob) in blobs.sorted(by: { $0.key.hex < $1.key.hex }) { try upload(blob.bytes, what: blob.what) }
            reply = try session.request(.submit(submission))
        }
        switch reply {
        case .submitted(let run, let resumed): return .submitted(run, resumed: resumed)
        case .error(let message): return .refused(message)
        case let other: throw RunFollowerError("the coordinator answered SUBMIT with \(other.typeName)")
        }
    }

    /// A page of results, or the coordinator's word that it does not know the run.
    public enum Page {
        case results(ResultPage)
        case unknownRun(String)
    }

    /// Results of `run` from task `from` on (at most `limit`).
    public func results(_ run: RunID, from: Int, limit: Int) throws -> Page {
        switch try session.request(.results(run: run, from: from, limit: limit)) {
        case .results(let page): return .results(page)
        case .error(let message): return .unknownRun(message)
        case let other: throw RunFollowerError("the coordinator answered RESULTS with \(other.typeName)")
        }
    }

    /// Something new arrived: the next idle wait is short again.
    public func progressed() {
        delay = initialDelay
        lastProgress = Date()
        waitingNoted = false
    }

    /// Every 2 s (and at once the first time with `statusAtOnce`): asks for the
    /// status, notes its slots, and says when no worker has been connected for 10 s
    /// without progress.
    public func lookAtCluster() throws {
        guard Date().timeIntervalSince(lastStatus) > 2 else { return }
        lastStatus = Date()
        try checkStatus()
    }

    /// Nothing new: looks at the cluster now and then (`lookAtCluster`), checks the
    /// local cluster, then waits, twice as long as the last time up to 0.25 s.
    public func idle() throws {
        try lookAtCluster()
        if let local, let problem = local.health() { throw LocalClusterError(problem) }
        Thread.sleep(forTimeInterval: delay)
        delay = min(delay * 2, 0.25)
    }

    /// Asks for the status now and notes its slots.
    public func checkStatus() throws {
        guard case .status(let status) = try session.request(.status) else { return }
        let total = status.workers.reduce(0) { $0 + $1.slots }
        slots = total
        mostSlots = max(mostSlots, total)
        if status.workers.isEmpty, !waitingNoted, Date().timeIntervalSince(lastProgress) > 10 {
            waitingNoted = true
            note("waiting: no worker is connected to \(endpoint)")
        }
    }
}

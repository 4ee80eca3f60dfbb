// A sweep computed by a cluster: `duet sweep SPEC --out CSV --coordinator ENDPOINT`
// (an existing coordinator) or `--local N` (a coordinator and N workers started here).
// `SweepRunner` keeps what the in-process sweep does (the output file, its sidecar,
// resuming, rows in point order, the summary); this executor only gets the rows.
//
// The run is the whole design: `sweep-point` tasks 0 ..< points, the spec as its blob
// (`SweepSpecBlob`), `{"points": N}` as payload; for chosen points (`duet sweep
// --adaptive`) one `sweep-chosen-point` task per chosen point, the points listed in
// the payload's `"indices"` (and in the spec blob too, so that rounds choosing as
// many points are different runs). Submitting the same spec again while
// that run is unfinished resumes it, so a client that was interrupted, or that lost
// the coordinator for a while, picks up where the run is. Results are read in index
// order from the first point the file lacks (`RESULTS` pages stop at the first
// unfinished task, so each arrives once, in order, and nothing is held in memory);
// points already in the file are skipped.
//
// The run is followed by a `RunFollower` (Cluster), as a search's rungs are: every
// request is retried with back-off (0.5 s doubling to 10 s) for as long as it takes,
// so the sweep keeps following a coordinator that restarts.

import Cluster
import ClusterCore
import Foundation
import Search

public final class ClusterSweep: SweepExecutor, @unchecked Sendable {
    public typealias Target = ClusterTarget

    let connection: ClusterConnection
    public var target: Target { connection.target }
    public let label: String
    /// One-line notes for the user (progress printer's `note`).
    let note: @Sendable (String) -> Void
    public var requestTimeout = 5.0
    private let lock = NSLock()
    /// Points left out of the file because their tasks failed, with the error.
    public private(set) var failedPoints: [(index: Int, error: String)] = []
    /// The run on the coordinator, once submitted.
    public private(set) var run: RunID?
    public private(set) var endpoint: String?

    /// Thrown when the sweep was interrupted (`shutdown()`, or the runner stopped).
    public typealias Interrupted = ClusterInterrupted

    public init(target: Target, label: String, note: @escaping @Sendable (String) -> Void) {
        connection = ClusterConnection(target: target, note: note)
        self.label = label
        self.note = note
    }

    /// Stops a local cluster's processes (Ctrl-C). Callable from any thread.
    public func shutdown() { connection.shutdown() }

    public func execute(points: [Int], of runner: SweepRunner, deliver: @escaping @Sendable (Int, SweepRow?) -> Bool) throws
        -> Int
    {
        let parallel = try connection.connect { endpoint, keys, local in
            try follow(endpoint: endpoint, keys: keys, points: points, runner: runner, deliver: deliver, local: local)
        }
        guard let parallel else { throw Interrupted() }
        if case .local(let options) = target { return max(parallel, options.workers * options.slots) }
        return parallel
    }

    private var isStopping: Bool { connection.isStopping }

    // MARK: Following a run

    private func follow(
        endpoint: String, keys: ClientKeys?, points: [Int], runner: SweepRunner,
        deliver: @Sendable (Int, SweepRow?) -> Bool, local: LocalCluster?
    ) throws -> Int {
        // Tasks are numbered by position in the sweep's indices: the point index for a
        // whole design, the position among the chosen points for adaptive ones.
        let chosen = runner.indices.count != runner.design.points
        let taskOf = chosen ? Dictionary(uniqueKeysWithValues: runner.indices.enumerated().map { ($1, $0) }) : [:]
        let tasks = chosen ? points.map { taskOf[$0]! } : points
        guard let first = tasks.first, let last = tasks.last else { return 0 }
        self.endpoint = endpoint
        // A trace base: the trace file goes to the workers as the run's blob.
        let traceFile: [UInt8]?
        do { traceFile = try SweepSpecBlob.traceFile(runner.spec) } catch { throw SweepError("\(error)") }
        guard SweepSpecBlob.roundTrips(runner.spec, traceFile: traceFile) else {
            throw SweepError("this sweep spec cannot be sent to workers exactly (it does not survive its text form); run it in-process")
        }
        let follower = try RunFollower(
            endpoint: endpoint, keys: keys, local: local, timeout: requestTimeout, note: note,
            stopping: { [weak self] in self?.isStopping ?? true })
        defer { follower.close() }
        var blobs: [BlobHash] = []
        if let traceFile {
            do { blobs.append(try follower.upload(traceFile, what: "the trace file")) } catch let error as RunFollowerError {
                throw SweepError(error.description)
            }
        }
        let submission = RunSubmission(
            kind: chosen ? SweepPointRunner.chosenKind : SweepPointRunner.kind, taskCount: runner.indices.count,
            payload: chosen ? ["points": .integer(runner.design.points), "indices": .array(runner.indices.map { .integer($0) })]
                : ["points": .integer(runner.design.points)],
            blobs: blobs, label: label, spec: SweepSpecBlob.encode(runner.spec, traceFile: traceFile, chosen: chosen ? runner.indices : nil))

        var run = try submit(submission, follower: follower)
        var next = first
        var position = 0
        while next <= last {
            if isStopping { throw Interrupted() }
            let page: ResultPage
            do {
                switch try follower.results(run, from: next, limit: 1000) {
                case .results(let received):
                    page = received
                case .unknownRun(let message):
                    // The coordinator no longer knows the run (another journal): submit again.
                    note("the coordinator says: \(message); submitting the run again")
                    run = try submit(submission, follower: follower)
                    continue
                }
            } catch let error as RunFollowerError {
                throw SweepError(error.description)
            }
            for item in page.items where item.index >= next {
                while position < tasks.count, tasks[position] < item.index { position += 1 }
                guard position < tasks.count, tasks[position] == item.index else { continue }
                let row: SweepRow?
                switch item.outcome {
                case .done(let bytes):
                    do {
                        row = try SweepPointResult.decode(bytes)
                    } catch {
                        row = nil
                        recordFailure(points[position], "\(error)")
                    }
                case .failed(let error):
                    row = nil
                    recordFailure(points[position], error)
                }
                guard deliver(position, row) else { throw Interrupted() }
                position += 1
            }
            if page.next > next {
                next = page.next
                follower.progressed()
            }
            if next > last { break }
            if page.complete {
                // The run ended without the points from `next` on (it was cancelled).
                let missing = points[position...].prefix(5).map(String.init).joined(separator: ", ")
                let missingText = "points \(missing)\(points.count - position > 5 ? ", ..." : "")"
                throw SweepError(
                    page.cancelled
                        ? "run \(run) on \(endpoint) was cancelled (by `duet cancel \(run)`, or as abandoned by its clients) "
                            + "before \(missingText) finished; run the same command again to compute them"
                        : "run \(run) on \(endpoint) ended without \(missingText); run the same command again to compute them")
            }
            if page.items.count >= 1000 { continue }
            // Nothing new: look at the cluster now and then, and say why we wait.
            do { try follower.idle() } catch let error as LocalClusterError { throw SweepError(error.description) }
        }
        if follower.mostSlots == 0 { try? follower.checkStatus() }
        return follower.mostSlots
    }

    private func recordFailure(_ index: Int, _ error: String) {
        lock.withLock { failedPoints.append((index, error)) }
    }

    private func submit(_ submission: RunSubmission, follower: RunFollower) throws -> RunID {
        let submitted: RunFollower.Submitted
        do { submitted = try follower.submit(submission) } catch let error as RunFollowerError { throw SweepError(error.description) }
        switch submitted {
        case .submitted(let run, let resumed):
            self.run = run
            note("run \(run) \(resumed ? "resumed" : "submitted") on \(follower.endpoint): \(submission.taskCount) points")
            return run
        case .refused(let message):
            throw SweepError("the coordinator refused the run: \(message)")
        }
    }
}

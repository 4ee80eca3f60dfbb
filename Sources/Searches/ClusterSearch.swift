// Runs a search's trials on a cluster: `duet search --local N` (a coordinator and N
// workers started here) or `--coordinator ENDPOINT` (an existing cluster).
//
// The search itself (ASHA, sampling, budget, trials files) stays in `SearchRun`, in
// this process; this executor turns its jobs into `train-trial` tasks and their
// results into rung reports:
//
//     pollJob ──> SUBMIT a one-task run (TrialTaskSpec + the dataset blob)
//     RESULTS ──> report(rung result) ──> promote: SUBMIT the next rung
//                                     └─> pause / stop: the slot takes a new job
//
// Every rung result is a task result in the coordinator's journal before it is
// read here, and trials.json is rewritten after every report, so:
// - a coordinator killed and restarted recovers the runs in flight from its journal
//   (this process retries until it answers again, as sweeps do);
// - a lost worker's rung is re-queued by the coordinator and trained elsewhere, from
//   scratch to where the rung starts (deterministic: the same result);
// - this process interrupted and started again resumes from trials.json; a rung whose
//   run is still unfinished on the coordinator is resumed, not repeated (same spec
//   bytes, same run).
//
// The requests, the waiting and the back-off are `RunFollower`'s (Cluster), which
// follows a sweep's run the same way.

import Cluster
import ClusterCore
import Foundation
import Search
import Surrogate

public final class ClusterSearch: SearchExecutor, @unchecked Sendable {
    public typealias Target = ClusterTarget

    let connection: ClusterConnection
    public var target: Target { connection.target }
    /// The dataset file's bytes, uploaded once as a blob.
    let datasetBytes: [UInt8]
    /// Prefix of every run's label: `search asha-out`.
    public let label: String
    let note: @Sendable (String) -> Void
    public var requestTimeout = 5.0

    private let lock = NSLock()
    private var slots = 1

    public init(target: Target, datasetPath: String, label: String, note: @escaping @Sendable (String) -> Void) throws {
        connection = ClusterConnection(target: target, note: note)
        if case .local(let options) = target { slots = options.workers * options.slots }
        do {
            datasetBytes = Array(try Data(contentsOf: URL(fileURLWithPath: datasetPath)))
        } catch {
            throw SearchError("cannot read \(datasetPath): \(error.localizedDescription)")
        }
        self.label = label
        self.note = note
    }

    /// Trials trained at once: the cluster's task slots (as last seen).
    public var parallelism: Int { lock.withLock { slots } }

    /// Trainers live on the workers; the best trial's model comes with its last rung.
    public func trainer(trial: Int, epochs: Int) -> Trainer? { nil }

    /// The model sent with the best trial's latest rung, if any.
    private var models: [Int: ModelFile] = [:]

    public func model(trial: Int, epochs: Int) -> ModelFile? {
        lock.withLock {
            guard let model = models[trial], model.summary?.epochs == epochs else { return nil }
            return model
        }
    }

    /// Keeps `model` (if any), then only the model of the best trial so far: no other
    /// can be selected at the end.
    private func keepModels(adding model: ModelFile?, trial: Int, best: Int?) {
        lock.withLock {
            if let model { models[trial] = model }
            models = models.filter { $0.key == best }
        }
    }

    /// Stops a local cluster's processes (Ctrl-C). Callable from any thread.
    public func shutdown() { connection.shutdown() }

    public func execute(_ run: SearchRun) throws {
        _ = try connection.connect { endpoint, keys, local in try follow(run, endpoint: endpoint, keys: keys, local: local) }
    }

    private var isStopping: Bool { connection.isStopping }

    /// A rung in flight: its run on the coordinator and its job.
    private struct InFlight {
        var run: RunID
        var job: TrialJob
    }

    private func follow(_ search: SearchRun, endpoint: String, keys: ClientKeys?, local: LocalCluster?) throws {
        let follower = try RunFollower(
            endpoint: endpoint, keys: keys, local: local, timeout: requestTimeout, initialDelay: 0.02, statusAtOnce: true,
            note: note, stopping: { [weak self] in self?.isStopping ?? true })
        defer { follower.close() }
        let interrupted = { [weak self] in (self?.isStopping ?? true) || search.isStopping }
        do {
            try follow(search, follower: follower, local: local, interrupted: interrupted)
        } catch is ClusterInterrupted {
            return
        } catch let error as RunFollowerError {
            throw SearchError(error.description)
        } catch let error as LocalClusterError {
            throw SearchError(error.description)
        }
    }

    private func follow(_ search: SearchRun, follower: RunFollower, local: LocalCluster?, interrupted: () -> Bool) throws {
        let dataset = try follower.upload(datasetBytes, what: "the dataset")
        guard dataset.hex == search.data.dataset.sha256 else {
            throw SearchError("the dataset changed while the search started (its hash is now \(dataset.short)); run again")
        }

        var inFlight: [InFlight] = []
        var searchDone = false
        while !(searchDone && inFlight.isEmpty) {
            if interrupted() { return }
            try follower.lookAtCluster()
            if local == nil, let total = follower.slots, total > 0 { lock.withLock { slots = total } }
            // Keep every slot busy with a rung.
            filling: while !searchDone, inFlight.count < parallelism {
                switch search.pollJob(worker: "the cluster") {
                case .run(let job):
                    inFlight.append(InFlight(run: try submit(job, search: search, dataset: dataset, follower: follower), job: job))
                case .wait: break filling
                case .done: searchDone = true
                }
            }
            var progressed = false
            var index = 0
            polling: while index < inFlight.count {
                let flight = inFlight[index]
                switch try result(of: flight, follower: follower) {
                case .running:
                    index += 1
                case .unknownRun(let message):
                    // Another journal: the coordinator lost this run, so every run id held
                    // here is void (the new journal numbers its runs from 1 again, and an
                    // old id could name another rung). Submit every rung in flight again.
                    note("the coordinator says: \(message); submitting the \(inFlight.count) rung"
                         + "\(inFlight.count == 1 ? "" : "s") in flight again")
                    for i in inFlight.indices {
                        inFlight[i].run = try submit(inFlight[i].job, search: search, dataset: dataset, follower: follower)
                    }
                    progressed = true
                    break polling
                case .failed(let error):
                    progressed = true
                    search.failed(trial: flight.job.trial, worker: "the cluster", error: error)
                    inFlight.remove(at: index)
                case .reported(let report, let received):
                    progressed = true
                    let decision = search.report(report)
                    keepModels(adding: received, trial: report.trial, best: search.snapshot.best?.trial)
                    switch decision {
                    case .promote(let epochs):
                        var next = flight.job
                        next.fromEpochs = report.epochs
                        next.rung = report.rung + 1
                        next.epochs = epochs
                        inFlight[index] = InFlight(
                            run: try submit(next, search: search, dataset: dataset, follower: follower), job: next)
                        index += 1
                    case .pause, .stop:
                        inFlight.remove(at: index)
                    }
                }
            }
            if progressed {
                follower.progressed()
                continue
            }
            try follower.idle()
        }
    }

    private func submit(_ job: TrialJob, search: SearchRun, dataset: BlobHash, follower: RunFollower) throws -> RunID {
        // Ask for the model when the rung beats every other trial so far. (A trial's
        // MAPE can rise from rung to rung, since its trainer keeps the epoch with the
        // best mean over all targets; so its own earlier rungs do not count. When
        // another trial's MAPE rises later, the final best may come without a model
        // and is retrained at the end.)
        let others = search.snapshot.records.filter { $0.trial != job.trial }
        let best = SearchSession.leaderboard(others, limit: 1).first?.validationMAPE ?? .infinity
        let submission = Self.rungSubmission(job, search: search.fingerprint, dataset: dataset, split: search.spec.split,
                                             label: label, modelBelowMAPE: best.isFinite ? best : 1e300)
        // A coordinator on another journal lacks the dataset: the follower uploads it again.
        switch try follower.submit(submission) {
        case .submitted(let run, _): return run
        case .refused(let message): throw SearchError("the coordinator refused trial \(job.trial): \(message)")
        }
    }

    /// The run of one rung. What identifies it (kind, spec bytes, task count) depends on
    /// the job alone; `modelBelowMAPE`, which depends on what the search knows when it
    /// submits, goes in the payload, so the same rung submitted again after a restart
    /// resumes its unfinished run.
    static func rungSubmission(_ job: TrialJob, search: String, dataset: BlobHash, split: SearchSplit, label: String,
                               modelBelowMAPE: Double?) -> RunSubmission
    {
        let spec = TrialTaskSpec(job: job, search: search, datasetSHA256: dataset.hex, split: split)
        return RunSubmission(
            kind: TrainTrialRunner.kind, taskCount: 1, payload: TrialTaskPayload.make(modelBelowMAPE: modelBelowMAPE),
            blobs: [dataset], label: "\(label) trial \(job.trial) to \(job.epochs) epochs", spec: spec.encoded())
    }

    private enum RungState {
        case running
        case reported(RungReport, ModelFile?)
        case failed(String)
        case unknownRun(String)
    }

    /// Whether the rung's task finished, and how. A result that is not this rung's
    /// means the run id now names another run (a coordinator on another journal).
    private func result(of flight: InFlight, follower: RunFollower) throws -> RungState {
        switch try follower.results(flight.run, from: 0, limit: 1) {
        case .results(let page):
            guard let item = page.items.first(where: { $0.index == 0 }) else {
                guard page.complete else { return .running }
                return .failed(
                    page.cancelled
                        ? "run \(flight.run) was cancelled at the coordinator (by `duet cancel`, or as abandoned by its clients)"
                        : "run \(flight.run) ended without a result")
            }
            switch item.outcome {
            case .failed(let error):
                return .failed(error)
            case .done(let bytes):
                let decoded: (report: RungReport, model: ModelFile?)
                do { decoded = try TrialTaskResult.decode(bytes) } catch { return .failed("\(error)") }
                guard decoded.report.trial == flight.job.trial, decoded.report.rung == flight.job.rung else {
                    return .unknownRun("run \(flight.run) holds trial \(decoded.report.trial)'s rung "
                                       + "\(decoded.report.rung), not trial \(flight.job.trial)'s rung \(flight.job.rung)")
                }
                return .reported(decoded.report, decoded.model)
            }
        case .unknownRun(let message):
            return .unknownRun(message)
        }
    }
}

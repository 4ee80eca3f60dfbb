// Runs a hyperparameter search: the session (ASHA, sampling, budget, records) behind
// a lock, the trials files rewritten after every event, resumption from them, and at
// the end the selection of the best trial and its model file.
//
// Scheduling is kept apart from execution: a `SearchExecutor` asks for jobs
// (`nextJob`, or `pollJob` from an event loop), trains, and reports rung results
// (`report`), failures (`failed`) and lost workers (`lost`). `InProcessSearch` runs
// trials on this process's threads; a cluster executor would turn jobs into
// `train-trial` tasks and reports into progress decisions, with the same files.
//
// Resuming: a directory whose trials.json has the same fingerprint (spec sections
// and dataset hash; the budget may differ, so a search can be extended) continues
// where it stopped. Finished trials are not run again; trials that were running
// start again from scratch (their rung results so far are kept, and training is
// deterministic, so they pass through the same states again); paused trials may
// still be promoted, retrained from scratch to their rung first.

import Dispatch
import DuetSupport
import Foundation
import Search
import Simulation
import Surrogate

/// Runs the trials of a search somewhere.
public protocol SearchExecutor: AnyObject, Sendable {
    /// How many trials run at once.
    var parallelism: Int { get }
    /// Runs jobs from `run.nextJob` (or `run.pollJob`) until there are none, reporting
    /// every rung result through `run.report`. Returns when the search is over or
    /// stopped.
    func execute(_ run: SearchRun) throws
    /// Trial `trial`'s trainer at `epochs`, if this executor still holds it (else the
    /// best trial is retrained from scratch for the final model).
    func trainer(trial: Int, epochs: Int) -> Trainer?
    /// Trial `trial`'s model file at `epochs`, if a worker sent it (metrics on every
    /// split included); asked before `trainer`.
    func model(trial: Int, epochs: Int) -> ModelFile?
}

extension SearchExecutor {
    public func model(trial: Int, epochs: Int) -> ModelFile? { nil }
}

/// Something that happened in a search, for progress output. Handlers are called
/// outside the search's lock, from the executor's threads.
public struct SearchEvent: Sendable {
    /// What happened, in a few words: `trial 7 at 30 epochs: 3.85%, promoted to 90`.
    public var line: String
    public var progress: SearchProgress
}

/// What a search did.
public struct SearchSummary: Sendable {
    /// Every trial, paused ones recorded as stopped.
    public var records: [TrialRecord]
    public var best: TrialRecord?
    /// The best trial's model (nil when interrupted or no trial produced a result).
    public var model: ModelFile?
    public var interrupted: Bool
    /// Trials recorded before this session (resumed from trials.json).
    public var resumedTrials: Int
    /// Whether the best model came from retraining its trial alone (not held in memory).
    public var bestRetrained: Bool
    /// This session's wall time, and the search's over all its sessions.
    public var seconds: Double
    public var totalSeconds: Double
    public var epochsTrained: Int
    public var parallelism: Int

    /// The trials that failed for good (their job threw, or the cluster gave up on them
    /// after its attempts). They are not run again when the search resumes.
    public var failedTrials: [TrialRecord] { records.filter { $0.state == .failed } }
}

public final class SearchRun: @unchecked Sendable {
    public let spec: SearchSpec
    public let data: TrialData
    public let directory: URL
    public let fingerprint: String
    /// Threads of each trial's trainer (1: trials run in parallel instead).
    public let trialThreads = 1
    /// Trials recorded by earlier sessions.
    public let resumedTrials: Int

    private let condition = NSCondition()
    private var session: SearchSession
    private var stopping = false
    private var failure: Error?
    private let clock: @Sendable () -> Double
    private var onEvent: @Sendable (SearchEvent) -> Void = { _ in }

    public var trialsURL: URL { directory.appendingPathComponent(TrialsDocument.fileName) }
    public var tableURL: URL { directory.appendingPathComponent(TrialsTable.fileName) }
    public var modelURL: URL { directory.appendingPathComponent("best-model.json") }

    /// Prepares the search in `directory` (created if needed), resuming the trials in
    /// its trials.json when they come from the same spec and dataset. `log` gets notes
    /// ("resuming: ...").
    public init(spec: SearchSpec, dataset: SurrogateDataset, directory: String,
                now: @escaping @Sendable () -> Double = monotonicSeconds, log: (String) -> Void = { _ in }) throws {
        self.spec = spec
        data = TrialData(dataset: dataset, split: spec.split)
        guard data.split.train.count >= 2, !data.split.validation.isEmpty else {
            throw SearchError("\(dataset.source): only \(dataset.examples.count) usable rows "
                                  + "(\(dataset.skipped.count) unstable or invalid); too few to train and validate on")
        }
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        fingerprint = TrialsDocument.fingerprint(spec: spec, datasetSHA256: dataset.sha256)
        clock = now
        do {
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        } catch {
            throw SearchError("cannot create \(directory): \(error.localizedDescription)")
        }
        var restoring: [TrialRecord] = []
        var elapsedBefore = 0.0
        let trialsURL = self.directory.appendingPathComponent(TrialsDocument.fileName)
        if FileManager.default.fileExists(atPath: trialsURL.path) {
            let existing = try TrialsDocument.read(trialsURL)
            let startOver = "use another --out, or delete \(trialsURL.path) to start over"
            guard existing.format == TrialsDocument.currentFormat else {
                throw SearchError("\(trialsURL.path) has format \(existing.format), not \(TrialsDocument.currentFormat); \(startOver)")
            }
            if existing.fingerprint != fingerprint {
                let mine = TrialsDocument(fingerprint: fingerprint, datasetSHA256: dataset.sha256, spec: spec,
                                          trialThreads: trialThreads, elapsedSeconds: 0, finished: false, best: nil, trials: [])
                var differing = mine.differingSections(from: existing)
                if existing.datasetSHA256 != dataset.sha256 { differing.append("the dataset") }
                let detail = differing.isEmpty ? "another spec" : differing.joined(separator: ", ")
                throw SearchError("\(trialsURL.path) holds a search with a different spec or dataset (\(detail)); \(startOver)")
            }
            guard existing.trialThreads == trialThreads else {
                throw SearchError("\(trialsURL.path) was trained with \(existing.trialThreads) threads per trial; \(startOver)")
            }
            guard existing.trials.enumerated().allSatisfy({ $0.offset == $0.element.trial }) else {
                throw SearchError("\(trialsURL.path): trials are not numbered 0, 1, 2, ...; \(startOver)")
            }
            restoring = existing.trials
            elapsedBefore = existing.elapsedSeconds
            let finished = restoring.filter { [.completed, .stopped, .paused, .failed].contains($0.state) }.count
            let unfinished = restoring.filter { $0.state == .running || $0.state == .queued }.count
            log("resuming: \(restoring.count) trials recorded (\(finished) at a rung or finished, \(unfinished) to run "
                + "again from scratch), \(SweepProgress.duration(elapsedBefore)) searched before")
        }
        resumedTrials = restoring.count
        session = SearchSession(spec: spec, now: now(), restoring: restoring, elapsedBefore: elapsedBefore)
    }

    // MARK: For executors

    /// The next job for `worker`; waits while trials in progress may make more work.
    /// Nil when the search is over or stopping.
    public func nextJob(worker: String) -> TrialJob? {
        condition.lock()
        while true {
            if stopping {
                condition.unlock()
                return nil
            }
            switch session.nextJob(worker: worker, now: clock()) {
            case .run(let job):
                let event = started(job, worker: worker)
                condition.unlock()
                publish(event)
                return job
            case .done:
                condition.broadcast()
                condition.unlock()
                return nil
            case .wait:
                condition.wait()
            }
        }
    }

    /// The next job for `worker` without waiting (for an event loop).
    public func pollJob(worker: String) -> SearchJob {
        let (job, event) = condition.withLock { () -> (SearchJob, Published?) in
            if stopping { return (.done, nil) }
            let job = session.nextJob(worker: worker, now: clock())
            if case .run(let trial) = job { return (job, started(trial, worker: worker)) }
            return (job, nil)
        }
        if let event { publish(event) }
        return job
    }

    /// A rung result; the answer says whether the worker carries on with the trial.
    public func report(_ report: RungReport) -> AshaDecision {
        let (decision, event) = condition.withLock { () -> (AshaDecision, Published) in
            let decision = session.report(report, now: clock())
            var line = "trial \(report.trial) at \(report.epochs) epochs: " + Self.percent(report.mape)
            switch decision {
            case .promote(let epochs): line += ", promoted to \(epochs) epochs"
            case .pause: line += spec.algorithm.rungs.count > 1 ? ", paused at rung \(report.rung)" : ""
            case .stop:
                line += report.rung == spec.algorithm.rungs.count - 1 ? ", done" : ", done (its training ended early)"
            }
            return (decision, changed(line))
        }
        publish(event)
        return decision
    }

    /// The trial's job threw: the trial is recorded as failed and not run again.
    public func failed(trial: Int, worker: String, error: String) {
        publish(condition.withLock {
            session.failed(trial: trial, error: error, worker: worker, now: clock())
            return changed("trial \(trial) failed on \(worker): \(error)")
        })
    }

    /// The worker running the trial is gone: the trial is handed out again.
    public func lost(trial: Int, worker: String) {
        publish(condition.withLock {
            session.lost(trial: trial, now: clock())
            return changed("trial \(trial) lost with \(worker); it will run again")
        })
    }

    /// True once the search is stopping (interrupted, or a file could not be written):
    /// training should pause at the next epoch.
    public var isStopping: Bool { condition.withLock { stopping } }

    /// Stops the search soon: no more jobs, trials in progress stop at their next epoch
    /// and will run again from scratch when the search is resumed.
    public func interrupt() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// A snapshot of the session (records, scheduler), for status and tests.
    public var snapshot: SearchSession { condition.withLock { session } }

    // MARK: Running

    /// Runs the search with `executor`, then writes the best trial's model (its metrics
    /// on every split, test included, computed once here). `command` is recorded in
    /// the model file.
    public func run(executor: any SearchExecutor, command: [String]? = nil,
                    events: @escaping @Sendable (SearchEvent) -> Void = { _ in }) throws -> SearchSummary {
        let started = clock()
        condition.withLock {
            onEvent = events
            persist(finished: false)
        }
        try executor.execute(self)
        let (interrupted, best, epochs) = try condition.withLock { () throws -> (Bool, TrialRecord?, Int) in
            if let failure { throw failure }
            persist(finished: false)
            return (stopping, session.best, session.records.reduce(0) { $0 + $1.epochs })
        }
        var summary = SearchSummary(
            records: snapshot.records, best: best, model: nil, interrupted: interrupted, resumedTrials: resumedTrials,
            bestRetrained: false, seconds: clock() - started, totalSeconds: snapshot.elapsedBefore + clock() - snapshot.started,
            epochsTrained: epochs, parallelism: executor.parallelism)
        if interrupted { return summary }
        guard let best else {
            throw SearchError("no trial produced a validation result (\(snapshot.records.count) trials; see \(tableURL.path))")
        }
        let (model, retrained) = try bestModel(best, executor: executor, command: command)
        try model.write(to: modelURL)
        condition.withLock { persist(finished: true) }
        summary.records = snapshot.finalRecords
        summary.model = model
        summary.bestRetrained = retrained
        summary.seconds = clock() - started
        summary.totalSeconds = snapshot.elapsedBefore + clock() - snapshot.started
        return summary
    }

    /// The best trial's model: its trainer from the executor, or the trial retrained
    /// alone (deterministic, so the same weights). Metrics on every split, with the
    /// trial's number, epochs and validation MAPE under `search`.
    private func bestModel(_ best: TrialRecord, executor: any SearchExecutor, command: [String]?) throws
        -> (ModelFile, Bool)
    {
        // A resumed search that had already written this trial's model keeps it.
        if let existing = try? ModelFile.load(from: modelURL), existing.datasetSHA256 == data.dataset.sha256,
           existing.metrics["search"]?["trial"] == Double(best.trial),
           existing.metrics["search"]?["epochs"] == Double(best.epochs),
           existing.summary?.bestMeanValidationMAPE == best.rungs.last?.meanMAPE
        {
            var model = existing
            model.metrics["search"]?["trials"] = Double(snapshot.records.count)
            return (model, false)
        }
        if var model = executor.model(trial: best.trial, epochs: best.epochs) {
            model.created.command = command
            model.metrics["search"] = [
                "trial": Double(best.trial), "epochs": Double(best.epochs),
                "validationMAPE": best.validationMAPE ?? .nan, "trials": Double(snapshot.records.count),
            ]
            return (model, false)
        }
        var trainer = executor.trainer(trial: best.trial, epochs: best.epochs)
        let retrained = trainer == nil
        if trainer == nil {
            emit("retraining trial \(best.trial) alone to \(best.epochs) epochs (its trainer is not in memory)")
            trainer = try TrialTraining.retrain(best, spec: spec, data: data)
            let mape = trainer!.best?.validationMAPE[TrialTraining.meanResponseIndex]
            if mape != best.validationMAPE {
                emit("warning: the retrained trial \(best.trial) has validation MAPE \(mape.map(Self.percent) ?? "none"), "
                     + "not \(best.validationMAPE.map(Self.percent) ?? "none") as in the search")
            }
        }
        let settings = try TrainerSearchSpace.settings(best.hyperparameters, seed: best.seed,
                                                       maxEpochs: spec.algorithm.maxEpochs, threads: trialThreads)
        var model = try data.job(settings).modelFile(trainer!, command: command)
        model.metrics["search"] = [
            "trial": Double(best.trial), "epochs": Double(best.epochs),
            "validationMAPE": best.validationMAPE ?? .nan, "trials": Double(snapshot.records.count),
        ]
        return (model, retrained)
    }

    // MARK: Helpers (call with the lock held)

    /// An event and who to tell, made under the lock and told outside it (so a handler
    /// may call back, e.g. `interrupt()`).
    typealias Published = (event: SearchEvent, handler: @Sendable (SearchEvent) -> Void)

    private func publish(_ published: Published) { published.handler(published.event) }

    private func started(_ job: TrialJob, worker: String) -> Published {
        let what: String
        if job.fromEpochs == 0 && job.rung == 0 {
            what = "trial \(job.trial) started on \(worker): "
                + job.hyperparameters.map { "\($0.name)=\(Self.short($0.value))" }.joined(separator: " ")
        } else {
            what = "trial \(job.trial) resumed on \(worker): \(job.fromEpochs) -> \(job.epochs) epochs"
        }
        return changed(what)
    }

    private func changed(_ line: String) -> Published {
        persist(finished: false)
        condition.broadcast()
        return (SearchEvent(line: line, progress: session.progress(now: clock())), onEvent)
    }

    private func emit(_ line: String) {
        publish(condition.withLock { (SearchEvent(line: line, progress: session.progress(now: clock())), onEvent) })
    }

    private func persist(finished: Bool) {
        guard failure == nil else { return }
        let records = finished ? session.finalRecords : session.records
        let document = TrialsDocument(
            fingerprint: fingerprint, datasetSHA256: data.dataset.sha256, spec: spec, trialThreads: trialThreads,
            elapsedSeconds: session.elapsedBefore + clock() - session.started, finished: finished,
            best: session.best?.trial, trials: records)
        do {
            try document.write(trialsURL)
            try TrialsTable.write(records, spec: spec, to: tableURL)
        } catch {
            failure = error
            stopping = true
        }
    }

    static func percent(_ x: Double) -> String { x.isNaN ? "nan" : String(format: "%.2f%%", x) }

    static func short(_ value: SweepValue) -> String {
        guard case .number(let x) = value else { return value.description }
        if x == x.rounded(), abs(x) < 1e9 { return String(Int(x)) }
        return String(format: "%.3g", x)
    }
}

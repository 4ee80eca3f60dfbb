// One hyperparameter search as a pure value: the spec, the ASHA scheduler, the
// sampler of new trials, every trial's record, and the budget. Events in
// (`nextJob`, `report`, `failed`, `lost`, all with an injected `now`), jobs and
// decisions out. The in-process runner (Pipeline) drives it from its threads under a
// lock; a cluster driver drives it from its coordinator loop (a job becomes a
// `train-trial` task, a rung result a progress report, a decision its answer). Both
// write the same trials files from `records`.

import Foundation

/// A trial's validation result at one rung.
public struct RungResult: Sendable, Hashable, Codable {
    public var rung: Int
    /// Epochs trained when the rung was reached (fewer than the rung's if training
    /// ended for good before it).
    public var epochs: Int
    /// Validation MAPE (%) of meanResponse: what ASHA ranks and the search selects on.
    public var mape: Double
    /// Validation MAPE (%) averaged over every target (the trainer's early-stopping criterion).
    public var meanMAPE: Double
    /// The trial's training time so far, seconds.
    public var seconds: Double
    public var worker: String

    public init(rung: Int, epochs: Int, mape: Double, meanMAPE: Double, seconds: Double, worker: String) {
        self.rung = rung
        self.epochs = epochs
        self.mape = mape
        self.meanMAPE = meanMAPE
        self.seconds = seconds
        self.worker = worker
    }
}

/// Everything known about one trial: enough to run it again alone (hyperparameters,
/// seed, epochs) and to resume the search without running it again.
public struct TrialRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        case running, queued
        /// Waiting at a rung; may still be promoted.
        case paused
        /// Paused when the search ended: ASHA stopped it at its rung.
        case stopped
        case completed, failed, cancelled
    }

    /// 0-based trial number.
    public var trial: Int
    /// The trainer's seed (initialisation and shuffling).
    public var seed: UInt64
    public var hyperparameters: [HyperparameterValue]
    /// The sampler's coordinates in [0, 1) per varied hyperparameter (TPE learns on them).
    public var coordinates: [Double]
    public var state: State
    /// Epochs trained at the last rung result (the model of this trial is the trainer's
    /// best weights after this many epochs).
    public var epochs: Int
    public var rungs: [RungResult]
    /// The last rung's validation MAPE of meanResponse.
    public var validationMAPE: Double? { rungs.last?.mape }
    /// Training time at the last rung result, seconds.
    public var seconds: Double { rungs.last?.seconds ?? 0 }
    /// The worker that ran it last.
    public var worker: String?
    public var error: String?

    public init(trial: Int, seed: UInt64, hyperparameters: [HyperparameterValue], coordinates: [Double],
                state: State = .running, epochs: Int = 0, rungs: [RungResult] = [], worker: String? = nil,
                error: String? = nil) {
        self.trial = trial
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.coordinates = coordinates
        self.state = state
        self.epochs = epochs
        self.rungs = rungs
        self.worker = worker
        self.error = error
    }

    public func value(_ name: String) -> SweepValue? { hyperparameters.first { $0.name == name }?.value }

    private enum CodingKeys: String, CodingKey {
        case trial, seed, hyperparameters, coordinates, state, epochs, rungs, validationMAPE, seconds, worker, error
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trial = try c.decode(Int.self, forKey: .trial)
        // As text: JSON numbers are not exact beyond 2^53.
        let seedText = try c.decode(String.self, forKey: .seed)
        guard let seed = UInt64(seedText) else {
            throw DecodingError.dataCorruptedError(forKey: .seed, in: c, debugDescription: "not a seed: \(seedText)")
        }
        self.seed = seed
        hyperparameters = try c.decode(HyperparameterValues.self, forKey: .hyperparameters).values
        coordinates = try c.decodeIfPresent([Double].self, forKey: .coordinates) ?? []
        state = try c.decode(State.self, forKey: .state)
        epochs = try c.decode(Int.self, forKey: .epochs)
        rungs = try c.decode([RungResult].self, forKey: .rungs)
        worker = try c.decodeIfPresent(String.self, forKey: .worker)
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(trial, forKey: .trial)
        try c.encode(String(seed), forKey: .seed)
        try c.encode(HyperparameterValues(values: hyperparameters), forKey: .hyperparameters)
        try c.encode(coordinates, forKey: .coordinates)
        try c.encode(state, forKey: .state)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(rungs, forKey: .rungs)
        try c.encodeIfPresent(validationMAPE, forKey: .validationMAPE)
        try c.encode(seconds, forKey: .seconds)
        try c.encodeIfPresent(worker, forKey: .worker)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

/// Hyperparameters as one JSON object, `{"layers": 2, "activation": "silu"}`, read
/// back in the order written.
private struct HyperparameterValues: Codable {
    var values: [HyperparameterValue]

    init(values: [HyperparameterValue]) { self.values = values }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        // Foundation's keyed containers do not keep document order; sorted is stable.
        values = try c.allKeys.sorted { $0.stringValue < $1.stringValue }
            .map { HyperparameterValue($0.stringValue, try c.decode(SweepValue.self, forKey: $0)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for value in values { try c.encode(value.value, forKey: Key(stringValue: value.name)) }
    }
}

/// A unit of work for a worker: train trial `trial` from `fromEpochs` to `epochs`.
public struct TrialJob: Sendable, Hashable {
    public var trial: Int
    public var seed: UInt64
    public var hyperparameters: [HyperparameterValue]
    /// Epochs trained before (0 for a new trial). A worker without the trial's state
    /// at `fromEpochs` (a checkpoint, or the live trainer in process) trains from
    /// scratch to it first, silently: training is deterministic, so it reaches the
    /// same state.
    public var fromEpochs: Int
    /// The rung to report at next, and its epochs.
    public var rung: Int
    public var epochs: Int
    /// Every rung's epochs; the last is the trial's `maxEpochs` (its learning-rate
    /// schedule spans all of them, wherever it stops).
    public var rungs: [Int]

    public var maxEpochs: Int { rungs[rungs.count - 1] }

    public init(trial: Int, seed: UInt64, hyperparameters: [HyperparameterValue], fromEpochs: Int, rung: Int,
                epochs: Int, rungs: [Int]) {
        self.trial = trial
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.fromEpochs = fromEpochs
        self.rung = rung
        self.epochs = epochs
        self.rungs = rungs
    }
}

/// What a free worker gets.
public enum SearchJob: Sendable, Hashable {
    case run(TrialJob)
    /// Nothing now; ask again after the next report (or a little later).
    case wait
    case done
}

/// A rung result as a worker reports it.
public struct RungReport: Sendable, Hashable {
    public var trial: Int
    public var rung: Int
    public var epochs: Int
    public var mape: Double
    public var meanMAPE: Double
    public var seconds: Double
    /// False when the trial's training ended for good (early stop, divergence).
    public var canContinue: Bool
    public var worker: String

    public init(trial: Int, rung: Int, epochs: Int, mape: Double, meanMAPE: Double, seconds: Double,
                canContinue: Bool, worker: String) {
        self.trial = trial
        self.rung = rung
        self.epochs = epochs
        self.mape = mape
        self.meanMAPE = meanMAPE
        self.seconds = seconds
        self.canContinue = canContinue
        self.worker = worker
    }
}

public struct SearchSession: Sendable {
    public let spec: SearchSpec
    public private(set) var scheduler: AshaScheduler
    public private(set) var records: [TrialRecord]
    /// When the time budget ends, on the caller's clock; nil without one.
    public let deadline: Double?
    /// When this session started (this process), and the search's time before it.
    public let started: Double
    public let elapsedBefore: Double
    private let design: Design?
    private let epochsBefore: Int

    /// A new search, or the continuation of one whose trials are `restoring` (trial i at
    /// index i). `elapsedBefore` is the time the search already ran, counted against a
    /// time budget. Unfinished trials (running or queued) are run again first.
    public init(spec: SearchSpec, now: Double, restoring: [TrialRecord] = [], elapsedBefore: Double = 0) {
        precondition(restoring.enumerated().allSatisfy { $0.offset == $0.element.trial }, "records out of order")
        self.spec = spec
        started = now
        self.elapsedBefore = elapsedBefore
        deadline = spec.budget.seconds.map { now + max(0, $0 - elapsedBefore) }
        design = spec.makeDesign()
        records = restoring.map { record in
            var record = record
            if record.state == .stopped { record.state = .paused }
            if record.state == .running { record.state = .queued }
            return record
        }
        epochsBefore = records.reduce(0) { $0 + $1.epochs }
        let algorithm = spec.algorithm
        scheduler = AshaScheduler(
            rungs: algorithm.rungs, reduction: algorithm.reduction, maxTrials: spec.budget.trials,
            restoring: records.map { AshaScheduler.Trial(state: Self.schedulerState($0.state), results: $0.rungs.map(\.mape)) })
        for index in records.indices { records[index].state = Self.recordState(scheduler.trials[index].state) }
    }

    // MARK: Events

    /// Work for worker `worker`.
    public mutating func nextJob(worker: String, now: Double) -> SearchJob {
        closeIfTimeIsUp(now)
        switch scheduler.nextJob() {
        case .wait: return .wait
        case .done: return .done
        case .start(let trial, let epochs):
            if trial == records.count {
                let coordinates = sample(trial)
                records.append(TrialRecord(
                    trial: trial, seed: spec.trialSeed(trial),
                    hyperparameters: spec.hyperparameters(at: coordinates), coordinates: coordinates))
            }
            return .run(job(trial, from: 0, rung: 0, epochs: epochs, worker: worker))
        case .resume(let trial, let fromEpochs, let epochs):
            let rung = records[trial].rungs.count
            // A trial whose training ended early sits at fewer epochs than its rung's.
            let from = records[trial].rungs.last?.epochs ?? fromEpochs
            return .run(job(trial, from: from, rung: rung, epochs: epochs, worker: worker))
        }
    }

    /// A rung result; the answer tells the worker whether to carry on with the trial.
    public mutating func report(_ report: RungReport, now: Double) -> AshaDecision {
        closeIfTimeIsUp(now)
        let trial = report.trial
        records[trial].rungs.append(RungResult(
            rung: report.rung, epochs: report.epochs, mape: report.mape, meanMAPE: report.meanMAPE,
            seconds: report.seconds, worker: report.worker))
        records[trial].epochs = report.epochs
        records[trial].worker = report.worker
        let decision = scheduler.report(trial: trial, rung: report.rung, mape: report.mape,
                                        canContinue: report.canContinue)
        syncState(trial)
        return decision
    }

    /// The trial ended with an error (it is not run again).
    public mutating func failed(trial: Int, error: String, worker: String, now: Double) {
        closeIfTimeIsUp(now)
        scheduler.failed(trial: trial)
        records[trial].error = error
        records[trial].worker = worker
        syncState(trial)
    }

    /// The worker running the trial was lost (or its job was given back): it is handed
    /// out again, before anything else.
    public mutating func lost(trial: Int, now: Double) {
        closeIfTimeIsUp(now)
        scheduler.lost(trial: trial)
        syncState(trial)
    }

    /// No more work is handed out (time budget spent, or the caller stops the search).
    public mutating func close() {
        scheduler.close()
        for index in records.indices { syncState(index) }
    }

    /// Whether no trial is running or queued.
    public var isIdle: Bool { !scheduler.hasWorkInProgress }

    // MARK: Results

    /// The best trial so far: the lowest validation MAPE of meanResponse at its last
    /// rung (ties: lower trial number), among trials that did not fail.
    public var best: TrialRecord? { leaderboard(limit: 1).first }

    /// The best trials, best first.
    public func leaderboard(limit: Int = 10) -> [TrialRecord] { Self.leaderboard(records, limit: limit) }

    /// The best of `records` by validation MAPE of meanResponse, best first (ties: lower
    /// trial number); failed trials and trials without a result are left out.
    public static func leaderboard(_ records: [TrialRecord], limit: Int = 10) -> [TrialRecord] {
        Array(records.filter { $0.state != .failed && $0.validationMAPE.map { !$0.isNaN } == true }
            .sorted { ($0.validationMAPE!, $0.trial) < ($1.validationMAPE!, $1.trial) }
            .prefix(limit))
    }

    /// The records as the search ends: paused trials become `stopped`.
    public var finalRecords: [TrialRecord] {
        records.map { record in
            var record = record
            if record.state == .paused { record.state = .stopped }
            return record
        }
    }

    public func progress(now: Double) -> SearchProgress {
        var counts: [TrialRecord.State: Int] = [:]
        for record in records { counts[record.state, default: 0] += 1 }
        let epochs = records.reduce(0) { $0 + $1.epochs }
        // Epochs the running trials still train to reach their rung (at least).
        let inFlight = records.indices.filter { scheduler.trials[$0].state == .running }.reduce(0) { sum, trial in
            sum + max(0, scheduler.rungs[min(scheduler.topRung, records[trial].rungs.count)] - records[trial].epochs)
        }
        return SearchProgress(
            counts: counts, started: records.count, maxTrials: spec.budget.trials,
            best: best.map { ($0.trial, $0.validationMAPE!) }, epochsTrained: epochs,
            expectedEpochs: spec.budget.trials.map { expectedEpochs(trials: $0) },
            epochsInFlight: inFlight, epochsThisRun: epochs - epochsBefore, elapsed: now - started, remainingTime: deadline.map { max(0, $0 - now) },
            closed: scheduler.isClosed)
    }

    /// The epochs a search of `trials` trials is expected to train (a rough guide for
    /// the ETA): the share of trials that get from rung k - 1 to rung k is 1 / reduction,
    /// or what the search has promoted so far if more. Asynchronous promotions run above
    /// 1 / reduction (a rung's first results are promoted before the rung fills), and
    /// counting only 1 / reduction made the ETA run out early (the demo's search trained
    /// 2,680 epochs against 1,920 expected). Once the search is over, this is what it trained.
    public func expectedEpochs(trials: Int) -> Int {
        let rungs = scheduler.rungs
        var total = 0.0
        var share = Double(trials)
        var previous = 0
        for (rung, epochs) in rungs.enumerated() {
            if rung > 0 { share *= promotedShare(into: rung) }
            total += share * Double(epochs - previous)
            previous = epochs
        }
        // budget.trials may be any Int: the product may not fit one (Int(_:) would trap).
        return Int(exactly: total.rounded()) ?? .max
    }

    /// Of the trials that finished rung `rung - 1`, the share promoted to rung `rung`
    /// (finished it, or training for it), and at least 1 / reduction; 1 / reduction
    /// alone until three have finished.
    func promotedShare(into rung: Int) -> Double {
        let floor = 1 / Double(max(1, scheduler.reduction))
        let finished = records.filter { $0.rungs.count >= rung }.count
        guard finished >= 3 else { return floor }
        let promoted = records.indices.filter { trial in
            records[trial].rungs.count > rung
                || (records[trial].rungs.count == rung && scheduler.trials[trial].state == .running)
        }.count
        return max(floor, Double(promoted) / Double(finished))
    }

    // MARK: Helpers

    private mutating func closeIfTimeIsUp(_ now: Double) {
        if let deadline, now >= deadline, !scheduler.isClosed { close() }
    }

    private func job(_ trial: Int, from: Int, rung: Int, epochs: Int, worker: String) -> TrialJob {
        TrialJob(trial: trial, seed: records[trial].seed, hyperparameters: records[trial].hyperparameters,
                 fromEpochs: from, rung: rung, epochs: epochs, rungs: scheduler.rungs)
    }

    private mutating func syncState(_ trial: Int) {
        records[trial].state = Self.recordState(scheduler.trials[trial].state)
    }

    /// Coordinates of a new trial: design point `trial`, or TPE's proposal.
    private func sample(_ trial: Int) -> [Double] {
        guard let design else { return [] }
        if spec.algorithm.sampler == .tpe {
            let history = records.compactMap { record -> TPESampler.Observation? in
                guard record.coordinates.count == spec.parameters.count else { return nil }
                return TPESampler.Observation(coordinates: record.coordinates,
                                              results: record.rungs.map(\.mape))
            }
            let sampler = TPESampler(ranges: spec.parameters.map(\.range), seed: spec.seed)
            if let proposal = sampler.propose(trial: trial, history: history) { return proposal }
        }
        return design.point(trial)
    }

    static func schedulerState(_ state: TrialRecord.State) -> AshaScheduler.Trial.State {
        switch state {
        case .running: return .running
        case .queued: return .queued
        case .paused, .stopped: return .paused
        case .completed: return .completed
        case .failed: return .failed
        case .cancelled: return .cancelled
        }
    }

    static func recordState(_ state: AshaScheduler.Trial.State) -> TrialRecord.State {
        switch state {
        case .running: return .running
        case .queued: return .queued
        case .paused: return .paused
        case .completed: return .completed
        case .failed: return .failed
        case .cancelled: return .cancelled
        }
    }
}

/// Where a search stands, for progress lines and status.
public struct SearchProgress: Sendable {
    public var counts: [TrialRecord.State: Int]
    /// Trials started so far, and the most the budget allows.
    public var started: Int
    public var maxTrials: Int?
    public var best: (trial: Int, mape: Double)?
    public var epochsTrained: Int
    /// The epochs a trial budget is expected to cost (nil with a time budget only).
    public var expectedEpochs: Int?
    /// Epochs the running trials have left to their next rung (before this many are
    /// trained, the search cannot end).
    public var epochsInFlight: Int
    /// Epochs trained by this process (the rate of the ETA).
    public var epochsThisRun: Int
    public var elapsed: Double
    public var remainingTime: Double?
    public var closed: Bool

    public func count(_ state: TrialRecord.State) -> Int { counts[state] ?? 0 }

    /// Seconds left: the epochs left at this run's rate, capped by the time budget. The
    /// epochs left are the expected total's remainder, or the running trials' way to
    /// their rungs if that is more (a rough guide: epochs of wide networks cost more).
    public var eta: Double? {
        var eta: Double?
        if let expectedEpochs, epochsThisRun > 0, elapsed > 0 {
            let left = max(expectedEpochs - epochsTrained, epochsInFlight)
            eta = Double(left) * elapsed / Double(epochsThisRun)
        }
        if let remainingTime { eta = min(eta ?? remainingTime, remainingTime) }
        return eta
    }

    /// `12/64 trials, 2 running, best 3.41% (trial 7), ETA 4m 10s`
    public var shortLine: String {
        var line = "\(started)\(maxTrials.map { "/\($0)" } ?? "") trials, \(count(.running)) running"
        if let best { line += ", best " + String(format: "%.2f%%", best.mape) + " (trial \(best.trial))" }
        if closed {
            line += ", time is up"
        } else if let eta {
            line += ", ETA \(SweepProgress.duration(eta))"
        }
        return line
    }
}

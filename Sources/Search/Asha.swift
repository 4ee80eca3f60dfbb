// Asynchronous successive halving (ASHA; Li et al. 2020, "A System for Massively
// Parallel Hyperparameter Tuning", algorithm 2) as a pure value: events in
// (`report`, `failed`, `lost`, `close`), decisions out (`nextJob`, the answer to
// `report`). No clock, no threads: whoever runs the trials drives it.
//
// Rungs are epoch counts r_k = minEpochs x reduction^k below maxEpochs, then
// maxEpochs. A trial trains to r_0, reports its validation MAPE, and waits at rung
// 0; a free worker asks `nextJob`, which looks at the rungs from the top down for a
// trial that is among the best floor(n_k / reduction) of the n_k trials that have
// completed rung k and has not been promoted from it, promotes the first one found
// (best first) to rung k + 1, and starts a new trial only when no rung has one.
// Nothing ever waits for a rung to fill: with too few results to promote, a worker
// starts a new trial. Ties in MAPE go to the lower trial number; a MAPE that is not
// a number (a diverged trial) ranks last.
//
// `report` answers at once for the worker that reported: `.promote` when the trial
// it just trained is exactly what `nextJob` would hand out next (so the worker
// carries on with the trial it holds, no checkpoint moves), `.pause` when it waits at
// its rung, `.stop` when it has reached the top rung or cannot train further.
//
// With random or Sobol search the scheduler has a single rung (maxEpochs): every
// trial trains to the end and none is promoted.

/// What a free worker should do next.
public enum AshaJob: Sendable, Hashable {
    /// Train trial `trial` from scratch to `epochs` (rung 0's epochs for a new trial; a
    /// lost trial that had reached no rung starts again too).
    case start(trial: Int, epochs: Int)
    /// Train trial `trial` on from `fromEpochs` (where its last rung left it) to
    /// `epochs`: a promotion, or a lost trial handed out again.
    case resume(trial: Int, fromEpochs: Int, epochs: Int)
    /// Nothing to do now; trials in progress may make more work. Ask again after the
    /// next report.
    case wait
    /// The search is over.
    case done
}

/// The answer to a rung result.
public enum AshaDecision: Sendable, Hashable {
    /// Keep training the trial, to `epochs`.
    case promote(epochs: Int)
    /// Release the worker; the trial waits at its rung and may be promoted later.
    case pause
    /// The trial is finished: top rung reached, or it could not train further.
    case stop
}

public struct AshaScheduler: Sendable, Equatable {
    /// The epochs of each rung, increasing; the last is the maximum.
    public let rungs: [Int]
    public let reduction: Int
    /// Trials started at most (nil: no limit, the caller closes the search).
    public var maxTrials: Int?
    public private(set) var trials: [Trial]
    /// Once closed (time budget spent), no job is handed out and nothing is promoted.
    public private(set) var isClosed = false
    /// Trials whose job was lost, to hand out again first, oldest loss first.
    private var requeued: [Int] = []

    public struct Trial: Sendable, Hashable {
        public enum State: String, Sendable, Hashable, Codable {
            /// A worker is training it towards rung `results.count`.
            case running
            /// Its job was lost; it will be handed out again.
            case queued
            /// Waiting at rung `results.count - 1`; may be promoted.
            case paused
            /// Top rung reached, or training ended for good (early stop, divergence).
            case completed
            /// An error ended it.
            case failed
            /// Closed before it reached any rung (its job was lost when time ran out).
            case cancelled
        }

        public var state: State
        /// Validation MAPE at each rung reached, rung 0 first.
        public var results: [Double]

        public init(state: State, results: [Double] = []) {
            self.state = state
            self.results = results
        }

        /// The rung it waits at (paused) or last completed; nil before rung 0.
        public var rung: Int? { results.isEmpty ? nil : results.count - 1 }
    }

    /// A scheduler over `rungs` (see `rungs(minEpochs:maxEpochs:reduction:)`).
    /// `restoring` gives the trials of an earlier run of the same search (trial i at
    /// index i): running and queued ones are handed out again first, in trial order.
    public init(rungs: [Int], reduction: Int, maxTrials: Int? = nil, restoring: [Trial] = []) {
        precondition(!rungs.isEmpty && zip(rungs, rungs.dropFirst()).allSatisfy { $0 < $1 } && rungs[0] >= 1,
                     "ASHA rungs must be increasing epoch counts >= 1, got \(rungs)")
        precondition(reduction >= 1 && (reduction >= 2 || rungs.count == 1), "ASHA needs a reduction factor >= 2")
        self.rungs = rungs
        self.reduction = reduction
        self.maxTrials = maxTrials
        trials = restoring
        for index in trials.indices {
            precondition(trials[index].results.count <= rungs.count, "trial \(index) has more results than rungs")
            switch trials[index].state {
            case .running, .queued:
                trials[index].state = .queued
                requeued.append(index)
            case .paused where trials[index].results.isEmpty:
                trials[index].state = .queued
                requeued.append(index)
            case .paused, .completed, .failed, .cancelled:
                break
            }
        }
    }

    /// minEpochs x reduction^k for every k where that is below maxEpochs, then maxEpochs.
    public static func rungs(minEpochs: Int, maxEpochs: Int, reduction: Int) -> [Int] {
        precondition(minEpochs >= 1 && minEpochs <= maxEpochs, "need 1 <= minEpochs <= maxEpochs")
        guard reduction >= 2 else { return [maxEpochs] }
        var rungs: [Int] = []
        var epochs = minEpochs
        while epochs < maxEpochs {
            rungs.append(epochs)
            let (next, overflow) = epochs.multipliedReportingOverflow(by: reduction)
            if overflow { break }
            epochs = next
        }
        rungs.append(maxEpochs)
        return rungs
    }

    public var topRung: Int { rungs.count - 1 }

    // MARK: Events

    /// Work for a free worker.
    public mutating func nextJob() -> AshaJob {
        if isClosed { return hasWorkInProgress ? .wait : .done }
        if !requeued.isEmpty {
            let trial = requeued.removeFirst()
            trials[trial].state = .running
            let reached = trials[trial].results.count
            return reached == 0 ? .start(trial: trial, epochs: rungs[0])
                : .resume(trial: trial, fromEpochs: rungs[reached - 1], epochs: rungs[reached])
        }
        if let (trial, rung) = promotable() {
            trials[trial].state = .running
            return .resume(trial: trial, fromEpochs: rungs[rung], epochs: rungs[rung + 1])
        }
        if maxTrials.map({ trials.count < $0 }) ?? true {
            trials.append(Trial(state: .running))
            return .start(trial: trials.count - 1, epochs: rungs[0])
        }
        return hasWorkInProgress ? .wait : .done
    }

    /// Trial `trial`, running, reached rung `rung` (the next one it was training for)
    /// with validation MAPE `mape`. `canContinue` is false when its training ended for
    /// good before or at this rung (early stop, divergence): it then counts at this
    /// rung like any other result but is never promoted.
    public mutating func report(trial: Int, rung: Int, mape: Double, canContinue: Bool = true) -> AshaDecision {
        precondition(trials.indices.contains(trial) && trials[trial].state == .running,
                     "report for trial \(trial), which is not running")
        precondition(rung == trials[trial].results.count,
                     "trial \(trial) reported rung \(rung) but was training for rung \(trials[trial].results.count)")
        trials[trial].results.append(mape)
        if rung == topRung || !canContinue {
            trials[trial].state = .completed
            return .stop
        }
        trials[trial].state = .paused
        // Promote at once only if this is the job the worker would be given anyway.
        guard !isClosed, requeued.isEmpty, let (next, from) = promotable(), next == trial else { return .pause }
        trials[trial].state = .running
        return .promote(epochs: rungs[from + 1])
    }

    /// Trial `trial` failed with an error: it gets no more work; its rung results stay.
    public mutating func failed(trial: Int) {
        precondition(trials.indices.contains(trial), "no trial \(trial)")
        requeued.removeAll { $0 == trial }
        trials[trial].state = .failed
    }

    /// The worker running trial `trial` was lost: its job is handed out again, before
    /// anything else, to train from its last rung (or from scratch) to the same target.
    public mutating func lost(trial: Int) {
        precondition(trials.indices.contains(trial), "no trial \(trial)")
        guard trials[trial].state == .running else { return }
        if isClosed {
            trials[trial].state = trials[trial].results.isEmpty ? .cancelled : .paused
            return
        }
        trials[trial].state = .queued
        requeued.append(trial)
    }

    /// No more jobs (the time budget is spent): queued trials will not run again.
    /// Running trials still report; none is promoted.
    public mutating func close() {
        isClosed = true
        for trial in requeued {
            trials[trial].state = trials[trial].results.isEmpty ? .cancelled : .paused
        }
        requeued.removeAll()
    }

    // MARK: Queries

    /// Whether a trial is running or queued.
    public var hasWorkInProgress: Bool {
        trials.contains { $0.state == .running || $0.state == .queued }
    }

    /// Trials in each state.
    public func count(_ state: Trial.State) -> Int { trials.filter { $0.state == state }.count }

    /// The trials that have completed rung `rung`, best first (ties: lower trial number).
    public func ranking(rung: Int) -> [Int] {
        trials.indices.filter { trials[$0].results.count > rung }
            .sorted { a, b in
                let x = Self.rankable(trials[a].results[rung]), y = Self.rankable(trials[b].results[rung])
                return x != y ? x < y : a < b
            }
    }

    /// The trial `nextJob` would promote, and the rung it would leave: from the top
    /// rung down, the best paused trial among the top floor(n_k / reduction) at rung k.
    public func promotable() -> (trial: Int, rung: Int)? {
        guard rungs.count > 1 else { return nil }
        for rung in stride(from: topRung - 1, through: 0, by: -1) {
            let ranked = ranking(rung: rung)
            let quota = ranked.count / reduction
            for trial in ranked.prefix(quota)
            where trials[trial].state == .paused && trials[trial].results.count == rung + 1 {
                return (trial, rung)
            }
        }
        return nil
    }

    /// NaN (diverged) ranks after every number.
    private static func rankable(_ mape: Double) -> Double { mape.isNaN ? .infinity : mape }
}

// Runs replications in parallel and turns them into the report of MODEL.md.

import Foundation

/// The result of simulating one configuration.
public struct SimulationReport: Sendable {
    /// One estimate per metric, in `MetricCatalog.names(stations:)` order for the
    /// configuration's stations; empty when unstable.
    public var estimates: [Estimate]
    /// One entry per station (nil: no name given).
    public var stationNames: [String?]
    /// Jobs per replication in the final round, and replications.
    public var jobsPerReplication: Int
    public var replications: Int
    public var stable: Bool
    public var unstableReason: String?
    /// With a precision target: whether it was met before `maxJobs`.
    public var precisionTarget: Double?
    public var precisionMet: Bool?
    /// Wall-clock seconds spent simulating.
    public var seconds: Double
    /// Whether the response metrics were corrected by control variates.
    public var controlVariates = false

    /// Jobs simulated in the final round, all replications together.
    public var jobs: Int { jobsPerReplication * replications }

    public func estimate(_ name: String) -> Estimate? {
        guard stable, let index = MetricCatalog.index(of: name), index < estimates.count else { return nil }
        return estimates[index]
    }
}

/// A round of a run with a precision target that missed it: what ran, how close it
/// came, and what runs next.
public struct PrecisionRound: Sendable, Equatable {
    /// Jobs per replication, and replications, of the round.
    public var jobs: Int
    public var replications: Int
    /// The 95% half-width of meanResponse over its mean, and the target.
    public var relativeHalfWidth: Double
    public var target: Double
    /// The next round's jobs per replication, or its replications in all for a trace
    /// replay (`nextIsReplications`).
    public var next: Int
    public var nextIsReplications = false
    /// Wall time so far.
    public var seconds: Double
}

public enum Simulator {
    /// Simulates `config` as its `run` settings say: `replications` independent
    /// replications of `jobs` jobs on `threads` threads, adding jobs until the
    /// precision target is met when one is set. The numbers do not depend on the
    /// thread count.
    /// `onRound` hears of every round that missed the precision target, before the
    /// next one runs (progress for long runs). With `controls` the response metrics
    /// of every replication are corrected by control variates before they are
    /// averaged (`ControlCoefficients`; `run.controlVariates` asks for them, and
    /// Analytic's `ControlVariates.coefficients(for:)` makes them); nil: plain averages.
    public static func simulate(_ config: TandemConfig, controls: ControlCoefficients? = nil,
                                onRound: (PrecisionRound) -> Void = { _ in }) -> SimulationReport {
        var report = simulateRounds(config, controls: controls, onRound: onRound)
        report.controlVariates = controls != nil
        return report
    }

    /// `simulate`'s work, before the report says whether it was corrected.
    static func simulateRounds(_ config: TandemConfig, controls: ControlCoefficients?,
                               onRound: (PrecisionRound) -> Void) -> SimulationReport {
        let started = DispatchTime.now().uptimeNanoseconds
        if let trace = config.trace {
            return simulate(config, trace: trace, controls: controls, started: started, onRound: onRound)
        }
        let settings = config.run
        guard let target = settings.precision else {
            var report = makeReport(config, jobs: settings.jobs,
                                    outcomes: runReplications(config, jobs: settings.jobs, controls: controls))
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return report
        }
        // Each round goes on from the last one (ContinuedReplication): rounds cost
        // only the jobs they add, so they step up along a fine ladder.
        let ladder = RoundLadder(jobs: settings.jobs, maxJobs: settings.maxJobs, warmup: settings.warmup)
        let replications = (0..<settings.replications).map {
            ContinuedReplication(config, replication: $0, ladder: ladder)
        }
        var step = 0
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        while true {
            let jobs = ladder.lengths[step], firstKept = ladder.firstKeptJobs[step]
            let outcomes = inParallel(count: replications.count, threads: config.run.threads) {
                replications[$0].measure(jobs: jobs, firstKeptJob: firstKept)
            }
            var report = makeReport(config, jobs: jobs, outcomes: outcomes.map { $0.map { $0.judged(controls) } })
            guard report.stable else {
                report.seconds = elapsed()
                return report
            }
            let response = report.estimates[0]
            let relative = (response.ci95 ?? .infinity) / response.mean
            if relative <= target || step == ladder.lengths.count - 1 {
                // The round reported: its percentiles too.
                let complete = inParallel(count: outcomes.count, threads: config.run.threads) { index in
                    outcomes[index].map { $0.complete(controls) }
                }
                report = makeReport(config, jobs: jobs, outcomes: complete)
                report.seconds = elapsed()
                report.precisionTarget = target
                report.precisionMet = relative <= target
                return report
            }
            report.seconds = elapsed()
            // The half-width shrinks like 1/sqrt(jobs): aim a little past the target.
            step = ladder.step(after: step, reaching: Double(jobs) * (relative / target) * (relative / target) * 1.2)
            onRound(PrecisionRound(jobs: jobs, replications: settings.replications, relativeHalfWidth: relative,
                                   target: target, next: ladder.lengths[step], seconds: report.seconds))
        }
    }

    /// A trace replay: every replication replays the whole trace, so a precision
    /// target adds replications (not jobs), up to `run.maxJobs` jobs in all.
    static func simulate(_ config: TandemConfig, trace: ArrivalTrace, controls: ControlCoefficients?,
                         started: UInt64, onRound: (PrecisionRound) -> Void) -> SimulationReport {
        let settings = config.run
        let jobs = trace.jobCount
        var outcomes = runReplications(config, jobs: jobs, replications: 0..<settings.replications,
                                       controls: controls)
        while true {
            var report = makeReport(config, jobs: jobs, outcomes: outcomes)
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            guard report.stable, let target = settings.precision else { return report }
            let response = report.estimates[0]
            let relative = (response.ci95 ?? .infinity) / response.mean
            report.precisionTarget = target
            report.precisionMet = relative <= target
            let cap = max(settings.replications, settings.maxJobs / jobs)
            if relative <= target || outcomes.count >= cap { return report }
            // The half-width shrinks like 1/sqrt(replications), as in the renewal case.
            let have = outcomes.count
            let needed = Double(have) * (relative / target) * (relative / target) * 1.2
            let next = min(cap, max(2 * have, Int(min(needed, 1e9))))
            onRound(PrecisionRound(jobs: jobs, replications: have, relativeHalfWidth: relative, target: target,
                                   next: next, nextIsReplications: true, seconds: report.seconds))
            outcomes += runReplications(config, jobs: jobs, replications: have..<next, controls: controls)
        }
    }

    /// One replication: the metrics over its measurement window (corrected by
    /// `controls` when given), or why it was unstable.
    public static func runReplication(_ config: TandemConfig, replication: Int, jobs: Int,
                                      controls: ControlCoefficients? = nil) -> Result<MetricVector, UnstableRun>
    {
        // A trace has as many jobs as rows, at most.
        let jobs = config.trace.map { min(jobs, $0.jobCount) } ?? jobs
        let firstKept = firstKeptJob(jobs: jobs, warmup: config.run.warmup)
        var accumulator = MetricsAccumulator(firstKeptJob: firstKept, stations: config.stations.count)
        let engine = TandemEngine(config: config, replication: replication)
        let (outcome, start, end) = engine.run(jobs: jobs, firstKeptJob: firstKept, observer: &accumulator)
        switch outcome {
        case .completed:
            return .success(accumulator.adjusted(accumulator.metrics(windowStart: start, windowEnd: end,
                                                                     servers: config.stations.map(\.servers)),
                                                 by: controls))
        case .unstable(let reason):
            return .failure(UnstableRun(reason: reason))
        }
    }

    /// Jobs numbered below this are warm-up: floor(warmup x N), leaving at least one.
    public static func firstKeptJob(jobs: Int, warmup: Double) -> Int {
        min(jobs - 1, Int((warmup * Double(jobs)).rounded(.down)))
    }

    static func runReplications(_ config: TandemConfig, jobs: Int, controls: ControlCoefficients? = nil)
        -> [Result<MetricVector, UnstableRun>]
    {
        runReplications(config, jobs: jobs, replications: 0..<config.run.replications, controls: controls)
    }

    /// Runs the replications numbered `replications`, results in that order.
    static func runReplications(_ config: TandemConfig, jobs: Int, replications: Range<Int>,
                                controls: ControlCoefficients? = nil) -> [Result<MetricVector, UnstableRun>]
    {
        inParallel(count: replications.count, threads: config.run.threads) {
            runReplication(config, replication: replications.lowerBound + $0, jobs: jobs, controls: controls)
        }
    }

    /// `body(0 ..< count)` on up to `threads` threads (default: every core), results
    /// in index order. Each worker takes the next index; results land in their own
    /// slot, so the order of completion does not matter.
    static func inParallel<Value>(count: Int, threads: Int?, _ body: @Sendable (Int) -> Value) -> [Value] {
        let threads = max(1, min(count, threads ?? ProcessInfo.processInfo.activeProcessorCount))
        let results = ResultSlots<Value>(count: count)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let slot = results.claimNext() { results.store(body(slot), at: slot) }
        }
        return results.values()
    }

    static func makeReport(_ config: TandemConfig, jobs: Int, outcomes: [Result<MetricVector, UnstableRun>])
        -> SimulationReport
    {
        var report = SimulationReport(
            estimates: [], stationNames: config.stations.map(\.name), jobsPerReplication: jobs,
            replications: outcomes.count, stable: true, unstableReason: nil, precisionTarget: nil,
            precisionMet: nil, seconds: 0)
        var vectors: [MetricVector] = []
        for (replication, outcome) in outcomes.enumerated() {
            switch outcome {
            case .success(let vector): vectors.append(vector)
            case .failure(let unstable):
                report.stable = false
                report.unstableReason = report.unstableReason ?? "replication \(replication + 1): \(unstable.reason)"
            }
        }
        if report.stable {
            report.estimates = MetricCatalog.names(stations: config.stations.count).indices.map { metric in
                Estimate(replications: vectors.map { $0[metric] })
            }
        }
        return report
    }
}

public struct UnstableRun: Error, Sendable {
    public var reason: String
}

/// Fixed slots filled by concurrent workers, with a shared counter handing out work.
public final class ResultSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]
    private var next = 0
    private var stored = 0

    public init(count: Int) { slots = Array(repeating: nil, count: count) }

    /// The next index no worker has taken yet; nil when all are taken.
    public func claimNext() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }

    /// Stores a result; returns how many are stored so far (for progress).
    @discardableResult
    public func store(_ value: Value, at index: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        slots[index] = value
        stored += 1
        return stored
    }

    /// Every result, in index order (call once all are stored).
    public func values() -> [Value] { slots.map { $0! } }
}

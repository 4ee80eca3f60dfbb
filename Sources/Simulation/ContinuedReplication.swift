// A precision target without wasted work: each replication goes on from where the
// last round stopped instead of starting again with more jobs.
//
// A run of N jobs stops arriving after job N and lets every job complete (MODEL.md,
// fine point 6), and drops the first floor(warmup x N) jobs. So a round's numbers
// come from a copy of the pass that drains, while the pass itself waits to take
// more arrivals; and the measurements are kept by stretches of job numbers, so that
// the window can start later when the run grows. Run lengths step along a ladder
// fixed in advance, which puts every warm-up boundary on a stretch boundary. A
// round's metrics are those of a fresh run of that length, up to the rounding of
// sums added in another order.

import Foundation

/// The run lengths (jobs per replication) a precision target steps through: from
/// `jobs` up by quarter octaves to `maxJobs`, and the first kept job of each.
public struct RoundLadder: Sendable, Equatable {
    public let lengths: [Int]
    public let firstKeptJobs: [Int]

    /// Each length is at least this factor above the one before (rounding aside).
    public static let step = pow(2, 0.25)

    public init(jobs: Int, maxJobs: Int, warmup: Double) {
        var lengths = [jobs]
        var power = 1
        while lengths[lengths.count - 1] < maxJobs {
            let next = min(maxJobs, Int((Double(jobs) * pow(Self.step, Double(power))).rounded()))
            if next > lengths[lengths.count - 1] { lengths.append(next) }
            power += 1
        }
        self.lengths = lengths
        firstKeptJobs = lengths.map { Simulator.firstKeptJob(jobs: $0, warmup: warmup) }
    }

    /// The first kept jobs without repeats, ascending: where measurements are split.
    public var boundaries: [Int] {
        var seen: [Int] = []
        for job in firstKeptJobs where seen.last != job { seen.append(job) }
        return seen
    }

    /// The step after `step` whose length reaches `needed` jobs, or the last one.
    public func step(after step: Int, reaching needed: Double) -> Int {
        lengths.indices.first { $0 > step && Double(lengths[$0]) >= needed } ?? lengths.count - 1
    }
}

/// One replication's measurements split by job number at `boundaries`: stretch i
/// holds jobs boundaries[i] ..< boundaries[i + 1], the tail every job from the last
/// boundary on; jobs before the first are warm-up in every round. A stretch keeps
/// its responses as they are (histogram values), since a stretch the window leaves
/// behind must come out of the percentiles again; the tail, never dropped, counts
/// them by value (`ResponseCounts`).
struct SegmentedMetrics: TandemObserver {
    let boundaries: [Int]
    /// A row per stretch (`MeasurementMemory`).
    var stretches: MeasurementMemory
    var stretchCount: Int { stretches.rows }
    var tail: MetricsAccumulator
    /// The stretch the last job looked up fell in: jobs come nearly in order.
    var cursor = 0

    init(boundaries: [Int], stations: Int) {
        precondition(!boundaries.isEmpty && zip(boundaries, boundaries.dropFirst()).allSatisfy { $0 < $1 },
                     "boundaries ascend")
        self.boundaries = boundaries
        stretches = MeasurementMemory(rows: boundaries.count - 1, stations: stations)
        tail = MetricsAccumulator(firstKeptJob: boundaries[boundaries.count - 1], stations: stations)
    }

    mutating func ownMemory() {
        if !isKnownUniquelyReferenced(&stretches) { stretches = stretches.copy() }
        tail.ownMemory()
    }

    /// The stretch holding `job`: -1 before the first boundary, `stretchCount` for the tail.
    @inline(__always)
    mutating func stretch(of job: Int) -> Int {
        let count = stretchCount
        if job >= boundaries[count] { return count }
        if job < boundaries[0] { return -1 }
        if job >= boundaries[cursor] && job < boundaries[cursor + 1] { return cursor }
        var low = 0, high = count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if boundaries[middle] <= job { low = middle } else { high = middle - 1 }
        }
        cursor = low
        return low
    }

    @inline(__always)
    mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                             completion: Double) {
        let index = stretch(of: job)
        if index == stretchCount {
            tail.stationJob(station: station, job: job, enter: enter, release: release, dispatch: dispatch,
                            completion: completion)
        } else if index >= 0 {
            stretches.sums(row: index, station: station).pointee.addJob(enter: enter, release: release,
                                                                        dispatch: dispatch, completion: completion)
        }
    }

    @inline(__always)
    mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                             cold: Bool, service: Double) {
        let index = stretch(of: firstJob)
        if index == stretchCount {
            tail.invocation(station: station, firstJob: firstJob, jobs: jobs, dispatch: dispatch,
                            completion: completion, cold: cold, service: service)
        } else if index >= 0 {
            stretches.sums(row: index, station: station).pointee.addInvocation(
                jobs: jobs, busy: completion - dispatch, cold: cold, service: service)
        }
    }

    @inline(__always)
    mutating func jobCompleted(job: Int, arrival: Double, completion: Double) {
        let index = stretch(of: job)
        if index == stretchCount {
            tail.jobCompleted(job: job, arrival: arrival, completion: completion)
        } else if index >= 0 {
            stretches.addResponse(completion - arrival, row: index)
        }
    }

    @inline(__always)
    mutating func batchArrived(firstJob: Int, gap: Double, size: Int) {
        let index = stretch(of: firstJob)
        if index == stretchCount {
            tail.batchArrived(firstJob: firstJob, gap: gap, size: size)
        } else if index >= 0 {
            stretches.totals[index].arrivals.add(gap: gap, size: size)
        }
    }

    /// An invocation whose jobs all fall in one stretch (nearly always: jobs come nearly
    /// in order, and a stretch is thousands long) updates that stretch's sums once;
    /// one that straddles a boundary goes job by job. The same additions in the same
    /// order either way.
    @inline(__always)
    mutating func invocationWithJobs(station: Int, jobs: UnsafePointer<Int>, enters: UnsafePointer<Double>,
                                     arrivals: UnsafePointer<Double>, count: Int, release: Double, dispatch: Double,
                                     completion: Double, cold: Bool, service: Double, leaving: Bool) {
        let index = stretch(of: jobs[0])
        let low = index < 0 ? Int.min : boundaries[index]
        let high = index == stretchCount ? Int.max : boundaries[index + 1]
        var shared = true
        for i in 1..<max(1, count) where jobs[i] < low || jobs[i] >= high { shared = false }
        guard shared else {
            invocationJobByJob(station: station, jobs: jobs, enters: enters, arrivals: arrivals, count: count,
                               release: release, dispatch: dispatch, completion: completion, cold: cold,
                               service: service, leaving: leaving)
            return
        }
        if index == stretchCount {
            tail.invocationWithJobs(station: station, jobs: jobs, enters: enters, arrivals: arrivals, count: count,
                                    release: release, dispatch: dispatch, completion: completion, cold: cold,
                                    service: service, leaving: leaving)
        } else if index >= 0 {
            let row = stretches.sums(row: index, station: station)
            var sums = row.pointee
            for i in 0..<count {
                sums.addJob(enter: enters[i], release: release, dispatch: dispatch, completion: completion)
            }
            sums.addInvocation(jobs: count, busy: completion - dispatch, cold: cold, service: service)
            row.pointee = sums
            if leaving {
                for i in 0..<count { stretches.addResponse(completion - arrivals[i], row: index) }
            }
        }
    }

    /// Every measurement of jobs from `firstKeptJob` (a boundary) on, as one accumulator.
    func accumulator(from firstKeptJob: Int) -> MetricsAccumulator {
        guard let first = boundaries.firstIndex(of: firstKeptJob) else {
            preconditionFailure("job \(firstKeptJob) is not a boundary")
        }
        var merged = tail
        merged.ownMemory()
        let counts = merged.memory.counts.unsafelyUnwrapped
        for index in first..<stretchCount {
            merged.memory.totals[0].add(stretches.totals[index])
            for value in stretches.responses[index].buffer { counts.pointee.record(value) }
            for station in 0..<stretches.stations {
                merged.memory.sums[station].add(stretches.sums(row: index, station: station).pointee)
            }
        }
        return merged
    }

    /// Frees the stretches before `firstKeptJob`: no later round keeps them.
    mutating func forget(before firstKeptJob: Int) {
        ownMemory()
        for index in 0..<stretchCount where boundaries[index + 1] <= firstKeptJob { stretches.clear(row: index) }
    }
}

/// One replication of a run with a precision target, kept between rounds. Each round
/// uses it from one thread at a time (`Simulator` hands out whole replications).
final class ContinuedReplication: @unchecked Sendable {
    private var pass: Pass<SegmentedMetrics>
    private let servers: [Int]

    init(_ config: TandemConfig, replication: Int, ladder: RoundLadder) {
        let boundaries = ladder.boundaries
        pass = Pass(config: config, replication: replication,
                    observer: SegmentedMetrics(boundaries: boundaries, stations: config.stations.count),
                    marks: boundaries)
        servers = config.stations.map(\.servers)
    }

    deinit { pass.deallocate() }

    /// The metrics of a run of `jobs` jobs whose first kept job is `firstKeptJob` (a
    /// ladder step, larger than the last round's): arrivals go on to `jobs`, and a
    /// copy of the pass drains while this one can go on later. The percentiles wait
    /// until asked for (`RoundMeasurement.complete`): only the round reported needs them.
    func measure(jobs: Int, firstKeptJob: Int) -> Result<RoundMeasurement, UnstableRun> {
        pass.arrive(until: jobs)
        if let reason = pass.unstableReason { return .failure(UnstableRun(reason: reason)) }
        var twin = pass.copy()
        defer { twin.deallocate() }
        if case .unstable(let reason) = twin.drain() { return .failure(UnstableRun(reason: reason)) }
        guard let mark = pass.marks.firstIndex(of: firstKeptJob) else {
            preconditionFailure("job \(firstKeptJob) is not a ladder boundary")
        }
        let merged = twin.observer.accumulator(from: firstKeptJob)
        let metrics = merged.metrics(windowStart: twin.markTimes[mark], windowEnd: twin.lastArrival, servers: servers,
                                     percentiles: false)
        pass.observer.forget(before: firstKeptJob)
        return .success(RoundMeasurement(partial: metrics, accumulator: merged))
    }
}

/// One replication's round with a precision target: every metric but the response
/// percentiles (NaN, so that nothing reports them by mistake), and the measurements
/// that give them.
struct RoundMeasurement: Sendable {
    /// The round's plain metrics with the percentiles NaN.
    let partial: MetricVector
    let accumulator: MetricsAccumulator

    /// The metrics without percentiles, corrected by `controls` (nil: plain): enough
    /// to judge the precision.
    func judged(_ controls: ControlCoefficients? = nil) -> MetricVector { accumulator.adjusted(partial, by: controls) }

    /// Every metric, as `MetricsAccumulator.metrics` gives them, corrected by `controls`.
    func complete(_ controls: ControlCoefficients? = nil) -> MetricVector {
        var values = partial
        accumulator.fillPercentiles(&values)
        return accumulator.adjusted(values, by: controls)
    }
}

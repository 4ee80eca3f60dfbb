// The metrics of MODEL.md: their names, how one replication measures them, and how
// replications combine into estimates with 95% confidence half-widths.

import Histogram

/// The metrics in a fixed order. Names are MODEL.md's user-facing ones; station
/// metrics are dotted and 1-based (`stations.2.meanQueueWait`), as in datasets.
public enum MetricCatalog {
    public static let systemMetrics = [
        "meanResponse", "p50Response", "p95Response", "p99Response", "throughput", "meanJobsInSystem",
    ]
    public static let stationMetrics = [
        "meanResponse", "meanBufferWait", "meanQueueWait", "utilization", "meanBatchSize",
        "coldStartFraction", "instanceSecondsPerJob",
    ]
    /// The stations of the dataset and surrogate layout (`names`): two, the tandem.
    /// A simulation of N stations reports `names(stations: N)`.
    public static let stationCount = 2

    /// Every metric's flat name for the two-station layout of datasets and model files.
    public static let names: [String] = names(stations: stationCount)

    /// Every metric's flat name for a chain of `stations` stations, in the order of
    /// that chain's `MetricVector`: the system metrics, then station by station.
    public static func names(stations: Int) -> [String] {
        systemMetrics + (0..<stations).flatMap { station in
            stationMetrics.map { "stations.\(station + 1).\($0)" }
        }
    }

    /// Position of a flat name in a `MetricVector` (of any number of stations: the
    /// caller checks that station K exists).
    public static func index(of name: String) -> Int? {
        if let system = systemMetrics.firstIndex(of: name) { return system }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "stations", let k = Int(parts[1]), k >= 1, String(k) == String(parts[1]),
              let metric = stationMetrics.firstIndex(of: String(parts[2])) else { return nil }
        return stationIndex(k - 1, metric)
    }

    /// Position of station metric `metric` (0-based, `stationMetrics` order) of
    /// station `station` (0-based) in a `MetricVector`.
    public static func stationIndex(_ station: Int, _ metric: Int) -> Int {
        systemMetrics.count + station * stationMetrics.count + metric
    }
}

/// One value per metric, in `MetricCatalog.names(stations:)` order.
public typealias MetricVector = [Double]

/// Percentiles come from an HDR histogram of response times in nanoseconds with
/// three significant digits: a reported percentile is within 0.1% (relative) of the
/// nearest-rank value, plus at most 1 ns of truncation.
public enum PercentileMethod {
    public static let description =
        "HDR histogram (3 significant digits): nearest-rank percentiles within 0.1% relative error"
    static let nanosecondsPerSecond = 1e9
    static let highestTrackable: UInt64 = 1 << 62

    /// What a response of `seconds` records in the histogram: whole nanoseconds,
    /// huge values at the top of the trackable range.
    @inline(__always)
    static func histogramValue(seconds: Double) -> UInt64 {
        let nanoseconds = seconds * nanosecondsPerSecond
        return nanoseconds < 4e18 ? UInt64(nanoseconds) : highestTrackable - 1
    }
}

/// Accumulates one replication's measurements (the engine's observer).
public struct MetricsAccumulator: TandemObserver, Sendable {
    let firstKeptJob: Int
    /// One row: per station, sums over kept jobs and over counted invocations; the
    /// kept jobs' responses summed, counted and counted by value for the percentiles
    /// (`ResponseCounts`); and the kept batches.
    var memory: MeasurementMemory

    public init(firstKeptJob: Int, stations: Int) {
        self.firstKeptJob = firstKeptJob
        memory = MeasurementMemory(rows: 1, stations: stations, countsResponses: true)
    }

    var stations: [StationSums] { memory.stationSums(row: 0) }
    var responseSum: Double { memory.totals[0].responseSum }
    var keptJobs: Int { memory.totals[0].keptJobs }
    var arrivals: ArrivalSums { memory.totals[0].arrivals }

    /// Takes memory of its own if a copy shares it (`MeasurementMemory`).
    public mutating func ownMemory() {
        if !isKnownUniquelyReferenced(&memory) { memory = memory.copy() }
    }

    @inline(__always)
    public mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                                    completion: Double) {
        guard job >= firstKeptJob else { return }
        memory.sums[station].addJob(enter: enter, release: release, dispatch: dispatch, completion: completion)
    }

    @inline(__always)
    public mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                                    cold: Bool, service: Double) {
        // An invocation counts when its first job is kept (fine point 6).
        guard firstJob >= firstKeptJob else { return }
        memory.sums[station].addInvocation(jobs: jobs, busy: completion - dispatch, cold: cold, service: service)
    }

    @inline(__always)
    public mutating func jobCompleted(job: Int, arrival: Double, completion: Double) {
        guard job >= firstKeptJob else { return }
        let response = completion - arrival
        memory.totals[0].responseSum += response
        memory.totals[0].keptJobs += 1
        memory.counts.unsafelyUnwrapped.pointee.record(PercentileMethod.histogramValue(seconds: response))
    }

    /// The per-job calls fused: the station's sums are read and written once per
    /// invocation, not once per job and again for the invocation. The same additions
    /// in the same order, so the same numbers.
    @inline(__always)
    public mutating func invocationWithJobs(station: Int, jobs: UnsafePointer<Int>, enters: UnsafePointer<Double>,
                                            arrivals: UnsafePointer<Double>, count: Int, release: Double,
                                            dispatch: Double, completion: Double, cold: Bool, service: Double,
                                            leaving: Bool) {
        var sums = memory.sums[station]
        for i in 0..<count where jobs[i] >= firstKeptJob {
            sums.addJob(enter: enters[i], release: release, dispatch: dispatch, completion: completion)
        }
        if jobs[0] >= firstKeptJob {
            sums.addInvocation(jobs: count, busy: completion - dispatch, cold: cold, service: service)
        }
        memory.sums[station] = sums
        if leaving {
            for i in 0..<count { jobCompleted(job: jobs[i], arrival: arrivals[i], completion: completion) }
        }
    }

    /// `invocationWithJobs` of one job: the same additions in the same order.
    @inline(__always)
    public mutating func invocationOfOne(station: Int, job: Int, enter: Double, arrival: Double, release: Double,
                                         dispatch: Double, completion: Double, cold: Bool, service: Double,
                                         leaving: Bool) {
        guard job >= firstKeptJob else { return }
        var sums = memory.sums[station]
        sums.addJob(enter: enter, release: release, dispatch: dispatch, completion: completion)
        sums.addInvocation(jobs: 1, busy: completion - dispatch, cold: cold, service: service)
        memory.sums[station] = sums
        if leaving { jobCompleted(job: job, arrival: arrival, completion: completion) }
    }

    @inline(__always)
    public mutating func batchArrived(firstJob: Int, gap: Double, size: Int) {
        guard firstJob >= firstKeptJob else { return }
        memory.totals[0].arrivals.add(gap: gap, size: size)
    }

    /// The replication's metrics over the window from the first kept job's arrival
    /// to the last arrival; `servers` has one entry per station. Without `percentiles`
    /// the response percentiles are left NaN (`fillPercentiles` computes them): the
    /// histogram's percentile scan is generic code that is not specialised, as slow as
    /// a short run's simulation, and a precision target's rounds need only means.
    public func metrics(windowStart: Double, windowEnd: Double, servers: [Int], percentiles: Bool = true) -> MetricVector {
        precondition(servers.count == stations.count, "one server count per station")
        var values = MetricVector(repeating: .nan, count: MetricCatalog.stationIndex(stations.count, 0))
        let elapsed = windowEnd - windowStart
        let kept = Double(keptJobs)
        values[0] = responseSum / kept
        if percentiles { fillPercentiles(&values) }
        values[4] = kept / elapsed
        // Little's law over the window: the time-average number in system is the
        // kept jobs' total sojourn divided by the window length.
        values[5] = responseSum / elapsed
        for (station, sums) in stations.enumerated() {
            let jobs = Double(sums.keptJobs)
            let base = MetricCatalog.stationIndex(station, 0)
            values[base + 0] = sums.response / jobs
            values[base + 1] = sums.bufferWait / jobs
            values[base + 2] = sums.queueWait / jobs
            values[base + 3] = sums.busySeconds / (Double(servers[station]) * elapsed)
            values[base + 4] = Double(sums.invocationJobs) / Double(sums.invocations)
            values[base + 5] = Double(sums.coldStarts) / Double(sums.invocations)
            values[base + 6] = sums.busySeconds / Double(sums.invocationJobs)
        }
        return values
    }

    /// The run's control variates (`ControlCoefficients.means` order): the mean
    /// gap between kept batches, their mean drawn size, and each station's mean
    /// service draw over its counted invocations; NaN where nothing was counted
    /// (a replayed trace has no arrival controls).
    func controlMeans() -> [Double] {
        [arrivals.gaps / Double(arrivals.batches), Double(arrivals.jobs) / Double(arrivals.batches)]
            + stations.map { $0.serviceDraws / Double($0.invocationJobs) }
    }

    /// `values` (this replication's `metrics`, with or without percentiles) with the
    /// response metrics corrected by control variates: each less the sum over controls
    /// of its coefficient times the control's deviation from its mean. The percentiles
    /// and meanJobsInSystem take meanResponse's correction in proportion to their
    /// value (a response distribution that stretches with the load); each station's
    /// meanResponse takes its own. Other metrics stay as they are; nil: all do.
    func adjusted(_ values: MetricVector, by controls: ControlCoefficients?) -> MetricVector {
        guard let controls else { return values }
        let deviations = zip(controlMeans(), controls.means).map { measured, mean in
            measured.isFinite ? measured - mean : 0
        }
        func correction(_ coefficients: [Double]) -> Double {
            zip(coefficients, deviations).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var result = values
        let mean = values[0]
        let total = correction(controls.response)
        result[0] = mean - total
        for index in [1, 2, 3, 5] where values[index].isFinite {
            result[index] = values[index] - total * values[index] / mean
        }
        for station in stations.indices {
            let index = MetricCatalog.stationIndex(station, 0)
            result[index] = values[index] - correction(controls.stations[station])
        }
        return result
    }

    /// Sets the response percentiles of `values` (a vector of `metrics`).
    func fillPercentiles(_ values: inout MetricVector) {
        guard keptJobs > 0 else {
            for index in 1...3 { values[index] = .nan }
            return
        }
        let complete = memory.counts.unsafelyUnwrapped.pointee.histogram()
        for (index, q) in [(1, 50.0), (2, 95.0), (3, 99.0)] {
            values[index] = Double(complete.valueAtPercentile(q)) / PercentileMethod.nanosecondsPerSecond
        }
    }
}

/// One station's running sums within a replication.
struct StationSums {
    var response = 0.0
    var bufferWait = 0.0
    var queueWait = 0.0
    var keptJobs = 0
    var invocations = 0
    var invocationJobs = 0
    var coldStarts = 0
    var busySeconds = 0.0
    /// The service draws of the counted invocations' jobs (a control variate's input).
    var serviceDraws = 0.0

    @inline(__always)
    mutating func addJob(enter: Double, release: Double, dispatch: Double, completion: Double) {
        response += completion - enter
        bufferWait += release - enter
        queueWait += dispatch - release
        keptJobs += 1
    }

    @inline(__always)
    mutating func addInvocation(jobs: Int, busy: Double, cold: Bool, service: Double) {
        invocations += 1
        invocationJobs += jobs
        if cold { coldStarts += 1 }
        busySeconds += busy
        serviceDraws += service
    }

    /// Adds another stretch of the same station's sums.
    mutating func add(_ other: StationSums) {
        response += other.response
        bufferWait += other.bufferWait
        queueWait += other.queueWait
        keptJobs += other.keptJobs
        invocations += other.invocations
        invocationJobs += other.invocationJobs
        coldStarts += other.coldStarts
        busySeconds += other.busySeconds
        serviceDraws += other.serviceDraws
    }
}

/// Sums over the arriving batches a replication counts: their gaps, number and drawn jobs.
struct ArrivalSums {
    var gaps = 0.0
    var batches = 0
    var jobs = 0

    @inline(__always)
    mutating func add(gap: Double, size: Int) {
        gaps += gap
        batches += 1
        jobs += size
    }

    mutating func add(_ other: ArrivalSums) {
        gaps += other.gaps
        batches += other.batches
        jobs += other.jobs
    }
}

/// How a run's response metrics are corrected by control variates (Lavenberg and
/// Welch): quantities of the run whose means are known (the mean gap between
/// batches, the mean batch size, each station's mean service time) fall above or
/// below those means by chance, and the responses move with them. Subtracting a
/// fixed multiple of each deviation leaves every replication's estimate unbiased
/// (the deviations average zero) and the replications independent, so the
/// Student-t half-width holds as before; the variance drops most when the multiple
/// is the response's sensitivity to that mean, which the analytical baseline
/// supplies (`ControlVariates.coefficients` in Analytic). A coefficient of 0 leaves
/// its control out.
public struct ControlCoefficients: Sendable, Equatable {
    /// Each control's mean, in the controls' order: the gap between batches
    /// (seconds), the batch size (jobs), then each station's service time (seconds).
    public var means: [Double]
    /// d meanResponse / d mean, per control.
    public var response: [Double]
    /// Per station: d stations.K.meanResponse / d mean, per control.
    public var stations: [[Double]]

    public init(means: [Double], response: [Double], stations: [[Double]]) {
        precondition(response.count == means.count && stations.allSatisfy { $0.count == means.count },
                     "one coefficient per control")
        self.means = means
        self.response = response
        self.stations = stations
    }
}

/// A mean across replications with its Student-t 95% half-width (nil with one
/// replication).
public struct Estimate: Sendable, Equatable {
    public var mean: Double
    public var ci95: Double?

    public init(mean: Double, ci95: Double?) {
        self.mean = mean
        self.ci95 = ci95
    }

    /// Combines independent replications' values.
    public init(replications values: [Double]) {
        let n = Double(values.count)
        mean = values.reduce(0, +) / n
        guard values.count > 1 else { ci95 = nil; return }
        let m = mean
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        ci95 = StudentT.quantile975(degreesOfFreedom: values.count - 1) * (variance / n).squareRoot()
    }
}

public enum StudentT {
    /// Two-sided 95% critical values t(0.975, df) for df = 1 ... 30.
    static let table: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]

    /// t(0.975, df): the table up to 30, then the Cornish-Fisher expansion around
    /// the normal quantile (error below 1e-4 for df > 30).
    public static func quantile975(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1)
        if df <= table.count { return table[df - 1] }
        let z = 1.959964
        let v = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
    }
}

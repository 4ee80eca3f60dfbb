// The tandem batch model of MODEL.md as plain values.
//
// These types hold what a configuration file says, already validated: a
// `TandemConfig` that exists is one the engine can simulate (except for stability,
// which `TandemConfig.offeredLoads` and the engine check).

/// A positive random quantity described by its mean and squared coefficient of
/// variation, with the family MODEL.md derives from the scv:
/// 0 deterministic, (0, 1) Erlang-k with k = round(1/scv), 1 exponential,
/// > 1 two-phase hyperexponential with balanced means.
public struct MomentSpec: Sendable, Equatable, Hashable, Codable {
    public var mean: Double
    public var scv: Double

    public init(mean: Double, scv: Double = 1) {
        self.mean = mean
        self.scv = scv
    }
}

/// How many jobs one arriving batch carries.
public enum BatchSizeSpec: Sendable, Equatable, Hashable, Codable {
    /// Every batch carries exactly `size` jobs.
    case deterministic(Int)
    /// Support 1, 2, ... with the given mean (>= 1).
    case geometric(mean: Double)
    /// Uniform on 1 ... 2*mean-1; `mean` is a whole or half number >= 1.
    case uniform(mean: Double)
    /// `values[i]` with probability `weights[i] / sum(weights)`.
    case empirical(values: [Int], weights: [Double])

    /// The mean batch size E[B].
    public var mean: Double {
        switch self {
        case .deterministic(let size): return Double(size)
        case .geometric(let mean), .uniform(let mean): return mean
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            return zip(values, weights).reduce(0) { $0 + Double($1.0) * $1.1 } / total
        }
    }

    /// The squared coefficient of variation of the batch size.
    public var scv: Double {
        switch self {
        case .deterministic: return 0
        case .geometric(let mean): return mean <= 1 ? 0 : 1 - 1 / mean  // variance (1-p)/p^2, p = 1/mean
        case .uniform(let mean):
            let n = 2 * mean - 1  // equally likely values 1 ... n
            return ((n * n - 1) / 12) / (mean * mean)
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            let second = zip(values, weights).reduce(0) { $0 + Double($1.0 * $1.0) * $1.1 } / total
            return second / (self.mean * self.mean) - 1
        }
    }

    /// The name used in configuration files and datasets (`batch.dist`).
    public var distName: String {
        switch self {
        case .deterministic: return "deterministic"
        case .geometric: return "geometric"
        case .uniform: return "uniform"
        case .empirical: return "empirical"
        }
    }
}

/// One serverless function of the tandem (MODEL.md, "Stations").
public struct StationConfig: Sendable, Equatable, Hashable, Codable {
    public var name: String?
    /// Concurrency limit: most instances alive at once.
    public var servers: Int
    /// Per-job work X, seconds.
    public var service: MomentSpec
    /// Fixed time added to every invocation, seconds.
    public var setup: Double
    /// K: most jobs in one invocation.
    public var maxBatch: Int
    /// tau: longest a job waits in the batch buffer, seconds.
    public var timeout: Double
    /// Start-up delay of a new instance; mean 0 means no delay (a cold start is
    /// still counted).
    public var coldStart: MomentSpec
    /// Idle seconds after which an instance is reclaimed; `.infinity` keeps it forever.
    public var keepAlive: Double

    public init(
        name: String? = nil, servers: Int = 1, service: MomentSpec, setup: Double = 0,
        maxBatch: Int = 1, timeout: Double = 0, coldStart: MomentSpec = MomentSpec(mean: 0, scv: 1),
        keepAlive: Double = .infinity
    ) {
        self.name = name
        self.servers = servers
        self.service = service
        self.setup = setup
        self.maxBatch = maxBatch
        self.timeout = timeout
        self.coldStart = coldStart
        self.keepAlive = keepAlive
    }
}

/// How long to simulate and how to estimate (MODEL.md, "Estimation").
public struct RunSettings: Sendable, Equatable, Hashable, Codable {
    /// Jobs per replication (with `precision`, the first try).
    public var jobs: Int
    public var replications: Int
    /// Fraction of each replication's jobs dropped as warm-up.
    public var warmup: Double
    public var seed: UInt64
    /// When set, jobs are added until the 95% half-width of `meanResponse` is
    /// below `precision` x mean, up to `maxJobs` per replication.
    public var precision: Double?
    public var maxJobs: Int
    /// Worker threads for replications; nil means all cores.
    public var threads: Int?
    /// Estimate the response metrics with control variates (`ControlCoefficients`):
    /// each replication's value less the analytical baseline's sensitivities times
    /// how far its own random inputs (gaps, batch sizes, service times) fell from
    /// their means. Off (nil or false): the plain averages MODEL.md defines. Optional
    /// so that settings without it encode (spec blobs, fingerprints) as before.
    public var controlVariates: Bool?

    public var usesControlVariates: Bool { controlVariates == true }

    public init(
        jobs: Int = 100_000, replications: Int = 5, warmup: Double = 0.1, seed: UInt64 = 1,
        precision: Double? = nil, maxJobs: Int = 20_000_000, threads: Int? = nil, controlVariates: Bool? = nil
    ) {
        self.jobs = jobs
        self.replications = replications
        self.warmup = warmup
        self.seed = seed
        self.precision = precision
        self.maxJobs = maxJobs
        self.threads = threads
        self.controlVariates = controlVariates
    }
}

/// Interrupted Poisson (on/off, Markov-modulated) batch arrivals (MODEL.md,
/// "Workload"): the source alternates exponential on and off periods; while on,
/// batches arrive as a Poisson process at rate / onFraction, while off none do.
/// The long-run rate is the configuration's `arrivalRate`.
public struct OnOffSpec: Sendable, Equatable, Hashable, Codable {
    /// Long-run fraction of time the source is on, in (0, 1]; 1 is a Poisson process.
    public var onFraction: Double
    /// Mean on period, seconds.
    public var meanOn: Double

    public init(onFraction: Double, meanOn: Double) {
        self.onFraction = onFraction
        self.meanOn = meanOn
    }

    /// Mean off period, seconds: meanOn x (1 - onFraction) / onFraction.
    public var meanOff: Double { meanOn * (1 - onFraction) / onFraction }

    /// The squared coefficient of variation of the inter-batch time at long-run
    /// batch rate `rate`: 1 + 2 lambda_on alpha / (alpha + beta)^2 with
    /// lambda_on = rate / onFraction, alpha = 1 / meanOn, beta = 1 / meanOff.
    public func interArrivalScv(rate: Double) -> Double {
        guard onFraction < 1 else { return 1 }
        let alpha = 1 / meanOn, beta = 1 / meanOff
        return 1 + 2 * (rate / onFraction) * alpha / ((alpha + beta) * (alpha + beta))
    }
}

/// A complete configuration: workload, two stations, run settings.
public struct TandemConfig: Sendable, Equatable, Hashable {
    /// Batch arrivals: `mean` is the mean inter-batch time (1 / rate). Renewal
    /// arrivals of the family MODEL.md derives from `scv`, unless `onOff` is set.
    /// With a trace, the trace's own inter-batch mean and scv (for loads and messages).
    public var interArrival: MomentSpec
    /// On/off arrivals at rate 1 / `interArrival.mean`; when set, `interArrival.scv`
    /// is not used (the loader leaves it at 1) and `arrivalScv` is the process's.
    public var onOff: OnOffSpec?
    /// Markov-modulated Poisson arrivals (`arrival.mmpp`) instead of renewal ones;
    /// `interArrival` then holds its mean gap and, as scv, its long-window index of
    /// dispersion (`MMPPSpec.asymptoticDispersion`), for loads, rows and QNA.
    public var mmpp: MMPPSpec?
    /// With a trace, the trace's batch sizes as an empirical distribution.
    public var batch: BatchSizeSpec
    /// When set, arrivals replay this trace instead of the renewal process: each
    /// replication replays it once and `run.jobs` is not used.
    public var trace: ArrivalTrace?
    /// Trace replay and Markov-modulated arrivals: the traffic this many times as fast
    /// as written (every arrival time divided by it; batches, work and the stations'
    /// seconds unchanged), so a sweep or a plan can ask "at 1.5 times today's traffic".
    /// `mmpp` and `interArrival` hold the process compressed by it. 1 otherwise.
    /// Change it with `setRateMultiplier`, which rescales `interArrival` and `mmpp` too.
    public private(set) var rateMultiplier: Double
    /// Markov-modulated arrivals only: every mean hold of the sources this many times as
    /// long as written (`MMPPSpec.holdsScaled(by:)`), so a sweep can ask what longer or
    /// shorter bursts of the same traffic do. `mmpp` and `interArrival` hold the process
    /// with it applied. 1 otherwise. Change it with `setHoldMultiplier`.
    public private(set) var holdMultiplier: Double = 1
    public var stations: [StationConfig]
    public var run: RunSettings

    public init(arrivalRate: Double, arrivalScv: Double = 1, onOff: OnOffSpec? = nil,
                batch: BatchSizeSpec = .deterministic(1), stations: [StationConfig], run: RunSettings = RunSettings()) {
        self.interArrival = MomentSpec(mean: 1 / arrivalRate, scv: arrivalScv)
        self.onOff = onOff
        self.rateMultiplier = 1
        self.batch = batch
        self.stations = stations
        self.run = run
    }

    /// Markov-modulated Poisson arrivals: `mmpp` as written, `rateMultiplier` times as fast.
    public init(mmpp: MMPPSpec, rateMultiplier: Double = 1, batch: BatchSizeSpec = .deterministic(1),
                stations: [StationConfig], run: RunSettings = RunSettings()) {
        let compressed = rateMultiplier == 1 ? mmpp : mmpp.timeScaled(by: rateMultiplier)
        self.interArrival = MomentSpec(mean: 1 / compressed.meanRate, scv: compressed.asymptoticDispersion)
        self.mmpp = compressed
        self.rateMultiplier = rateMultiplier
        self.batch = batch
        self.stations = stations
        self.run = run
    }

    /// Arrivals replayed from `trace`; `interArrival` and `batch` describe the
    /// trace (mean inter-batch time over its span, empirical batch sizes).
    public init(trace: ArrivalTrace, rateMultiplier: Double = 1, stations: [StationConfig],
                run: RunSettings = RunSettings()) {
        let gaps = trace.interBatchTimes
        let mean = gaps.isEmpty ? Double.infinity : gaps.reduce(0, +) / Double(gaps.count)
        let second = gaps.isEmpty ? 0 : gaps.reduce(0) { $0 + $1 * $1 } / Double(gaps.count)
        let scv = gaps.isEmpty || mean == 0 ? 0 : max(0, second / (mean * mean) - 1)
        var counts: [Int: Int] = [:]
        for size in trace.batchSizes { counts[size, default: 0] += 1 }
        let values = counts.keys.sorted()
        self.interArrival = MomentSpec(mean: mean / rateMultiplier, scv: scv)
        self.batch = values.count == 1 ? .deterministic(values[0])
            : .empirical(values: values, weights: values.map { Double(counts[$0]!) })
        self.trace = trace
        self.stations = stations
        self.run = run
        self.rateMultiplier = rateMultiplier
    }

    /// Sets `rateMultiplier`, rescaling `interArrival.mean`, which describes the
    /// replayed or modulated stream, and compressing `mmpp` to match.
    public mutating func setRateMultiplier(_ multiplier: Double) {
        interArrival.mean *= rateMultiplier / multiplier
        mmpp = mmpp?.timeScaled(by: multiplier / rateMultiplier)
        rateMultiplier = multiplier
    }

    /// Sets `holdMultiplier`, lengthening or shortening the holds of `mmpp` to match
    /// and updating its long-run dispersion in `interArrival.scv` (the rate stays).
    public mutating func setHoldMultiplier(_ multiplier: Double) {
        guard let mmpp else {
            holdMultiplier = multiplier
            return
        }
        let scaled = mmpp.holdsScaled(by: multiplier / holdMultiplier)
        self.mmpp = scaled
        interArrival.scv = scaled.asymptoticDispersion
        holdMultiplier = multiplier
    }

    /// Records the multipliers as the ones already applied to `mmpp` and
    /// `interArrival`, which keep their values: for a configuration rebuilt from a
    /// stored copy of the process it simulates (a sweep blob's base, a twin).
    public mutating func restoreMultipliers(rate: Double, hold: Double = 1) {
        rateMultiplier = rate
        holdMultiplier = hold
    }

    /// Mean work multiplier of the jobs (a trace's work column; 1 otherwise).
    public var workMean: Double { trace?.workMean ?? 1 }

    /// Batches per second (long-run, also for on/off arrivals).
    public var arrivalRate: Double { 1 / interArrival.mean }

    /// The squared coefficient of variation of the inter-batch time the simulator
    /// really draws: the realised scv of the renewal family (1/k for Erlang-k), or
    /// the on/off process's.
    public var arrivalScv: Double {
        if let onOff { return onOff.interArrivalScv(rate: arrivalRate) }
        return MomentSampler(interArrival).realisedScv
    }

    /// Jobs per second entering station 1 (and, in steady state, station 2).
    public var jobRate: Double { arrivalRate * batch.mean }

    /// The offered load of each station: the fraction of its servers' capacity the
    /// job stream needs when every invocation is full (setup spread over `maxBatch`
    /// jobs). This is a lower bound of the real load (smaller invocations pay setup
    /// more often, cold starts add time), so a load >= 1 is surely unstable.
    public var offeredLoads: [Double] {
        stations.indices.map { offeredLoad(station: $0) }
    }

    /// `offeredLoads[k]` alone (the domain check reads each station's, for every row).
    public func offeredLoad(station k: Int) -> Double {
        let station = stations[k]
        return jobRate * (station.service.mean * workMean + station.setup / Double(station.maxBatch))
            / Double(station.servers)
    }
}

/// A station's label for messages: "station 2 (cloud)".
public func stationLabel(_ index: Int, _ station: StationConfig) -> String {
    if let name = station.name, !name.isEmpty { return "station \(index + 1) (\(name))" }
    return "station \(index + 1)"
}

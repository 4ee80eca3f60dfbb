// How bursty a stream of arrivals is at each time scale: the index of dispersion for
// counts, IDC(t) = Var N(t) / E N(t), where N(t) is the number of jobs arriving in a
// window of t seconds. A Poisson stream of single jobs has IDC 1 at every scale; a
// compound Poisson stream E[B^2] / E[B]; a renewal stream of single jobs tends to its
// inter-arrival scv as t grows. A trace whose bursts last minutes has an IDC that
// keeps growing with t, which no renewal process matches: `duet fit-trace` prints the
// trace's curve beside its fits' curves so the gap shows, scale by scale.

/// Windows of one width laid back to back from time 0, and the running mean and
/// variance of the jobs counted in each (Welford's update; a run of empty windows
/// joins in one step, so long idle gaps cost nothing).
struct WindowCounts {
    let width: Double
    private(set) var windows = 0
    private var current = 0
    private var count = 0.0
    private var mean = 0.0
    private var m2 = 0.0

    init(width: Double) { self.width = width }

    /// Counts `jobs` arriving at `time` (seconds from the origin, non-decreasing).
    mutating func add(time: Double, jobs: Double) {
        let window = Int((time / width).rounded(.down))
        if window > current {
            close(count)
            addEmpty(window - current - 1)
            current = window
            count = 0
        }
        count += jobs
    }

    /// Closes every window that ends by `end`; the last, partial one is dropped.
    mutating func finish(at end: Double) {
        let complete = Int((end / width).rounded(.down))
        guard complete > current else { return }
        close(count)
        addEmpty(complete - current - 1)
        current = complete
        count = 0
    }

    /// Var / mean of the closed windows' counts; nil with fewer than `minimumWindows`
    /// windows or no jobs.
    func index(minimumWindows: Int) -> Double? {
        guard windows >= max(2, minimumWindows), mean > 0 else { return nil }
        return m2 / Double(windows - 1) / mean
    }

    private mutating func close(_ x: Double) {
        windows += 1
        let delta = x - mean
        mean += delta / Double(windows)
        m2 += delta * (x - mean)
    }

    /// `k` windows that counted nothing, merged as one group (Chan et al.).
    private mutating func addEmpty(_ k: Int) {
        guard k > 0 else { return }
        let n = Double(windows), total = n + Double(k)
        m2 += mean * mean * n * Double(k) / total
        mean *= n / total
        windows += k
    }
}

/// The index of dispersion of job counts at several window widths.
public struct DispersionCurve: Sendable, Equatable {
    /// Window widths, seconds.
    public var scales: [Double]
    /// IDC at each width; nil where the stream spans too few windows to say.
    public var values: [Double?]

    /// Windows a width needs before its IDC is reported.
    public static let minimumWindows = 10
    /// 0.1 s to 100 s, the scales issue #15 names for AI inference traffic.
    public static let defaultScales: [Double] = [0.1, 1, 10, 100]

    /// The curve of a stream given as batches: `times` non-decreasing seconds from
    /// the origin, `sizes[i]` jobs at `times[i]`, observed until `end`.
    public init<Times: Sequence<(time: Double, jobs: Int)>>(batches: Times, end: Double, scales: [Double]) {
        var counters = scales.map(WindowCounts.init(width:))
        for batch in batches {
            for i in counters.indices { counters[i].add(time: batch.time, jobs: Double(batch.jobs)) }
        }
        for i in counters.indices { counters[i].finish(at: end) }
        self.scales = scales
        values = counters.map { $0.index(minimumWindows: Self.minimumWindows) }
    }

    /// The curve of a recorded trace, from its first row to its last.
    public init(trace: ArrivalTrace, scales: [Double] = Self.defaultScales) {
        let origin = trace.times.first ?? 0
        let batches = (0..<trace.batchCount).lazy.map { (time: trace.batchTime($0) - origin, jobs: trace.batchSize($0)) }
        self.init(batches: batches, end: trace.span - origin, scales: scales)
    }

    /// The curve of the arrivals the simulator draws for `config` (renewal or on/off
    /// gaps, batch sizes of its family), from the same random streams as a run with
    /// `seed`, over `horizon` seconds.
    public init(arrivalsOf config: TandemConfig, horizon: Double, seed: UInt64, scales: [Double] = Self.defaultScales) {
        let gaps = MomentSampler(interArrivalOf: config)
        let sizes = BatchSampler(config.batch)
        var gapStream = RandomStream(seed: seed, replication: 0, purpose: .interArrival)
        var sizeStream = RandomStream(seed: seed, replication: 0, purpose: .batchSize)
        var mmpp = config.mmpp.map { MMPPSampler($0, stream: &gapStream) }
        let batches = sequence(state: 0.0) { (time: inout Double) -> (time: Double, jobs: Int)? in
            if mmpp != nil {
                time = mmpp!.next(after: time, &gapStream)
            } else {
                time += gaps.sample(&gapStream)
            }
            guard time < horizon else { return nil }
            return (time: time, jobs: sizes.sample(&sizeStream))
        }
        self.init(batches: batches, end: horizon, scales: scales)
    }
}

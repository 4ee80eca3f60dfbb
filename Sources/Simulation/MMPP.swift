// Markov-modulated Poisson batch arrivals (MODEL.md, "Workload"; docs/configuration.md,
// `arrival.mmpp`): the sum of independent sources. A source is a Markov chain over
// its levels: it sits in level l for an exponential time of mean `meanHolds[l]`,
// then moves to another (two levels: the other one; more: by `next`), and while in
// level l sends batches as a Poisson process at `rates[l]`. One two-level source is
// the classic MMPP-2 (an on/off source when a rate is 0); several make bursts on
// several time scales; one source of several levels gives bursts of several
// intensities, which is what `duet fit-trace` fits to a trace (MMPPFit.swift).
//
// Closed forms (Fischer and Meier-Hellstern, "The Markov-modulated Poisson process
// (MMPP) cookbook", 1993, for one source; independent sources add their covariances):
// a two-level source with switching rates a = 1/meanHolds[0], b = 1/meanHolds[1] has
// mean rate (rates[0] b + rates[1] a) / (a + b) and an intensity whose autocovariance
// is v e^{-r u}, with r = a + b and v = (rates[0] - rates[1])^2 a b / r^2. The batch
// counts N(t) of the sum then have
//     IDC(t) = Var N(t) / E N(t) = 1 + sum_i (2 v_i / (lambda r_i)) (1 - (1 - e^{-r_i t}) / (r_i t)),
// lambda the total mean rate, tending to 1 + sum_i 2 v_i / (lambda r_i) as t grows.
// A source of more levels adds its own term through its generator
// (`MMPPSource.countCovariance`).

import Foundation

/// One source of `MMPPSpec`: a continuous-time Markov chain over its levels.
public struct MMPPSource: Sendable, Hashable, Codable {
    /// Batches per second in each level.
    public var rates: [Double]
    /// Mean seconds spent in each level before leaving it (exponential).
    public var meanHolds: [Double]
    /// With more than two levels, `next[l][k]`: the probability that a hold in level l
    /// ends in level k (0 on the diagonal, rows summing to 1). Two levels need none:
    /// each switches to the other.
    public var next: [[Double]]?

    public init(rates: [Double], meanHolds: [Double], next: [[Double]]? = nil) {
        precondition(rates.count >= 2 && meanHolds.count == rates.count, "a source has two levels or more, each with a hold")
        precondition(next != nil || rates.count == 2, "a source of more than two levels needs its jump probabilities")
        self.rates = rates
        self.meanHolds = meanHolds
        self.next = rates.count == 2 ? nil : next
    }

    public var levelCount: Int { rates.count }

    /// The same source `factor` times as fast: rates multiplied and holds divided by
    /// it, the jumps unchanged. Time is compressed, so the counts' dispersion over
    /// long windows stays the same (`arrival.rateMultiplier`, a twin's time unit).
    public func timeScaled(by factor: Double) -> MMPPSource {
        MMPPSource(rates: rates.map { $0 * factor }, meanHolds: meanHolds.map { $0 / factor }, next: next)
    }

    /// The probabilities of each level after a hold in `level` ends.
    public func jumps(from level: Int) -> [Double] {
        if let next { return next[level] }
        return level == 0 ? [0, 1] : [1, 0]
    }

    /// Long-run fraction of time in each level: the jump chain's stationary
    /// distribution weighted by the mean holds.
    public var levelFractions: [Double] {
        if next == nil {
            let total = meanHolds[0] + meanHolds[1]
            return [meanHolds[0] / total, meanHolds[1] / total]
        }
        return chain.stationary
    }

    /// Long-run batches per second.
    public var meanRate: Double { zip(rates, levelFractions).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Two levels: r = a + b, the rate at which the intensity's autocorrelation decays (e^{-r u}).
    public var switchingRate: Double { 1 / meanHolds[0] + 1 / meanHolds[1] }

    /// Two levels: v, the variance of the intensity, (rates[0] - rates[1])^2 p (1 - p).
    public var intensityVariance: Double {
        let difference = rates[0] - rates[1], p = levelFractions[0]
        return difference * difference * p * (1 - p)
    }

    /// What the source adds to the variance of the batch count in a window of `t`
    /// seconds beyond its mean: 2 integral_0^t (t - u) c(u) du, c the intensity's
    /// autocovariance. Two levels: 2 v t g(r t) / r, g(x) = 1 - (1 - e^{-x}) / x.
    /// More: 2 r' Pi (t D - (I - e^{Q t}) D^2) r, with Q the generator, Pi the
    /// stationary fractions on a diagonal and D the deviation matrix (1 pi - Q)^{-1} - 1 pi
    /// (on the complement of 1 pi, -D inverts Q, so integral_0^t (e^{Q u} - 1 pi) du = (I - e^{Q t}) D).
    public func countCovariance(_ t: Double) -> Double {
        guard next != nil else {
            let r = switchingRate, rt = r * t
            // 1 - (1 - e^{-x}) / x, accurate for small x too.
            let shape = rt < 1e-6 ? rt / 2 : 1 + expm1(-rt) / rt
            return 2 * intensityVariance * t * shape / r
        }
        let chain = self.chain, n = levelCount
        let d = chain.deviation, d2 = SmallMatrix.product(d, d), e = chain.exponential(t)
        var total = 0.0
        for i in 0..<n {
            var row = 0.0
            for j in 0..<n {
                var left = 0.0
                for k in 0..<n { left += ((i == k ? 1 : 0) - e[i][k]) * d2[k][j] }
                row += (t * d[i][j] - left) * rates[j]
            }
            total += rates[i] * chain.stationary[i] * row
        }
        return 2 * total
    }

    /// The slope of `countCovariance` in long windows: 2 v / r for two levels, 2 r' Pi D r.
    public var longRunCovariance: Double {
        guard next != nil else { return 2 * intensityVariance / switchingRate }
        let chain = self.chain, n = levelCount
        var total = 0.0
        for i in 0..<n { for j in 0..<n { total += rates[i] * chain.stationary[i] * chain.deviation[i][j] * rates[j] } }
        return 2 * total
    }

    /// The generator and what is derived from it, for sources of more than two levels.
    var chain: LevelChain { LevelChain(meanHolds: meanHolds, jumps: (0..<levelCount).map(jumps(from:))) }
}

/// A continuous-time Markov chain given by mean holds and jump probabilities.
struct LevelChain {
    /// Q[l][k]: jump rates, -1 / hold on the diagonal.
    let generator: [[Double]]
    let stationary: [Double]
    /// (1 pi - Q)^{-1} - 1 pi.
    let deviation: [[Double]]

    init(meanHolds: [Double], jumps: [[Double]]) {
        let n = meanHolds.count
        generator = (0..<n).map { (l: Int) -> [Double] in
            (0..<n).map { (k: Int) -> Double in l == k ? -1 / meanHolds[l] : jumps[l][k] / meanHolds[l] }
        }
        // pi Q = 0 with sum pi = 1: the transposed system with its last equation replaced by the sum.
        let q = generator
        var system = (0..<n).map { (k: Int) -> [Double] in (0..<n).map { (l: Int) -> Double in q[l][k] } }
        var right = [Double](repeating: 0, count: n)
        system[n - 1] = [Double](repeating: 1, count: n)
        right[n - 1] = 1
        let solved = SmallMatrix.solve(system, right).map { max(0, $0) }
        let sum = solved.reduce(0, +)
        stationary = solved.map { $0 / sum }
        let pi = stationary
        let fundamental = SmallMatrix.inverse((0..<n).map { (l: Int) -> [Double] in
            (0..<n).map { (k: Int) -> Double in pi[k] - q[l][k] }
        })
        deviation = (0..<n).map { (l: Int) -> [Double] in (0..<n).map { (k: Int) -> Double in fundamental[l][k] - pi[k] } }
    }

    /// e^{Q t} by uniformization: sum_k Poisson(k; q t) P^k with P = I + Q / q, q the
    /// fastest leaving rate (every term non-negative, so no cancellation).
    func exponential(_ t: Double) -> [[Double]] {
        let n = generator.count
        let q = (0..<n).map { -generator[$0][$0] }.max() ?? 0
        let identity = (0..<n).map { l in (0..<n).map { k in l == k ? 1.0 : 0 } }
        guard q > 0, t > 0 else { return identity }
        let step = (0..<n).map { l in (0..<n).map { k in (l == k ? 1 : 0) + generator[l][k] / q } }
        let qt = q * t
        // Terms beyond qt + 10 sqrt(qt) + 20 weigh under 1e-15.
        let terms = Int(qt + 10 * qt.squareRoot() + 20)
        var power = identity
        var result = identity.map { $0.map { _ in 0.0 } }
        var logWeight = -qt
        for k in 0...terms {
            if k > 0 {
                power = SmallMatrix.product(power, step)
                logWeight += log(qt) - log(Double(k))
            }
            let weight = exp(logWeight)
            for l in 0..<n { for m in 0..<n { result[l][m] += weight * power[l][m] } }
        }
        return result
    }
}

/// Dense linear algebra for the few levels of a source (at most eight).
enum SmallMatrix {
    static func product(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, m = b.first?.count ?? 0
        return (0..<n).map { i in (0..<m).map { j in (0..<b.count).reduce(0) { $0 + a[i][$1] * b[$1][j] } } }
    }

    /// x with a x = b, by Gaussian elimination with partial pivoting.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        let n = a.count
        var m = a, x = b
        for column in 0..<n {
            let pivot = (column..<n).max { abs(m[$0][column]) < abs(m[$1][column]) } ?? column
            m.swapAt(column, pivot)
            x.swapAt(column, pivot)
            guard m[column][column] != 0 else { continue }
            for row in 0..<n where row != column {
                let factor = m[row][column] / m[column][column]
                guard factor != 0 else { continue }
                for k in column..<n { m[row][k] -= factor * m[column][k] }
                x[row] -= factor * x[column]
            }
        }
        return (0..<n).map { m[$0][$0] != 0 ? x[$0] / m[$0][$0] : 0 }
    }

    static func inverse(_ a: [[Double]]) -> [[Double]] {
        let n = a.count
        let columns = (0..<n).map { j in solve(a, (0..<n).map { $0 == j ? 1.0 : 0 }) }
        return (0..<n).map { i in (0..<n).map { j in columns[j][i] } }
    }
}

/// The sum of independent sources (`arrival.mmpp`).
public struct MMPPSpec: Sendable, Hashable, Codable {
    public var sources: [MMPPSource]

    public init(sources: [MMPPSource]) { self.sources = sources }

    /// Every source `factor` times as fast (`MMPPSource.timeScaled(by:)`).
    public func timeScaled(by factor: Double) -> MMPPSpec {
        MMPPSpec(sources: sources.map { $0.timeScaled(by: factor) })
    }

    /// Every mean hold times `factor`, the rates as they are (`arrival.holdMultiplier`):
    /// bursts and quiet spells that many times as long, the same long-run rate (the
    /// levels' shares of time do not change), and an index of dispersion over long
    /// windows whose excess over 1 grows by the factor.
    public func holdsScaled(by factor: Double) -> MMPPSpec {
        MMPPSpec(sources: sources.map { source in
            MMPPSource(rates: source.rates, meanHolds: source.meanHolds.map { $0 * factor }, next: source.next)
        })
    }

    /// Long-run batches per second.
    public var meanRate: Double { sources.reduce(0) { $0 + $1.meanRate } }

    /// The index of dispersion of batch counts in windows of `t` seconds (closed form above):
    /// independent sources add their covariances.
    public func batchDispersion(_ t: Double) -> Double {
        guard t > 0 else { return 1 }
        return 1 + sources.reduce(0) { $0 + $1.countCovariance(t) } / (meanRate * t)
    }

    /// The index of dispersion of batch counts over long windows, 1 + sum 2 v / (lambda r):
    /// for a renewal process it is the inter-arrival scv, so it stands for the
    /// burstiness where a single scv is wanted (dataset rows, the QNA baseline).
    public var asymptoticDispersion: Double {
        1 + sources.reduce(0) { $0 + $1.longRunCovariance } / meanRate
    }

    /// The index of dispersion of job counts when each batch carries B jobs drawn
    /// independently: E[B] (IDC_batches + scv_B).
    public func jobDispersion(_ t: Double, batch: BatchSizeSpec) -> Double {
        batch.mean * (batchDispersion(t) + batch.scv)
    }
}

/// The MMPP's state during a run: each source's level and when it next switches.
/// Sources start in a level drawn from their long-run fractions, so the stream is
/// stationary from time 0.
struct MMPPSampler {
    let sources: [MMPPSource]
    private var levels: [Int]
    private var switches: [Double]

    init(_ spec: MMPPSpec, stream: inout RandomStream) {
        sources = spec.sources
        levels = []
        switches = []
        for source in sources {
            let level = Self.draw(source.levelFractions, stream.nextOpenUnit())
            levels.append(level)
            switches.append(-log(stream.nextOpenUnit()) * source.meanHolds[level])
        }
    }

    /// The time of the next batch after `clock`: Poisson at the current levels' total
    /// rate until the next switch, which (memoryless) restarts the draw.
    mutating func next(after clock: Double, _ stream: inout RandomStream) -> Double {
        var now = clock
        while true {
            var rate = 0.0
            var first = 0
            for i in sources.indices {
                rate += sources[i].rates[levels[i]]
                if switches[i] < switches[first] { first = i }
            }
            let arrival = rate > 0 ? now - log(stream.nextOpenUnit()) / rate : .infinity
            if arrival < switches[first] { return arrival }
            now = switches[first]
            levels[first] = sources[first].next == nil ? 1 - levels[first]
                : Self.draw(sources[first].jumps(from: levels[first]), stream.nextOpenUnit())
            switches[first] = now - log(stream.nextOpenUnit()) * sources[first].meanHolds[levels[first]]
        }
    }

    /// The level whose cumulative probability first exceeds `u` (the last one for rounding).
    static func draw(_ probabilities: [Double], _ u: Double) -> Int {
        var cumulative = 0.0
        for (level, p) in probabilities.enumerated() {
            cumulative += p
            if u < cumulative { return level }
        }
        return probabilities.count - 1
    }
}

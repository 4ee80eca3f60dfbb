// Markov-modulated Poisson batch arrivals (MODEL.md, "Workload"; docs/configuration.md,
// `arrival.mmpp`): the sum of independent two-level sources. Source i sits in level
// 1 or 2 for exponential times of mean `meanHolds`, then switches to the other;
// while in level l it sends batches as a Poisson process at `rates[l]`. One source
// is the classic MMPP-2 (an on/off source when a rate is 0); n sources make an MMPP
// whose 2^n levels are the combinations of theirs, with bursts on n time scales,
// which is what a trace bursty from 0.1 s to 100 s windows needs.
//
// Closed forms (Fischer and Meier-Hellstern, "The Markov-modulated Poisson process
// (MMPP) cookbook", 1993, for one source; independent sources add their covariances):
// source i with switching rates a = 1/meanHolds[0], b = 1/meanHolds[1] has mean rate
// (rates[0] b + rates[1] a) / (a + b) and an intensity whose autocovariance is
// v e^{-r u}, with r = a + b and v = (rates[0] - rates[1])^2 a b / r^2. The batch
// counts N(t) of the sum then have
//     IDC(t) = Var N(t) / E N(t) = 1 + sum_i (2 v_i / (lambda r_i)) (1 - (1 - e^{-r_i t}) / (r_i t)),
// lambda the total mean rate, tending to 1 + sum_i 2 v_i / (lambda r_i) as t grows.

import Foundation

/// One two-level source of `MMPPSpec`.
public struct MMPPSource: Sendable, Hashable, Codable {
    /// Batches per second in level 1 and level 2.
    public var rates: [Double]
    /// Mean seconds spent in level 1 and level 2 before switching (exponential).
    public var meanHolds: [Double]

    public init(rates: [Double], meanHolds: [Double]) {
        precondition(rates.count == 2 && meanHolds.count == 2, "a source has two levels")
        self.rates = rates
        self.meanHolds = meanHolds
    }

    /// Long-run fraction of time in each level.
    public var levelFractions: [Double] {
        let total = meanHolds[0] + meanHolds[1]
        return [meanHolds[0] / total, meanHolds[1] / total]
    }

    /// Long-run batches per second.
    public var meanRate: Double { rates[0] * levelFractions[0] + rates[1] * levelFractions[1] }

    /// r = a + b: the intensity's autocorrelation decays as e^{-r u}.
    public var switchingRate: Double { 1 / meanHolds[0] + 1 / meanHolds[1] }

    /// v: the variance of the source's intensity, (rates[0] - rates[1])^2 p (1 - p).
    public var intensityVariance: Double {
        let difference = rates[0] - rates[1], p = levelFractions[0]
        return difference * difference * p * (1 - p)
    }
}

/// The sum of independent two-level sources (`arrival.mmpp`).
public struct MMPPSpec: Sendable, Hashable, Codable {
    public var sources: [MMPPSource]

    public init(sources: [MMPPSource]) { self.sources = sources }

    /// Long-run batches per second.
    public var meanRate: Double { sources.reduce(0) { $0 + $1.meanRate } }

    /// The index of dispersion of batch counts in windows of `t` seconds (closed form above).
    public func batchDispersion(_ t: Double) -> Double {
        let lambda = meanRate
        return 1 + sources.reduce(0) { sum, source in
            let r = source.switchingRate, v = source.intensityVariance
            let rt = r * t
            // 1 - (1 - e^{-x}) / x, accurate for small x too.
            let shape = rt < 1e-6 ? rt / 2 : 1 + expm1(-rt) / rt
            return sum + 2 * v / (lambda * r) * shape
        }
    }

    /// The index of dispersion of batch counts over long windows, 1 + sum 2 v / (lambda r):
    /// for a renewal process it is the inter-arrival scv, so it stands for the
    /// burstiness where a single scv is wanted (dataset rows, the QNA baseline).
    public var asymptoticDispersion: Double {
        let lambda = meanRate
        return 1 + sources.reduce(0) { $0 + 2 * $1.intensityVariance / (lambda * $1.switchingRate) }
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
            let level = stream.nextOpenUnit() < source.levelFractions[0] ? 0 : 1
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
            levels[first] = 1 - levels[first]
            switches[first] = now - log(stream.nextOpenUnit()) * sources[first].meanHolds[levels[first]]
        }
    }
}

// Fits Markov-modulated Poisson arrivals (`MMPPSpec`) to a trace (`duet fit-trace`).
//
// Real bursts differ in intensity as well as in length: in the Azure code trace
// half of all 10 s windows are empty while the busiest carry six times the mean
// rate, and the busiest carry larger batches too. A two-level source matched to the
// index of dispersion of counts gets the counts' variance right but not the peaks,
// and queues far from the trace (15.5% on the grid of examples/azure-grid.yaml).
// So the fit is a hidden Markov model of the trace cut into bins of `binWidth`
// seconds: a chain of K levels, in level l batches arrive as a Poisson process at
// lambda_l and carry m_l jobs on average (shifted geometric sizes, which makes the
// level of a bin with many jobs in few batches identifiable). Baum-Welch (EM, with
// scaled forward-backward passes) estimates the levels, the per-bin transition
// matrix P and the rates; K runs from 1 to `maxLevels` and the Bayesian information
// criterion picks it, so a Poisson trace gives a Poisson process back.
//
// The fitted source keeps what queues see, each level's job intensity
// lambda_l m_l, with batch sizes independent of the level (the trace's batch fit,
// mean m): its rate in level l is lambda_l m_l / m. A hold in level l lasts
// binWidth / (1 - P_ll) on average and ends in level k with probability
// P_lk / (1 - P_ll), the continuous chain closest to the per-bin one when holds
// span several bins.

import Foundation
import HiddenMarkovKernels

/// The MMPP fitted to a trace, how it was chosen, and how well its closed-form
/// dispersion matches the trace's.
public struct MMPPFit: Sendable, Equatable {
    /// One source whose levels are the fitted ones (a Poisson process when K is 1).
    public var spec: MMPPSpec
    /// Seconds per bin of the hidden Markov model.
    public var binWidth: Double
    /// Each number of levels tried, with its log-likelihood and BIC; the smallest BIC wins.
    public var candidates: [Candidate]
    /// Per fitted level, in order of job intensity: batches per second and mean batch
    /// size as the trace shows them (before the sizes are made independent of the level).
    public var levelBatchRates: [Double]
    public var levelBatchMeans: [Double]
    /// The window widths compared, seconds, and the trace's IDC of job counts at each.
    public var scales: [Double]
    public var traceDispersion: [Double]
    /// The fit's IDC of job counts at each scale (closed form).
    public var fittedDispersion: [Double]

    public struct Candidate: Sendable, Equatable {
        public var levels: Int
        public var logLikelihood: Double
        public var bic: Double
    }

    /// Windows compared: three a decade over 0.1 s to 100 s, those the trace spans at
    /// least `DispersionCurve.minimumWindows` times.
    public static let fitScales: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]

    /// Bins at most: a trace longer than 12,500 s gets wider bins than 0.25 s, so that
    /// a fit takes seconds (each EM iteration walks every bin).
    public static let maxBins = 50_000

    /// Fits the trace's batches, whose sizes follow `batch` (the trace's batch fit).
    public init(trace: ArrivalTrace, batch: BatchSizeSpec, binWidth: Double = 0.25, maxLevels: Int = 5) {
        let origin = trace.times.first ?? 0
        let span = trace.span - origin
        // At least 10 bins, however short the trace, and at most `maxBins`, however long.
        let width = span > 0 ? min(max(binWidth, span / Double(Self.maxBins)), span / 10) : binWidth
        self.binWidth = width
        let binCount = max(1, Int((span / width).rounded(.up)))
        var batchCounts = [Double](repeating: 0, count: binCount)
        var jobCounts = [Double](repeating: 0, count: binCount)
        for index in 0..<trace.batchCount {
            let bin = min(binCount - 1, Int((trace.batchTime(index) - origin) / width))
            batchCounts[bin] += 1
            jobCounts[bin] += Double(trace.batchSize(index))
        }
        let bins = CountBins(batches: batchCounts, jobs: jobCounts, width: width)
        // Sample size for BIC: the batches (events), not the bins, whose number depends on their width.
        let sampleSize = Double(max(2, trace.batchCount))
        var best: LevelModel? = nil
        var candidates: [Candidate] = []
        var previous: LevelModel? = nil
        for levels in 1...max(1, maxLevels) {
            // EM finds local optima: two starts, the quantile one and the previous fit with
            // its most intense level split in two; the likelier wins.
            var model = levels == 1 ? LevelModel.single(bins) : LevelModel.start(bins, levels: levels).improved(bins)
            if levels > 1, let grown = previous?.splittingBusiestLevel().improved(bins),
               grown.logLikelihood > model.logLikelihood {
                model = grown
            }
            previous = model
            // Free parameters: K (K - 1) transitions, K rates, K batch means.
            let parameters = Double(levels * (levels - 1) + 2 * levels)
            let bic = -2 * model.logLikelihood + parameters * log(sampleSize)
            candidates.append(Candidate(levels: levels, logLikelihood: model.logLikelihood, bic: bic))
            if bic < (candidates.dropLast().map(\.bic).min() ?? .infinity) { best = model }
        }
        self.candidates = candidates
        let model = best ?? LevelModel.single(bins)
        // Levels in order of job intensity.
        let order = model.rates.indices.sorted { model.rates[$0] * model.batchMeans[$0] < model.rates[$1] * model.batchMeans[$1] }
        levelBatchRates = order.map { model.rates[$0] }
        levelBatchMeans = order.map { model.batchMeans[$0] }
        let meanSize = batch.mean
        let rates = order.map { model.rates[$0] * model.batchMeans[$0] / meanSize }
        if order.count == 1 {
            spec = MMPPSpec(sources: [MMPPSource(rates: [rates[0], rates[0]], meanHolds: [1, 1])])
        } else {
            // A level never left in the trace holds for the whole span.
            let leaving = order.map { max(1 - model.transitions[$0][$0], width / max(span, width)) }
            let holds = leaving.map { width / $0 }
            let next = order.enumerated().map { l, from -> [Double] in
                // Jumps EM has all but ruled out (under a millionth) are dropped.
                let row = order.map { to in to == from || model.transitions[from][to] < 1e-6 ? 0 : model.transitions[from][to] }
                let sum = row.reduce(0, +)
                return sum > 0 ? row.map { $0 / sum } : order.indices.map { $0 == l ? 0 : 1 / Double(order.count - 1) }
            }
            spec = MMPPSpec(sources: [MMPPSource(rates: rates, meanHolds: holds, next: next)])
        }
        let curve = DispersionCurve(trace: trace, scales: Self.fitScales)
        let points = zip(curve.scales, curve.values).compactMap { scale, value in value.map { (scale, $0) } }
        scales = points.map(\.0)
        traceDispersion = points.map(\.1)
        let fitted = spec
        fittedDispersion = scales.map { fitted.jobDispersion($0, batch: batch) }
    }

    /// The number of levels chosen.
    public var levels: Int { levelBatchRates.count }
}

/// A trace's batches and jobs counted in bins of equal width.
struct CountBins {
    var batches: [Double]
    var jobs: [Double]
    var width: Double
    var count: Int { batches.count }
}

/// A hidden Markov model of binned counts: per level, a Poisson batch rate and a
/// mean (shifted geometric) batch size; a per-bin transition matrix between levels.
struct LevelModel {
    var rates: [Double]
    var batchMeans: [Double]
    var transitions: [[Double]]
    var initial: [Double]
    var logLikelihood: Double

    /// Most EM iterations; the fit stops earlier when the log-likelihood gains less
    /// than 1e-7 of itself.
    static let maxIterations = 500

    /// One level: a Poisson process (its likelihood in the same terms as the others').
    static func single(_ bins: CountBins) -> LevelModel {
        let batches = bins.batches.reduce(0, +), jobs = bins.jobs.reduce(0, +)
        let rate = batches / (Double(bins.count) * bins.width)
        let mean = batches > 0 ? max(1, jobs / batches) : 1
        var model = LevelModel(rates: [rate], batchMeans: [mean], transitions: [[1]], initial: [1], logLikelihood: 0)
        model.logLikelihood = model.logLikelihood(of: bins)
        return model
    }

    /// A start for `levels` levels: rates at quantiles of the busy bins' batch counts
    /// and one near-silent level, so the fit is deterministic.
    static func start(_ bins: CountBins, levels k: Int) -> LevelModel {
        let n = bins.count, width = bins.width
        let busy = bins.batches.filter { $0 > 0 }.sorted()
        let meanRate = bins.batches.reduce(0, +) / (Double(n) * width)
        let totalBatches = bins.batches.reduce(0, +)
        let meanSize = totalBatches > 0 ? max(1, bins.jobs.reduce(0, +) / totalBatches) : 1
        var rates = [meanRate * 1e-3]
        for level in 1..<k {
            let q = 0.2 + 0.75 * Double(level - 1) / Double(max(1, k - 2))
            let value = busy.isEmpty ? meanRate : busy[min(busy.count - 1, Int(q * Double(busy.count - 1)))] / width
            rates.append(max(value, meanRate * 1e-3))
        }
        return LevelModel(
            rates: rates, batchMeans: [Double](repeating: meanSize, count: k),
            transitions: (0..<k).map { l in (0..<k).map { $0 == l ? 0.98 : 0.02 / Double(k - 1) } },
            initial: [Double](repeating: 1 / Double(k), count: k), logLikelihood: -.infinity)
    }

    /// One more level: the most intense split into a slower and a faster twin, each
    /// entered half as often, so EM starts next to where the smaller fit ended.
    func splittingBusiestLevel() -> LevelModel {
        let k = rates.count
        let busiest = rates.indices.max { rates[$0] * batchMeans[$0] < rates[$1] * batchMeans[$1] } ?? 0
        var split = self
        split.rates[busiest] *= 0.7
        split.rates.append(rates[busiest] * 1.4)
        split.batchMeans.append(batchMeans[busiest])
        split.transitions = (0...k).map { from in
            let row = transitions[from == k ? busiest : from]
            return (0...k).map { to in to == k || to == busiest ? row[busiest] / 2 : row[to] }
        }
        split.initial[busiest] /= 2
        split.initial.append(initial[busiest] / 2)
        split.logLikelihood = -.infinity
        return split
    }

    /// Baum-Welch from this start until the log-likelihood stops growing (the E step
    /// in HiddenMarkovKernels).
    func improved(_ bins: CountBins) -> LevelModel {
        let width = bins.width, k = rates.count
        let meanRate = bins.batches.reduce(0, +) / (Double(bins.count) * width)
        var model = self
        var step = ExpectationStep(bins: bins, levels: k)
        var previous = -Double.infinity
        for _ in 0..<Self.maxIterations {
            let logLikelihood = step.run(model)
            // M step: transitions from the expected pairs, rates and sizes from each level's share of the bins.
            model.initial = step.first
            for l in 0..<k {
                let row = step.pairs[(l * k)..<(l * k + k)]
                let sum = row.reduce(0, +)
                if sum > 0 { model.transitions[l] = row.map { $0 / sum } }
                if step.weight[l] > 0 {
                    model.rates[l] = max(step.weightedBatches[l] / (step.weight[l] * width), meanRate * 1e-9)
                }
                if step.weightedBatches[l] > 0 { model.batchMeans[l] = max(1, step.weightedJobs[l] / step.weightedBatches[l]) }
            }
            model.logLikelihood = logLikelihood
            if logLikelihood - previous < 1e-7 * abs(logLikelihood) { break }
            previous = logLikelihood
        }
        return model
    }

    /// The log-likelihood of these parameters (one E step, nothing updated).
    func logLikelihood(of bins: CountBins) -> Double {
        var step = ExpectationStep(bins: bins, levels: rates.count)
        return step.run(self)
    }
}

/// Baum-Welch's E step over `bins` (`duet_hmm_expectation`), with its scratch space
/// and the expected counts it leaves for the M step, reused across iterations.
struct ExpectationStep {
    let bins: CountBins
    let levels: Int
    private var scratch: [Double]
    private(set) var pairs: [Double]
    private(set) var weight: [Double]
    private(set) var weightedBatches: [Double]
    private(set) var weightedJobs: [Double]
    private(set) var first: [Double]

    init(bins: CountBins, levels k: Int) {
        self.bins = bins
        levels = k
        scratch = [Double](repeating: 0, count: 3 * bins.count * k + 2 * bins.count)
        pairs = [Double](repeating: 0, count: k * k)
        weight = [Double](repeating: 0, count: k)
        weightedBatches = weight
        weightedJobs = weight
        first = weight
    }

    /// Runs the step for `model`'s parameters; returns their log-likelihood.
    mutating func run(_ model: LevelModel) -> Double {
        duet_hmm_expectation(Int32(bins.count), Int32(levels), bins.batches, bins.jobs, bins.width, model.rates,
                             model.batchMeans, Array(model.transitions.joined()), model.initial, &scratch, &pairs,
                             &weight, &weightedBatches, &weightedJobs, &first)
    }
}

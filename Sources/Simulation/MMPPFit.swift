// Fits Markov-modulated Poisson arrivals (`MMPPSpec`) to a trace's counts over
// several time scales (`duet fit-trace`).
//
// The trace's index of dispersion of job counts at windows of 0.1 s to 100 s is
// turned into the batch process's: IDC_batches(t) = IDC_jobs(t) / E[B] - scv_B
// (batch sizes drawn independently). Its excess over Poisson is a sum over sources
// of A_i g(r_i t), g(x) = 1 - (1 - e^{-x}) / x (MMPP.swift): each source adds
// burstiness at its own time scale 1 / r_i. The fit takes candidate time scales on a
// grid (three a decade, from a fifth of the smallest window to the largest, so
// that no burstiness is extrapolated beyond what the trace's windows show), finds amplitudes A >= 0 by non-negative least squares on relative
// errors, and merges neighbouring candidates into one source each. The mean rate
// is the trace's. IDC gives each source's switching rate and intensity variance
// v = A lambda r / 2, but not how the variance splits between its levels; the fit
// makes every source on/off (a level with rate 0) with one common share of time on,
// chosen so the sources' means add up to the trace's rate (no Poisson floor): for a
// single on/off source this is exact, and a trace without bursts gives a Poisson
// process back.

import Foundation

/// The MMPP fitted to a trace, and how well its closed-form dispersion matches.
public struct MMPPFit: Sendable, Equatable {
    public var spec: MMPPSpec
    /// The window widths fitted, seconds, and the trace's IDC of job counts at each.
    public var scales: [Double]
    public var traceDispersion: [Double]
    /// The fit's IDC of job counts at each scale (closed form).
    public var fittedDispersion: [Double]
    /// Common share of time each source spends in its busy level (1: Poisson).
    public var busyFraction: Double

    /// Windows fitted: three a decade over 0.1 s to 100 s, those the trace spans at
    /// least `DispersionCurve.minimumWindows` times.
    public static let fitScales: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]

    /// Fits a batch process at `batchRate` batches per second with batch sizes `batch`
    /// to the trace's dispersion curve `curve` (job counts).
    public init(curve: DispersionCurve, batchRate: Double, batch: BatchSizeSpec) {
        let points = zip(curve.scales, curve.values).compactMap { scale, value in value.map { (scale, $0) } }
        let scales = points.map(\.0)
        self.scales = scales
        traceDispersion = points.map(\.1)
        let lambda = batchRate
        // Excess dispersion of the batch process at each scale (>= 0).
        let excess = points.map { max(0, $0.1 / batch.mean - batch.scv - 1) }
        var sources: [MMPPSource] = []
        var busy = 1.0
        if let smallest = scales.first, let largest = scales.last, excess.contains(where: { $0 > 1e-3 }) {
            // No time scale beyond the widest window: what the trace cannot show is not invented.
            let candidates = Self.grid(from: smallest / 5, to: largest)
            // Rows: scales, weighted by 1 / (1 + excess), so the error is relative to the IDC.
            let weights = excess.map { 1 / (1 + $0) }
            let matrix = scales.indices.map { s in
                candidates.map { tau in Self.shape(scales[s] / tau) * weights[s] }
            }
            let target = zip(excess, weights).map { $0 * $1 }
            let amplitudes = Self.nonNegativeLeastSquares(matrix, target)
            let components = Self.merge(candidates: candidates, amplitudes: amplitudes)
            // v_i = A_i lambda r_i / 2; sources on a share p of the time with means adding to lambda.
            let variances = components.map { $0.amplitude * lambda / ($0.tau * 2) }
            let rootSum = variances.reduce(0) { $0 + $1.squareRoot() }
            if rootSum > 0 {
                let q = (lambda / rootSum) * (lambda / rootSum)
                busy = q / (1 + q)
                for (component, v) in zip(components, variances) {
                    let onRate = (v / (busy * (1 - busy))).squareRoot()
                    let r = 1 / component.tau
                    sources.append(MMPPSource(rates: [0, onRate], meanHolds: [1 / (r * busy), 1 / (r * (1 - busy))]))
                }
            }
        }
        if sources.isEmpty {
            // No burst at any scale: a Poisson process (one source, the same rate in both levels).
            sources = [MMPPSource(rates: [lambda, lambda], meanHolds: [1, 1])]
            busy = 1
        }
        spec = MMPPSpec(sources: sources)
        busyFraction = busy
        let fitted = spec
        fittedDispersion = scales.map { fitted.jobDispersion($0, batch: batch) }
    }

    /// 1 - (1 - e^{-x}) / x.
    static func shape(_ x: Double) -> Double { x < 1e-6 ? x / 2 : 1 + expm1(-x) / x }

    /// Time scales three a decade from `low` to `high`.
    static func grid(from low: Double, to high: Double) -> [Double] {
        let start = (log10(low) * 3).rounded(.down), end = (log10(high) * 3).rounded(.up)
        return stride(from: start, through: end, by: 1).map { pow(10, $0 / 3) }
    }

    /// Neighbouring candidates with amplitude merge into one component: amplitudes
    /// add, time scales average geometrically, weighted by amplitude. Components
    /// below a thousandth of the largest are dropped.
    static func merge(candidates: [Double], amplitudes: [Double]) -> [(tau: Double, amplitude: Double)] {
        let floor = (amplitudes.max() ?? 0) * 1e-3
        var result: [(tau: Double, amplitude: Double)] = []
        var sum = 0.0, logSum = 0.0
        for (tau, amplitude) in Array(zip(candidates, amplitudes)) + [(1.0, 0.0)] {
            if amplitude > floor {
                sum += amplitude
                logSum += amplitude * log(tau)
            } else if sum > 0 {
                result.append((exp(logSum / sum), sum))
                sum = 0
                logSum = 0
            }
        }
        return result
    }

    /// min |A x - b| over x >= 0, by cyclic coordinate descent (a convex problem of a
    /// dozen rows and columns: thousands of sweeps cost microseconds).
    static func nonNegativeLeastSquares(_ a: [[Double]], _ b: [Double]) -> [Double] {
        let rows = a.count, columns = a.first?.count ?? 0
        var x = [Double](repeating: 0, count: columns)
        var residual = b
        let norms = (0..<columns).map { j in (0..<rows).reduce(0) { $0 + a[$1][j] * a[$1][j] } }
        for _ in 0..<20_000 {
            var change = 0.0
            for j in 0..<columns where norms[j] > 0 {
                let gradient = (0..<rows).reduce(0) { $0 + a[$1][j] * residual[$1] }
                let next = max(0, x[j] + gradient / norms[j])
                let step = next - x[j]
                guard step != 0 else { continue }
                for i in 0..<rows { residual[i] -= a[i][j] * step }
                x[j] = next
                change = max(change, abs(step) * norms[j].squareRoot())
            }
            if change < 1e-12 { break }
        }
        return x
    }
}

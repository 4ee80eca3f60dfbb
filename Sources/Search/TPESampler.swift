// The tree-structured Parzen estimator (Bergstra et al. 2011, "Algorithms for
// Hyper-Parameter Optimization"), on the design's unit cube: each varied
// hyperparameter is a coordinate u in [0, 1) that its range maps monotonically to a
// value (log-uniform ranges are uniform in u, so kernels in u are kernels in log
// space). Choices are categorical: u picks the k-th of K values in [k/K, (k+1)/K).
//
// After `startupTrials` results, the trials ranked on the highest rung that has
// that many results are split into the best `gamma` fraction ("good") and the rest.
// Each side gets a density per dimension: a mixture of Gaussians truncated to
// [0, 1), one per observation, plus a uniform prior component (numbers), or smoothed
// frequencies (choices). `candidates` points are drawn from the good density and the
// one with the largest good/bad density ratio is proposed. Seeded per trial number.

import Foundation
import Simulation

public struct TPESampler: Sendable {
    public struct Observation: Sendable, Hashable {
        public var coordinates: [Double]
        /// Validation MAPE at each rung reached.
        public var results: [Double]

        public init(coordinates: [Double], results: [Double]) {
            self.coordinates = coordinates
            self.results = results
        }
    }

    public let ranges: [SweepRange]
    public let seed: UInt64
    public var startupTrials = 10
    public var gamma = 0.25
    public var candidates = 24

    public init(ranges: [SweepRange], seed: UInt64) {
        self.ranges = ranges
        self.seed = seed
    }

    /// Coordinates for trial `trial`, or nil while there are too few results (the
    /// caller then draws from its design).
    public func propose(trial: Int, history: [Observation]) -> [Double]? {
        guard !ranges.isEmpty else { return nil }
        // The highest rung with enough results: later rungs judge better.
        let deepest = history.map(\.results.count).max() ?? 0
        var rung = deepest - 1
        while rung >= 0, history.filter({ $0.results.count > rung }).count < startupTrials { rung -= 1 }
        guard rung >= 0 else { return nil }
        let scored = history.filter { $0.results.count > rung }
            .map { (coordinates: $0.coordinates, score: $0.results[rung].isNaN ? Double.infinity : $0.results[rung]) }
            .sorted { $0.score < $1.score }
        let goodCount = max(1, Int((gamma * Double(scored.count)).rounded(.up)))
        let good = scored.prefix(goodCount).map(\.coordinates)
        let bad = scored.dropFirst(goodCount).map(\.coordinates)

        var random = RandomStream(seed: seed, substream: 0x7470_65, UInt64(trial))  // "tpe"
        var best: (point: [Double], score: Double)?
        let lows = ranges.indices.map { d in Density(range: ranges[d], points: good.map { $0[d] }) }
        let highs = ranges.indices.map { d in Density(range: ranges[d], points: bad.map { $0[d] }) }
        for _ in 0..<candidates {
            var point: [Double] = []
            var score = 0.0
            for d in ranges.indices {
                let u = lows[d].sample(&random)
                point.append(u)
                score += log(lows[d].density(u)) - log(highs[d].density(u))
            }
            if best == nil || score > best!.score { best = (point, score) }
        }
        return best?.point
    }

    /// A one-dimensional density on [0, 1).
    struct Density {
        enum Shape {
            /// Truncated Gaussians at `centers` with one bandwidth, plus a uniform prior
            /// weighted as one more observation.
            case kernels(centers: [Double], bandwidth: Double)
            /// Probability of each of K equal cells.
            case categories([Double])
        }

        let shape: Shape

        init(range: SweepRange, points: [Double]) {
            if case .choice(let values) = range {
                let k = values.count
                var counts = [Double](repeating: 1.0 / Double(k), count: k)  // a prior worth one observation
                for u in points { counts[min(k - 1, Int(u * Double(k)))] += 1 }
                let total = counts.reduce(0, +)
                shape = .categories(counts.map { $0 / total })
                return
            }
            let n = Double(points.count)
            var bandwidth = 0.25
            if points.count >= 2 {
                let mean = points.reduce(0, +) / n
                let sd = (points.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
                bandwidth = 1.06 * sd * pow(n, -0.2)
            }
            shape = .kernels(centers: points, bandwidth: min(1, max(0.03, bandwidth)))
        }

        func density(_ u: Double) -> Double {
            switch shape {
            case .categories(let p):
                return p[min(p.count - 1, Int(u * Double(p.count)))] * Double(p.count)
            case .kernels(let centers, let h):
                var sum = 1.0  // the uniform prior
                for c in centers {
                    let mass = Self.cdf((1 - c) / h) - Self.cdf(-c / h)
                    let z = (u - c) / h
                    sum += exp(-0.5 * z * z) / (h * (2 * Double.pi).squareRoot()) / max(mass, 1e-12)
                }
                return sum / Double(centers.count + 1)
            }
        }

        func sample(_ random: inout RandomStream) -> Double {
            switch shape {
            case .categories(let p):
                var x = unitInterval(&random)
                for (k, pk) in p.enumerated() {
                    if x < pk || k == p.count - 1 { return (Double(k) + unitInterval(&random)) / Double(p.count) }
                    x -= pk
                }
                return unitInterval(&random)
            case .kernels(let centers, let h):
                let pick = Int(bounded(&random, UInt64(centers.count + 1)))
                guard pick < centers.count else { return unitInterval(&random) }
                for _ in 0..<64 {
                    // Box-Muller; reject draws outside [0, 1).
                    let a = max(unitInterval(&random), 0x1p-53), b = unitInterval(&random)
                    let u = centers[pick] + h * (-2 * log(a)).squareRoot() * cos(2 * Double.pi * b)
                    if u >= 0, u < 1 { return u }
                }
                return min(max(centers[pick], 0), 1.0.nextDown)
            }
        }

        static func cdf(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
    }
}

// How sure a prediction is: a band around each predicted value, by split conformal
// prediction (Vovk et al. 2005; Lei et al. 2018). On rows the network did not train
// on (the validation split), the error of each target is measured as
// |log(predicted / simulated)|; the band of a new prediction is predicted x
// exp(+-q), q the ceil((n + 1) x level)-th smallest of the n errors. When the new
// configuration is drawn like the calibration rows, the simulated value falls inside
// its band with probability at least `level`, whatever the network: that is what
// makes the method justified without a model of the errors. Errors grow in heavy
// traffic, so q is taken per band of the bottleneck station's load (Mondrian
// conformal prediction: the guarantee then holds within each band), falling back to
// all rows when a band has too few.
//
// The validation split also chose the epoch kept (early stopping), which can make the
// errors there slightly smaller than on new rows; so the coverage is measured again on
// the test split, which nothing chose, and recorded beside the band
// (metrics["test"]["meanResponse.bandCoverage"]) and printed by `duet evaluate`.

import Foundation

public struct ErrorBands: Codable, Sendable, Equatable {
    /// The share of simulated values a band aims to hold (0.9).
    public var level: Double
    /// Upper ends of the bottleneck-load bands: [0.5, 0.8, 1] (`EvaluationReport.loadBands`).
    public var loadEdges: [Double]
    /// Per target: the half-width q of each load band, in log units.
    public var halfWidths: [String: [Double]]
    /// Calibration rows per load band.
    public var rows: [Int]

    /// Fewest rows in a load band for its own quantile; below, the band uses all rows.
    public static let minimumRows = 30

    /// Calibrates on `examples` with `predict` (values in `names` order, seconds); a
    /// target an example's chain does not have is left out for it.
    public init(level: Double = 0.9, names: [String], examples: [SurrogateExample],
                predict: (SurrogateExample) -> [Double]) {
        self.level = level
        loadEdges = EvaluationReport.loadBands.map { $0.range.upperBound }
        var errors = [[[Double]]](repeating: [[], [], []], count: names.count)
        var counts = [0, 0, 0]
        for example in examples {
            let band = Self.band(example.bottleneckLoad, edges: loadEdges)
            counts[band] += 1
            for (j, value) in predict(example).enumerated() where j < names.count {
                guard let actual = example.target(names[j]) else { continue }
                errors[j][band].append(abs(log(value / actual)))
            }
        }
        rows = counts
        var widths: [String: [Double]] = [:]
        for (j, name) in names.enumerated() {
            let all = Self.quantile(errors[j].flatMap { $0 }, level: level)
            widths[name] = errors[j].map { $0.count >= Self.minimumRows ? Self.quantile($0, level: level) : all }
        }
        halfWidths = widths
    }

    /// The conformal quantile: the ceil((n + 1) level)-th smallest, infinite when n is too small.
    static func quantile(_ values: [Double], level: Double) -> Double {
        let sorted = values.filter { $0.isFinite }.sorted()
        let rank = Int((Double(sorted.count + 1) * level).rounded(.up))
        return rank <= sorted.count && rank >= 1 ? sorted[rank - 1] : .infinity
    }

    static func band(_ load: Double, edges: [Double]) -> Int {
        edges.firstIndex { load < $0 } ?? edges.count - 1
    }

    /// The band around `value` of target `name` for a configuration whose bottleneck
    /// station has offered load `load`, or nil when the target was not calibrated or had
    /// too few calibration rows for the level (an infinite half-width).
    public func band(_ name: String, value: Double, load: Double) -> ClosedRange<Double>? {
        guard let widths = halfWidths[name] else { return nil }
        let q = widths[min(Self.band(load, edges: loadEdges), widths.count - 1)]
        guard q.isFinite, value.isFinite, value > 0 else { return nil }
        return value * exp(-q)...value * exp(q)
    }

    /// The share of `examples` whose simulated value lies in its band, per target, over
    /// the examples that get a band (targets without any are left out).
    public func coverage(names: [String], examples: [SurrogateExample],
                         predict: (SurrogateExample) -> [Double]) -> [String: Double] {
        var inside = [Int](repeating: 0, count: names.count)
        var banded = [Int](repeating: 0, count: names.count)
        for example in examples {
            for (j, value) in predict(example).enumerated() where j < names.count {
                guard let actual = example.target(names[j]),
                      let band = band(names[j], value: value, load: example.bottleneckLoad) else { continue }
                banded[j] += 1
                if band.contains(actual) { inside[j] += 1 }
            }
        }
        var shares: [String: Double] = [:]
        for (j, name) in names.enumerated() where banded[j] > 0 {
            shares[name] = Double(inside[j]) / Double(banded[j])
        }
        return shares
    }
}

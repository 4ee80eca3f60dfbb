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
//
// An ensemble also says, row by row, how far its members disagree (their spread s, in
// log units). The score is then normalised by it (Papadopoulos et al. 2008; Lei et al.
// 2018, section 5.2): |log(predicted / simulated)| / (s + floor), the floor the median
// spread of the calibration rows, so that a row where the members agree by chance does
// not get a band of nothing. The band is predicted x exp(+-q (s + floor)): wider where
// the members disagree, narrower where they agree, and the guarantee is the same,
// because any score computed without the simulated value keeps it.

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
    /// Per target: the floor added to an ensemble's spread before it divides the score
    /// (in log units); nil for bands of a single network, whose half-widths are in log
    /// units themselves.
    public var spreadFloors: [String: Double]?

    /// Fewest rows in a load band for its own quantile; below, the band uses all rows.
    public static let minimumRows = 30

    /// Calibrates on `examples` with `predict` (values in `names` order, seconds, and for
    /// an ensemble the members' spread in log units, per target); a target an example's
    /// chain does not have is left out for it.
    public init(level: Double = 0.9, names: [String], examples: [SurrogateExample],
                predict: (SurrogateExample) -> SpreadPrediction) {
        self.level = level
        loadEdges = EvaluationReport.loadBands.map { $0.range.upperBound }
        let predictions = examples.map(predict)
        // The floors: the median spread of each target over the rows that have it.
        var floors: [String: Double]?
        if predictions.contains(where: { $0.spread != nil }) {
            var spreads = [[Double]](repeating: [], count: names.count)
            for (example, prediction) in zip(examples, predictions) {
                guard let spread = prediction.spread else { continue }
                for j in names.indices where j < spread.count && example.target(names[j]) != nil {
                    spreads[j].append(spread[j])
                }
            }
            var found: [String: Double] = [:]
            for (j, name) in names.enumerated() {
                let sorted = spreads[j].filter(\.isFinite).sorted()
                // A floor of 0 (members that always agree) would divide by 0; 1e-6 is far below any error.
                found[name] = max(1e-6, sorted.isEmpty ? 0 : sorted[sorted.count / 2])
            }
            floors = found
        }
        spreadFloors = floors
        var errors = [[[Double]]](repeating: [[], [], []], count: names.count)
        var counts = [0, 0, 0]
        for (example, prediction) in zip(examples, predictions) {
            let band = Self.band(example.bottleneckLoad, edges: loadEdges)
            counts[band] += 1
            for (j, value) in prediction.values.enumerated() where j < names.count {
                guard let actual = example.target(names[j]) else { continue }
                let scale = Self.scale(floors?[names[j]], spread: prediction.spread, j)
                errors[j][band].append(abs(log(value / actual)) / scale)
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

    /// What a score is divided by: the spread plus its floor for an ensemble's bands, 1
    /// otherwise (and for a prediction without a spread, which then gets no band).
    static func scale(_ floor: Double?, spread: [Double]?, _ j: Int) -> Double {
        guard let floor else { return 1 }
        guard let spread, j < spread.count, spread[j].isFinite else { return .nan }
        return spread[j] + floor
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
    /// station has offered load `load` (and whose ensemble members spread by `spread`,
    /// in log units, for an ensemble's bands), or nil when the target was not
    /// calibrated, had too few calibration rows for the level (an infinite half-width),
    /// or needs a spread that is not given.
    public func band(_ name: String, value: Double, load: Double, spread: Double? = nil) -> ClosedRange<Double>? {
        guard let widths = halfWidths[name] else { return nil }
        var q = widths[min(Self.band(load, edges: loadEdges), widths.count - 1)]
        if let floors = spreadFloors {
            guard let floor = floors[name], let spread else { return nil }
            q *= spread + floor
        }
        guard q.isFinite, value.isFinite, value > 0 else { return nil }
        return value * exp(-q)...value * exp(q)
    }

    /// The share of `examples` whose simulated value lies in its band, per target, over
    /// the examples that get a band (targets without any are left out), and the mean
    /// half-width of those bands in log units (0.1 is about +-10%).
    public func coverage(names: [String], examples: [SurrogateExample],
                         predict: (SurrogateExample) -> SpreadPrediction) -> [String: (share: Double, halfWidth: Double)] {
        var inside = [Int](repeating: 0, count: names.count)
        var banded = [Int](repeating: 0, count: names.count)
        var widths = [Double](repeating: 0, count: names.count)
        for example in examples {
            let prediction = predict(example)
            for (j, value) in prediction.values.enumerated() where j < names.count {
                guard let actual = example.target(names[j]),
                      let band = band(names[j], value: value, load: example.bottleneckLoad,
                                      spread: prediction.spread.map { $0[j] }) else { continue }
                banded[j] += 1
                widths[j] += log(band.upperBound / value)
                if band.contains(actual) { inside[j] += 1 }
            }
        }
        var shares: [String: (share: Double, halfWidth: Double)] = [:]
        for (j, name) in names.enumerated() where banded[j] > 0 {
            shares[name] = (Double(inside[j]) / Double(banded[j]), widths[j] / Double(banded[j]))
        }
        return shares
    }
}

/// Predicted metric values and, for an ensemble, the members' spread per target in log
/// units (nil for a single network).
public struct SpreadPrediction: Sendable, Equatable {
    public var values: [Double]
    public var spread: [Double]?

    public init(values: [Double], spread: [Double]? = nil) {
        self.values = values
        self.spread = spread
    }
}

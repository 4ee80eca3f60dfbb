// Everything `report.html` shows, as one plain value: the pipeline fills it in at
// the end of `duet run`, `duet report` reads it back from JSON, and `ReportHTML`
// renders it. Nothing here knows how the numbers were made.

import DuetSupport
import Foundation
import Surrogate

/// The input of `ReportHTML.render`. Every section is optional or may be empty; the
/// page then says what is missing instead of drawing an empty chart.
public struct ReportData: Codable, Sendable, Equatable {
    public var title: String
    /// When the run finished (injected; never read from the clock here).
    public var created: Date
    /// Where the run came from, e.g. the pipeline file; shown under the title.
    public var source: String?
    /// Wall-clock time of each phase, in the order they ran.
    public var phases: [Phase]
    public var dataset: DatasetSummary?
    /// The test split's predictions, one entry per surrogate target.
    public var targets: [Target]
    /// The hyperparameter search; nil when none was run.
    public var search: Search?
    /// Pairs of varied input columns and the values the sweep sampled.
    public var coverage: [Coverage]
    /// The same judgement on a pipeline's held-out points (`heldOut:`); nil without them,
    /// and in pages written before them.
    public var heldOut: HeldOut?

    public init(title: String, created: Date, source: String? = nil, phases: [Phase] = [],
                dataset: DatasetSummary? = nil, targets: [Target] = [], search: Search? = nil,
                coverage: [Coverage] = [], heldOut: HeldOut? = nil) {
        self.title = title
        self.created = created
        self.source = source
        self.phases = phases
        self.dataset = dataset
        self.targets = targets
        self.search = search
        self.coverage = coverage
        self.heldOut = heldOut
    }

    /// Points of the sweep's space with another design seed, which neither trained nor
    /// chose the model, and its predictions of them (one entry per target).
    public struct HeldOut: Codable, Sendable, Equatable {
        public var points: Int
        public var seed: UInt64
        public var targets: [Target]

        public init(points: Int, seed: UInt64, targets: [Target]) {
            self.points = points
            self.seed = seed
            self.targets = targets
        }
    }

    /// One phase of the run (simulate, search, train, evaluate, ...).
    public struct Phase: Codable, Sendable, Equatable {
        public var name: String
        public var seconds: Double

        public init(name: String, seconds: Double) {
            self.name = name
            self.seconds = seconds
        }
    }

    public struct DatasetSummary: Codable, Sendable, Equatable {
        /// Rows simulated, unstable ones included.
        public var rows: Int
        /// Rows whose simulation was declared unstable (left out of training).
        public var unstableRows: Int
        /// The input columns that vary across rows, with their range.
        public var columns: [VariedColumn]

        public init(rows: Int, unstableRows: Int, columns: [VariedColumn]) {
            self.rows = rows
            self.unstableRows = unstableRows
            self.columns = columns
        }
    }

    public struct VariedColumn: Codable, Sendable, Equatable {
        public var name: String
        public var min: Double
        public var max: Double

        public init(name: String, min: Double, max: Double) {
            self.name = name
            self.min = min
            self.max = max
        }
    }

    /// One target's test split: parallel arrays, one element per test row.
    public struct Target: Codable, Sendable, Equatable {
        /// The metric, e.g. `meanResponse` or `stations.2.instanceSecondsPerJob`.
        public var name: String
        /// Unit of the values, e.g. "s"; shown on axes.
        public var unit: String?
        public var simulated: [Double]
        /// The surrogate's predictions.
        public var predicted: [Double]
        /// The largest of the stations' offered loads.
        public var bottleneckLoad: [Double]
        /// The analytical baseline's predictions, nil where it has none; nil when the
        /// baseline does not predict this target at all.
        public var baseline: [Double?]?
        /// Absolute percentage errors of the surrogate on the test split.
        public var surrogateErrors: ErrorStats
        /// The same for the analytical baseline, when it predicts this target.
        public var baselineErrors: ErrorStats?

        public init(name: String, unit: String? = nil, simulated: [Double], predicted: [Double],
                    bottleneckLoad: [Double], baseline: [Double?]? = nil,
                    surrogateErrors: ErrorStats, baselineErrors: ErrorStats? = nil) {
            self.name = name
            self.unit = unit
            self.simulated = simulated
            self.predicted = predicted
            self.bottleneckLoad = bottleneckLoad
            self.baseline = baseline
            self.surrogateErrors = surrogateErrors
            self.baselineErrors = baselineErrors
        }

        /// The rows present in every array (they should all have the same length).
        public var count: Int { Swift.min(simulated.count, predicted.count, bottleneckLoad.count) }
    }

    /// Absolute percentage errors summarised (values in percent: 2.5 means 2.5%).
    public struct ErrorStats: Codable, Sendable, Equatable {
        public var count: Int
        public var mape: Double
        public var median: Double
        public var p90: Double
        public var p99: Double
        public var max: Double

        public init(count: Int, mape: Double, median: Double, p90: Double, p99: Double, max: Double) {
            self.count = count
            self.mape = mape
            self.median = median
            self.p90 = p90
            self.p99 = p99
            self.max = max
        }

        public init(_ summary: ErrorSummary) {
            self.init(count: summary.count, mape: summary.mape, median: summary.median,
                      p90: summary.p90, p99: summary.p99, max: summary.max)
        }

        /// From absolute percentage errors (nearest-rank percentiles, as `ErrorSummary`).
        public init(errors: [Double]) {
            self.init(ErrorSummary(errors: errors))
        }
    }

    public struct Search: Codable, Sendable, Equatable {
        /// The metric whose validation MAPE the curves show.
        public var metric: String
        public var trials: [Trial]
        public var bestTrialID: String?

        public init(metric: String = "meanResponse", trials: [Trial], bestTrialID: String?) {
            self.metric = metric
            self.trials = trials
            self.bestTrialID = bestTrialID
        }

        public var bestTrial: Trial? { trials.first { $0.id == bestTrialID } }
    }

    public struct Trial: Codable, Sendable, Equatable {
        public var id: String
        public var hyperparameters: [String: String]
        /// Validation MAPE (percent) after each reported epoch.
        public var points: [CurvePoint]
        /// How the trial ended, e.g. ASHA's "completed", "paused" (not promoted), "failed",
        /// "cancelled", "running"; any other word is drawn like a stopped trial.
        public var state: String

        public init(id: String, hyperparameters: [String: String], points: [CurvePoint], state: String) {
            self.id = id
            self.hyperparameters = hyperparameters
            self.points = points
            self.state = state
        }

        /// The lowest finite validation MAPE reached, if any.
        public var bestMAPE: Double? {
            points.map(\.validationMAPE).filter(\.isFinite).min()
        }
    }

    public struct CurvePoint: Codable, Sendable, Equatable {
        public var epoch: Int
        public var validationMAPE: Double

        public init(epoch: Int, validationMAPE: Double) {
            self.epoch = epoch
            self.validationMAPE = validationMAPE
        }
    }

    /// The sampled values of two input columns (parallel arrays, one element per row).
    public struct Coverage: Codable, Sendable, Equatable {
        public var xName: String
        public var yName: String
        public var x: [Double]
        public var y: [Double]
        /// Rows whose simulation was unstable, drawn apart; nil when not known.
        public var unstable: [Bool]?

        public init(xName: String, yName: String, x: [Double], y: [Double], unstable: [Bool]? = nil) {
            self.xName = xName
            self.yName = yName
            self.x = x
            self.y = y
            self.unstable = unstable
        }
    }
}

extension ReportData {
    /// JSON with ISO 8601 dates and "nan"/"inf" for non-finite numbers, so that any
    /// value round-trips through `decode(_:)`.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .infAndNanAsWords
        return try encoder.encode(self)
    }

    /// Reads what `jsonData()` wrote.
    public static func decode(_ data: Data) throws -> ReportData {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .infAndNanAsWords
        return try decoder.decode(ReportData.self, from: data)
    }
}

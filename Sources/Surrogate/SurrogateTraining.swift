// Training a surrogate on a dataset, end to end: features, normalisation, the
// seeded split by configuration, the trainer, and a model file with its metrics.
// The CLI's `duet train` and the hyperparameter search's trials both go through here.

import Foundation
import Simulation

public struct SurrogateTrainingJob: Sendable {
    public let dataset: SurrogateDataset
    public let split: DatasetSplit
    public let settings: TrainingSettings
    public let features: FeatureScaler
    public let transform: TargetTransform
    /// What is divided out of the targets before they are learnt (`TargetScaling`).
    public let scaling: TargetScaling

    public init(dataset: SurrogateDataset, split: DatasetSplit, settings: TrainingSettings,
                scaling: TargetScaling = .trainingDefault) throws {
        guard split.train.count >= 2, !split.validation.isEmpty else {
            throw TrainingError(description: "\(dataset.source): only \(dataset.examples.count) usable rows "
                + "(\(dataset.skipped.count) unstable or invalid); too few to train and validate on")
        }
        self.dataset = dataset
        self.split = split
        self.settings = settings
        self.scaling = scaling
        // Normalisation is fitted on the training split only. The network learns the
        // canonical twins: features of the twin, targets in its unit of time over
        // their references.
        features = try FeatureScaler.fit(names: dataset.featureNames,
                                         rows: split.train.map { dataset.examples[$0].features })
        transform = try TargetTransform.fit(
            names: dataset.targetNames, rows: split.train.map { Self.learnt(dataset.examples[$0], scaling, dataset.targetNames) },
            log: dataset.targetNames.map { _ in true })
    }

    /// An example's targets as the network learns them.
    static func learnt(_ example: SurrogateExample, _ scaling: TargetScaling, _ names: [String]) -> [Double] {
        scaling.scaled(example.dimensionlessTargets, twin: CanonicalForm(example.config).config, names: names)
    }

    public func samples(_ indices: [Int]) throws -> Samples {
        Samples(inputs: try features.transform(indices.map { dataset.examples[$0].features }),
                targets: try transform.transform(indices.map { Self.learnt(dataset.examples[$0], scaling, dataset.targetNames) }))
    }

    public func makeTrainer() throws -> Trainer {
        try Trainer(settings: settings, training: try samples(split.train), validation: try samples(split.validation),
                    transform: transform)
    }

    /// The trained model as a file, with error summaries on every split.
    public func modelFile(_ trainer: Trainer, command: [String]? = nil) -> ModelFile {
        let predictor = Predictor(network: trainer.bestNetwork, features: features, transform: transform)
        let predict = { [scaling, dataset] (example: SurrogateExample) in
            let twin = scaling.unscaled(predictor.predict(example.features), twin: CanonicalForm(example.config).config,
                                        names: dataset.targetNames)
            return SurrogateTargets.dimensional(twin, names: dataset.targetNames, timeUnit: example.timeUnit)
        }
        var metrics: [String: [String: Double]] = [:]
        for (name, indices) in [("train", split.train), ("validation", split.validation), ("test", split.test)]
        where !indices.isEmpty {
            let report = SurrogateEvaluation.evaluate(indices.map { dataset.examples[$0] }, predict: predict)
            metrics[name] = report.flatMetrics
        }
        // Calibrated on the validation split, checked on the test split.
        let bands = ErrorBands(names: dataset.targetNames, examples: split.validation.map { dataset.examples[$0] },
                               predict: predict)
        if !split.test.isEmpty {
            let coverage = bands.coverage(names: dataset.targetNames, examples: split.test.map { dataset.examples[$0] },
                                          predict: predict)
            for (name, share) in coverage { metrics["test", default: [:]][name + ".bandCoverage"] = share }
        }
        metrics["info"] = [
            "featureVersion": Double(SurrogateFeatures.version), "splitSeed": Double(split.seed),
            "trainRows": Double(split.train.count), "validationRows": Double(split.validation.count),
            "testRows": Double(split.test.count), "skippedRows": Double(dataset.skipped.count),
            "stations": Double(dataset.stations),
        ]
        var file = ModelFile(trainer: trainer, features: features, inputDomain: dataset.inputDomain(of: split.train),
                             metrics: metrics, datasetSHA256: dataset.sha256,
                             created: CreationInfo(date: Date(), command: command))
        file.errorBands = bands
        file.targetScaling = scaling
        return file
    }
}

/// Absolute percentage errors of one target, summarised.
public struct ErrorSummary: Sendable, Equatable {
    public var count: Int
    public var mape: Double
    public var median: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    /// From absolute percentage errors (nearest-rank percentiles).
    public init(errors: [Double]) {
        let sorted = errors.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double {
            sorted.isEmpty ? .nan : sorted[Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
        }
        mape = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
        median = rank(0.5)
        p90 = rank(0.9)
        p99 = rank(0.99)
        max = sorted.last ?? .nan
    }
}

/// Errors of predictions against simulated values, per target and by load band.
public struct EvaluationReport: Sendable {
    /// The bands of the bottleneck station's offered load.
    public static let loadBands: [(name: String, range: Range<Double>)] = [
        ("0-0.5", 0..<0.5), ("0.5-0.8", 0.5..<0.8), ("0.8-1", 0.8..<1.0000001),
    ]

    public var rows: Int
    public var targets: [(name: String, overall: ErrorSummary, byLoad: [ErrorSummary])]

    /// `target.mape`, `target.median`, ... for model files.
    public var flatMetrics: [String: Double] {
        var flat: [String: Double] = ["rows": Double(rows)]
        for target in targets {
            flat[target.name + ".mape"] = target.overall.mape
            flat[target.name + ".median"] = target.overall.median
            flat[target.name + ".p90"] = target.overall.p90
            flat[target.name + ".p99"] = target.overall.p99
            flat[target.name + ".max"] = target.overall.max
        }
        return flat
    }
}

public enum SurrogateEvaluation {
    /// Compares `predict` (values in `names` order, the examples' targets order, or nil
    /// where it has none) with each example's simulated targets.
    public static func evaluate(_ examples: [SurrogateExample], names: [String] = SurrogateTargets.names,
                                predict: (SurrogateExample) -> [Double?]) -> EvaluationReport {
        var errors = [[Double]](repeating: [], count: names.count)
        var banded = [[[Double]]](repeating: [[], [], []], count: names.count)
        for example in examples {
            let predicted = predict(example)
            let band = EvaluationReport.loadBands.firstIndex { $0.range.contains(example.bottleneckLoad) } ?? 2
            for j in names.indices {
                guard let value = predicted[j] else { continue }
                let actual = example.targets[j]
                let error = abs(value - actual) / abs(actual) * 100
                errors[j].append(error)
                banded[j][band].append(error)
            }
        }
        return EvaluationReport(
            rows: examples.count,
            targets: names.indices.map { j in
                (names[j], ErrorSummary(errors: errors[j]), banded[j].map { ErrorSummary(errors: $0) })
            })
    }

    /// As above, with every target of the examples' chain length predicted (a
    /// dataset's examples are chains of one length).
    public static func evaluate(_ examples: [SurrogateExample], predict: (SurrogateExample) -> [Double])
        -> EvaluationReport
    {
        let names = SurrogateTargets.names(stations: examples.first?.config.stations.count ?? 2)
        return evaluate(examples, names: names) { predict($0).map { Optional($0) } }
    }
}

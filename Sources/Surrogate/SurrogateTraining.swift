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
    /// For a dataset of chains of several lengths (`names` those of the longest), a
    /// station a chain does not have is learnt as 1, its reference: its value is never
    /// read back (`TargetScaling.metrics`).
    static func learnt(_ example: SurrogateExample, _ scaling: TargetScaling, _ names: [String]) -> [Double] {
        let stations = example.config.stations.count
        let scaled = scaling.scaled(example.dimensionlessTargets, twin: CanonicalForm(example.config).config,
                                    names: SurrogateTargets.names(stations: stations))
        return SurrogateTargets.padded(scaled, from: stations, to: SurrogateTargets.stations(targetNames: names), fill: 1)
    }

    public func samples(_ indices: [Int]) throws -> Samples {
        Samples(inputs: try features.transform(indices.map { dataset.examples[$0].features }),
                targets: try transform.transform(indices.map { Self.learnt(dataset.examples[$0], scaling, dataset.targetNames) }))
    }

    /// A trainer on the job's split; `seed`, when given, replaces the settings' seed (a
    /// further member of an ensemble).
    public func makeTrainer(seed: UInt64? = nil) throws -> Trainer {
        var settings = settings
        if let seed { settings.seed = seed }
        return try Trainer(settings: settings, training: try samples(split.train), validation: try samples(split.validation),
                           transform: transform)
    }

    /// The trained model as a file, with error summaries on every split.
    public func modelFile(_ trainer: Trainer, command: [String]? = nil) -> ModelFile {
        modelFile([trainer], command: command)
    }

    /// The ensemble of the best networks of `trainers` (one or more, trained on this
    /// job's split and normalisation) as a file, with error summaries of the ensemble's
    /// predictions on every split and bands scaled by its members' spread.
    public func modelFile(_ trainers: [Trainer], command: [String]? = nil) -> ModelFile {
        modelFile(trainers.map(EnsembleMember.init(trainer:)), command: command)
    }

    /// The ensemble of `members` (networks trained on this job's split and
    /// normalisation, such as kept ones: `KeptMembers`), as above.
    public func modelFile(_ members: [EnsembleMember], command: [String]? = nil) -> ModelFile {
        precondition(!members.isEmpty, "modelFile: no network")
        let predictor = Predictor(members: members.map(\.network), features: features, transform: transform)
        let predictWithSpread = { [scaling, dataset] (example: SurrogateExample) -> SpreadPrediction in
            let form = EstimatedForm(example.config)
            guard predictor.memberCount > 1 else {
                return SpreadPrediction(values: scaling.metrics(predictor.predict(example.features), form: form,
                                                                layout: dataset.stations))
            }
            let outputs = predictor.predictWithSpread(example.features)
            return SpreadPrediction(values: scaling.metrics(outputs.values, form: form, layout: dataset.stations),
                                    spread: outputs.spread)
        }
        let predict = { (example: SurrogateExample) in predictWithSpread(example).values }
        var metrics: [String: [String: Double]] = [:]
        for (name, indices) in [("train", split.train), ("validation", split.validation), ("test", split.test)]
        where !indices.isEmpty {
            let examples = indices.map { dataset.examples[$0] }
            metrics[name] = SurrogateEvaluation.evaluate(examples, layout: dataset.stations, predict: predict).flatMetrics
            // A model of several chain lengths: each length's errors too, as chainN.target.mape.
            guard dataset.minStations < dataset.stations else { continue }
            for length in dataset.minStations...dataset.stations {
                let chains = examples.filter { $0.config.stations.count == length }
                guard !chains.isEmpty else { continue }
                let report = SurrogateEvaluation.evaluate(chains, layout: dataset.stations, predict: predict)
                for (key, value) in report.flatMetrics {
                    metrics[name, default: [:]]["chain\(length).\(key)"] = value
                }
            }
        }
        // Calibrated on the validation split, checked on the test split.
        let bands = ErrorBands(names: dataset.targetNames, examples: split.validation.map { dataset.examples[$0] },
                               predict: predictWithSpread)
        if !split.test.isEmpty {
            let coverage = bands.coverage(names: dataset.targetNames, examples: split.test.map { dataset.examples[$0] },
                                          predict: predictWithSpread)
            for (name, measured) in coverage {
                metrics["test", default: [:]][name + ".bandCoverage"] = measured.share
                metrics["test", default: [:]][name + ".bandHalfWidth"] = measured.halfWidth
            }
        }
        metrics["info"] = [
            "featureVersion": Double(SurrogateFeatures.version), "splitSeed": Double(split.seed),
            "trainRows": Double(split.train.count), "validationRows": Double(split.validation.count),
            "testRows": Double(split.test.count), "skippedRows": Double(dataset.skipped.count),
            "stations": Double(dataset.stations), "minStations": Double(dataset.minStations),
            "ensembleMembers": Double(members.count),
        ]
        var firstSettings = settings
        firstSettings.seed = members[0].seed
        var file = ModelFile(network: members[0].network, features: features, targets: transform,
                             inputDomain: dataset.inputDomain(of: split.train), settings: firstSettings,
                             summary: members[0].summary, metrics: metrics, datasetSHA256: dataset.sha256,
                             created: CreationInfo(date: Date(), command: command))
        file.errorBands = bands
        file.targetScaling = scaling
        file.setEnsemble(Array(members.dropFirst()))
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
    /// Compares `predict` (values in `names` order, or nil where it has none) with each
    /// example's simulated targets; a target an example's chain does not have is left out.
    public static func evaluate(_ examples: [SurrogateExample], names: [String] = SurrogateTargets.names,
                                predict: (SurrogateExample) -> [Double?]) -> EvaluationReport {
        var errors = [[Double]](repeating: [], count: names.count)
        var banded = [[[Double]]](repeating: [[], [], []], count: names.count)
        for example in examples {
            let predicted = predict(example)
            let band = EvaluationReport.loadBands.firstIndex { $0.range.contains(example.bottleneckLoad) } ?? 2
            for j in names.indices {
                guard let value = predicted[j], let actual = example.target(names[j]) else { continue }
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

    /// As above, with every target predicted in the layout of chains of `layout`
    /// stations (`SurrogateTargets.names(stations:)` order; by default the examples'
    /// longest chain).
    public static func evaluate(_ examples: [SurrogateExample], layout: Int? = nil,
                                predict: (SurrogateExample) -> [Double]) -> EvaluationReport
    {
        let names = SurrogateTargets.names(stations: layout ?? examples.map(\.config.stations.count).max() ?? 2)
        return evaluate(examples, names: names) { predict($0).map { Optional($0) } }
    }
}

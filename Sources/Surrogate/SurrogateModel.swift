// A trained surrogate ready to answer: configuration in, metrics out.

import Foundation
import Simulation

public struct SurrogateModel: Sendable {
    public let file: ModelFile
    public let predictor: Predictor
    /// The feature version the model was trained on (older ones are still computed).
    public let featureVersion: Int
    /// The documented domain the model covers (`ModelFile.domain`), judged instead of
    /// the training split's ranges.
    public let documentedDomain: DocumentedDomain?
    /// What the network's outputs are multiplied back by (`ModelFile.targetScaling`),
    /// read once: every prediction needs it.
    public let targetScaling: TargetScaling
    /// The longest chain the model predicts, read off its feature names (`stations.K.*`):
    /// 2 for every model file written before chains were learnt.
    public let stations: Int
    /// The shortest chain it predicts: `metrics.info.minStations` of a model trained on
    /// chains of several lengths, else `stations`.
    public let minStations: Int
    /// The chain lengths the model predicts.
    public var stationRange: ClosedRange<Int> { minStations...stations }

    /// `metrics.info` key of a model of one station trained to be composed along chains
    /// (`duet train --per-station`, `StationComposition`).
    public static let perStationKey = "perStation"

    /// Whether the model learnt one station at a time, to compose along chains of any
    /// length. The key holds 1 + the upstream stations each station's view includes.
    public var composesStations: Bool { (file.metrics["info"]?[Self.perStationKey] ?? 0) >= 1 }

    /// The stations before each station that its view includes (`StationComposition`).
    public var compositionUpstream: Int { max(0, Int(file.metrics["info"]?[Self.perStationKey] ?? 1) - 1) }
    /// From version 3, the training split's ranges laid out for the fast path of
    /// `domainWarnings`, by chain length (index `count - minStations`).
    private let inputDomainChecks: [AlignedDomain]
    /// Where `writePrediction` finds each metric among the targets.
    let predictionLayout: PredictionLayout

    public init(file: ModelFile, source: String = "model") throws {
        // `Int(exactly:)`: `Int(_:)` traps on a nan or huge number in the file.
        let version = file.metrics["info"]?["featureVersion"].flatMap { Int(exactly: $0) }
        let stations = SurrogateFeatures.stations(featureNames: file.features.names)
        guard let version, SurrogateFeatures.supportedVersions.contains(version),
              file.features.names == SurrogateFeatures.names(version: version, stations: stations)
        else {
            throw ModelFileError(file: source, reason: .invalidContent,
                                 detail: "its features (version \(version.map(String.init) ?? "unknown")) are not "
                                    + "the ones this duet computes (versions \(SurrogateFeatures.supportedVersions.lowerBound)"
                                    + " to \(SurrogateFeatures.version)); retrain it")
        }
        if let domain = file.domain {
            guard let documented = DocumentedDomain.known[domain] else {
                throw ModelFileError(file: source, reason: .invalidContent,
                                     detail: "it names the documented domain \"\(domain)\", which this duet does not know "
                                        + "(it knows \(DocumentedDomain.known.keys.sorted().joined(separator: ", ")))")
            }
            guard version >= 3 else {
                throw ModelFileError(file: source, reason: .invalidContent,
                                     detail: "it names the documented domain \"\(domain)\", which needs feature version 3 "
                                        + "(the model has \(version))")
            }
            documentedDomain = documented
        } else {
            documentedDomain = nil
        }
        if let metric = file.metrics["info"]?["targetScaling"], file.targetScaling == nil {
            throw ModelFileError(file: source, reason: .invalidContent,
                                 detail: "metrics.info.targetScaling is \(metric); this duet knows 0 to "
                                    + "\(TargetScaling.allCases.count - 1) (\(TargetScaling.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let scaling = file.targetScaling, scaling != .none, version < 3 {
            throw ModelFileError(file: source, reason: .invalidContent,
                                 detail: "its targets are scaled by \"\(scaling.rawValue)\", which needs feature "
                                    + "version 3 (the model has \(version))")
        }
        let minStations = file.metrics["info"]?["minStations"].flatMap { Int(exactly: $0) } ?? stations
        guard (1...stations).contains(minStations) else {
            throw ModelFileError(file: source, reason: .invalidContent,
                                 detail: "metrics.info.minStations is \(minStations); expected 1 to \(stations), "
                                    + "the chain length of its features")
        }
        self.file = file
        self.stations = stations
        self.minStations = minStations
        featureVersion = version
        targetScaling = file.targetScaling ?? .none
        predictor = Predictor(model: file)
        predictionLayout = PredictionLayout(targetNames: file.targets.names, stations: stations)
        inputDomainChecks = version >= 3 && file.domain == nil
            ? (minStations...stations).map { AlignedDomain(file.inputDomain, stations: $0, relativeSlack: CanonicalForm.domainSlack) }
            : []
    }

    public static func load(path: String) throws -> SurrogateModel {
        try SurrogateModel(file: try ModelFile.load(from: URL(fileURLWithPath: path)), source: path)
    }

    public var targetNames: [String] { file.targets.names }

    /// The network's input for a configuration, in the model's feature version.
    public func features(_ config: TandemConfig) -> [Double] {
        SurrogateFeatures.vector(config, version: featureVersion)
    }

    /// Throws `ChainLengthError` unless `config` is a chain of a length the model
    /// predicts (`predict` requires one).
    public func checkStations(_ config: TandemConfig) throws {
        // A model composed along chains predicts views whose percentiles are
        // placeholders: only the commands that compose it may use it.
        if composesStations || !stationRange.contains(config.stations.count) {
            throw ChainLengthError(modelStations: stations, configStations: config.stations.count,
                                   modelMinStations: minStations, composesStations: composesStations)
        }
    }

    /// Predicted metric values, in `targetNames` order, for a chain of a length in
    /// `stationRange` (`checkStations` says so first); the targets of stations a chain
    /// shorter than `stations` does not have are 0 (an absent station takes no time
    /// and no instance-seconds). From version 3 the network answers for the canonical
    /// twin, in its unit of time over the twin's references (`TargetScaling`), scaled
    /// back here.
    public func predict(_ config: TandemConfig) -> [Double] {
        let input = checkedInput(config)
        return metricValues(predictor.predict(input.features), form: input.form)
    }

    /// The network's input for `config`, which must be a chain of a length in `stationRange`.
    private func checkedInput(_ config: TandemConfig) -> (features: [Double], form: EstimatedForm?) {
        precondition(stationRange.contains(config.stations.count),
                     ChainLengthError(modelStations: stations, configStations: config.stations.count,
                                      modelMinStations: minStations).description)
        return networkInput(config)
    }

    /// `predict(config)` and, for an ensemble, the members' spread per target in log
    /// units (nil for a single network), which an ensemble's error bands scale with.
    public func predictWithSpread(_ config: TandemConfig) -> SpreadPrediction {
        guard predictor.memberCount > 1 else { return SpreadPrediction(values: predict(config)) }
        let input = checkedInput(config)
        let outputs = predictor.predictWithSpread(input.features)
        return SpreadPrediction(values: metricValues(outputs.values, form: input.form), spread: outputs.spread)
    }

    /// The error band of each predicted value (`predict(config)`, in `targetNames`
    /// order), nil for a model file without bands: the conformal band of its load band,
    /// scaled by the members' spread for an ensemble (predicted again here for it).
    public func bands(_ config: TandemConfig, predicted: [Double]) -> [ClosedRange<Double>?] {
        let spread = file.errorBands?.spreadFloors == nil ? nil : predictWithSpread(config).spread
        return bands(config, SpreadPrediction(values: predicted, spread: spread))
    }

    /// The error band of each value of `prediction` (`predictWithSpread(config)`).
    public func bands(_ config: TandemConfig, _ prediction: SpreadPrediction) -> [ClosedRange<Double>?] {
        guard let bands = file.errorBands else { return prediction.values.map { _ in nil } }
        let load = config.offeredLoads.max() ?? 0
        return zip(targetNames, prediction.values).enumerated().map { j, target in
            bands.band(target.0, value: target.1, load: load, spread: prediction.spread.map { $0[j] })
        }
    }

    /// One message per input key outside what the model saw in training, naming the key.
    /// From version 3 the canonical twins are compared (`CanonicalForm.domainCells`):
    /// times in units of the mean gap between batches, named `key*arrival.rate`, and
    /// parameters without effect in their canonical values; `CanonicalForm.domainSlack`
    /// absorbs the rounding of the division by the time unit.
    /// A model that names a documented domain is judged against it instead
    /// (`DocumentedDomain.violations`).
    /// `form`: `CanonicalForm(config)` when the caller has it already (bulk prediction
    /// builds it for the features), so that it is not built twice.
    public func domainWarnings(_ config: TandemConfig, form: CanonicalForm? = nil) -> [String] {
        // A replayed trace or Markov-modulated arrivals are judged as their dataset row
        // describes them, rebuilt the way the rows the model trained on were: the
        // multiplier folded into the rate, the modulation into the rate and scv,
        // empirical batch sizes as geometric of their mean under their own name.
        if config.trace != nil || config.mmpp != nil, let row = try? ConfigColumns.datasetView(config) {
            return domainWarnings(row, batchDist: config.batch.distName, form: nil)
        }
        return domainWarnings(config, batchDist: nil, form: form)
    }

    /// `batchDist`: the name the batch sizes had in the dataset row `config` was rebuilt
    /// from (nil: the configuration's own); `form`: `CanonicalForm(config)`, if built.
    private func domainWarnings(_ config: TandemConfig, batchDist: String?, form given: CanonicalForm?) -> [String] {
        if let documentedDomain {
            let form = given ?? CanonicalForm(config)
            guard let batchDist else { return documentedDomain.violations(form) }
            return documentedDomain.violations(values: documentedDomain.judgedValues(form, batchDist: batchDist))
        }
        let values: [String: ConfigValue]
        if featureVersion >= 3 {
            let form = given ?? CanonicalForm(config)
            let count = form.config.stations.count
            if batchDist == nil, stationRange.contains(count), inputDomainChecks[count - minStations].admits(form) { return [] }
            values = form.domainValues(batchDist: batchDist)
        } else {
            values = Dictionary(zip(ConfigColumns.names(of: config), ConfigColumns.values(of: config)), uniquingKeysWith: { $1 })
        }
        var warnings = file.inputDomain.violations(values, relativeSlack: featureVersion >= 3 ? CanonicalForm.domainSlack : 0)
        if featureVersion < 2, let onOff = config.onOff, onOff.onFraction < 1 {
            // Version-1 features see only the arrival scv, not the shape of the bursts.
            warnings.append("arrival.onOff: the model (feature version \(featureVersion)) was trained without "
                                + "on/off arrivals and sees only their inter-arrival scv; retrain it on on/off data")
        }
        return warnings
    }
}

/// A configuration whose chain length is not one a model predicts.
public struct ChainLengthError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The longest chain the model predicts.
    public var modelStations: Int
    public var configStations: Int
    /// The shortest chain the model predicts (`modelStations` for a model of one length).
    public var modelMinStations: Int
    /// The model learnt one station at a time (`StationComposition`), which only some
    /// commands compose along chains.
    public var composesStations: Bool

    public init(modelStations: Int, configStations: Int, modelMinStations: Int? = nil, composesStations: Bool = false) {
        self.modelStations = modelStations
        self.configStations = configStations
        self.modelMinStations = modelMinStations ?? modelStations
        self.composesStations = composesStations
    }

    public var description: String {
        func chain(_ n: Int) -> String { "\(n) station\(n == 1 ? "" : "s")" }
        if composesStations {
            return "stations: the model learnt one station at a time (duet train --per-station); duet predict, "
                + "evaluate, plan, validate and serve compose it along chains of any length, this command does not yet"
        }
        let model = modelMinStations == modelStations ? chain(modelStations)
            : "\(modelMinStations) to \(chain(modelStations))"
        return "stations: the model predicts chains of \(model), the configuration has "
            + "\(chain(configStations)); train a model on a sweep over chains of \(chain(configStations))"
    }

    public var errorDescription: String? { description }
}

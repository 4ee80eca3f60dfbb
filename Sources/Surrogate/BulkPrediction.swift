// Many configurations at once: their feature rows standardised into one matrix, the
// network run over it as large matrix products (`Predictor.predictBatch`), and each
// row mapped back to metric values as `SurrogateModel.predict` maps one.

import Foundation
import Simulation

extension SurrogateModel {
    /// The network's raw input row for `config` and, from feature version 3, the
    /// canonical form its outputs are mapped back through (`metricValues`).
    func networkInput(_ config: TandemConfig) -> (features: [Double], form: EstimatedForm?) {
        guard featureVersion >= 3 else { return (features(config), nil) }
        let form = EstimatedForm(config)
        return (SurrogateFeatures.padded(SurrogateFeatures.vector(estimated: form, version: featureVersion),
                                         stations: stations, version: featureVersion), form)
    }

    /// Metric values from the network's outputs (`Predictor`'s metric values) for the
    /// configuration `networkInput` gave `form` for: from version 3 the canonical
    /// twin's values, scaled back (`TargetScaling`) and into the configuration's unit of
    /// time, laid out for chains of `stations` stations (0 for stations it lacks).
    func metricValues(_ outputs: [Double], form: EstimatedForm?) -> [Double] {
        guard let form else { return outputs }
        return targetScaling.metrics(outputs, form: form, layout: stations)
    }

    /// Predicted metric values of each configuration, as `predict(_:)` gives them (to
    /// float rounding: the network runs as matrix products over all rows), each a
    /// chain of a length in `stationRange`. `threads` workers share the rows.
    public func predict(_ configs: [TandemConfig], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [[Double]] {
        bulk(configs, threads: threads, spread: false).map(\.values)
    }

    /// `predictWithSpread(_:)` of each configuration, as `predict(_:threads:)` runs them.
    public func predictWithSpread(_ configs: [TandemConfig],
                                  threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [SpreadPrediction] {
        bulk(configs, threads: threads, spread: predictor.memberCount > 1)
    }

    /// `predict(_:threads:)` of each configuration with its `domainWarnings`, each
    /// configuration's canonical form built once for both (the features need it, and
    /// the domain is judged on it): `duet serve`'s CSV answers.
    public func predictWithDomainWarnings(_ configs: [TandemConfig], threads: Int = ProcessInfo.processInfo.activeProcessorCount)
        -> (values: [[Double]], warnings: [[String]])
    {
        let (inputs, forms) = standardizedInputs(configs)
        let warnings = zip(configs, forms).map { config, form in domainWarnings(config, form: form?.form) }
        return (predictions(inputs, forms: forms, threads: threads, spread: false).map(\.values), warnings)
    }

    private func bulk(_ configs: [TandemConfig], threads: Int, spread: Bool) -> [SpreadPrediction] {
        let (inputs, forms) = standardizedInputs(configs)
        return predictions(inputs, forms: forms, threads: threads, spread: spread)
    }

    /// The network's standardised input rows of `configs`, one allocation for the whole
    /// batch, and each configuration's estimated form (nil before feature version 3).
    private func standardizedInputs(_ configs: [TandemConfig]) -> (Matrix, [EstimatedForm?]) {
        for config in configs {
            precondition(stationRange.contains(config.stations.count),
                         ChainLengthError(modelStations: stations, configStations: config.stations.count,
                                          modelMinStations: minStations).description)
        }
        let scaler = predictor.features
        var forms: [EstimatedForm?] = []
        forms.reserveCapacity(configs.count)
        var inputs = Matrix(rows: configs.count, cols: scaler.count)
        inputs.withUnsafeMutableBufferPointer { x in
            for (r, config) in configs.enumerated() {
                let input = networkInput(config)
                forms.append(input.form)
                for (c, value) in input.features.enumerated() { x[r * scaler.count + c] = scaler.standardize(value, column: c) }
            }
        }
        return (inputs, forms)
    }

    /// The network run over `inputs` as matrix products, each row mapped back to metric
    /// values through its form.
    private func predictions(_ inputs: Matrix, forms: [EstimatedForm?], threads: Int, spread: Bool) -> [SpreadPrediction] {
        guard !forms.isEmpty else { return [] }
        let transform = predictor.transform
        let k = transform.count
        let outputs: (mean: Matrix, spread: Matrix?) = spread
            ? predictor.predictBatchWithSpread(standardized: inputs, threads: threads)
            : (predictor.predictBatch(standardized: inputs, threads: threads), nil)
        return outputs.mean.withUnsafeBufferPointer { z in
            (0..<forms.count).map { r in
                let values = (0..<k).map { j in transform.targets[j].real(z[r * k + j]) }
                return SpreadPrediction(values: metricValues(values, form: forms[r]),
                                        spread: outputs.spread.map { s in (0..<k).map { j in Double(s[r, j]) } })
            }
        }
    }
}

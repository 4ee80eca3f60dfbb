// Many configurations at once: their feature rows standardised into one matrix, the
// network run over it as large matrix products (`Predictor.predictBatch`), and each
// row mapped back to metric values as `SurrogateModel.predict` maps one.

import Foundation
import Simulation

extension SurrogateModel {
    /// The network's raw input row for `config` and, from feature version 3, the
    /// canonical form its outputs are mapped back through (`metricValues`).
    func networkInput(_ config: TandemConfig) -> (features: [Double], form: CanonicalForm?) {
        guard featureVersion >= 3 else { return (features(config), nil) }
        let form = CanonicalForm(config)
        return (SurrogateFeatures.vector(canonical: form), form)
    }

    /// Metric values from the network's outputs (`Predictor`'s metric values) for the
    /// configuration `networkInput` gave `form` for: from version 3 the canonical
    /// twin's values, scaled back (`TargetScaling`) and into the configuration's unit of time.
    func metricValues(_ outputs: [Double], form: CanonicalForm?) -> [Double] {
        guard let form else { return outputs }
        let twin = targetScaling.unscaled(outputs, twin: form.config, names: targetNames)
        return SurrogateTargets.dimensional(twin, names: targetNames, timeUnit: form.timeUnit)
    }

    /// Predicted metric values of each configuration, as `predict(_:)` gives them (to
    /// float rounding: the network runs as matrix products over all rows), each a
    /// chain of `stations` stations. `threads` workers share the rows.
    public func predict(_ configs: [TandemConfig], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [[Double]] {
        for config in configs {
            precondition(config.stations.count == stations, ChainLengthError(modelStations: stations,
                                                                             configStations: config.stations.count).description)
        }
        guard !configs.isEmpty else { return [] }
        let scaler = predictor.features, transform = predictor.transform
        var forms: [CanonicalForm?] = []
        forms.reserveCapacity(configs.count)
        // Standardised rows, filled in place: one allocation for the whole batch.
        var inputs = Matrix(rows: configs.count, cols: scaler.count)
        inputs.withUnsafeMutableBufferPointer { x in
            for (r, config) in configs.enumerated() {
                let input = networkInput(config)
                forms.append(input.form)
                for (c, value) in input.features.enumerated() { x[r * scaler.count + c] = scaler.standardize(value, column: c) }
            }
        }
        let outputs = predictor.predictBatch(standardized: inputs, threads: threads)
        return outputs.withUnsafeBufferPointer { z in
            (0..<configs.count).map { r in
                let values = (0..<transform.count).map { j in transform.targets[j].real(z[r * transform.count + j]) }
                return metricValues(values, form: forms[r])
            }
        }
    }
}

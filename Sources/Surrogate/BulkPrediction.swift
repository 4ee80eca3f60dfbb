// Many configurations at once: their feature rows standardised into one matrix, the
// network run over it as large matrix products (`Predictor.predictBatch`), and each
// row mapped back to metric values as `SurrogateModel.predict` maps one. With several
// threads each takes a contiguous share of the configurations through all three steps:
// the features and the mapping back cost more than the network for small models.

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
        let answers = inShares(configs, threads: threads) { block -> [(values: [Double], warnings: [String])] in
            var warnings: [[String]] = []
            warnings.reserveCapacity(block.count)
            let (inputs, scales) = standardizedInputs(block) { config, form in
                warnings.append(domainWarnings(config, form: form?.form))
            }
            return zip(predictions(inputs, scales: scales, spread: false), warnings).map { ($0.values, $1) }
        }
        return (answers.map(\.values), answers.map(\.warnings))
    }

    private func bulk(_ configs: [TandemConfig], threads: Int, spread: Bool) -> [SpreadPrediction] {
        inShares(configs, threads: threads) { block in
            let (inputs, scales) = standardizedInputs(block)
            return predictions(inputs, scales: scales, spread: spread)
        }
    }

    /// `work`'s answers for contiguous shares of `configs`, one share per thread (at
    /// most `threads`, each of at least `Predictor.blockRows` configurations), in order.
    /// Each share goes through `work` a block of `Predictor.blockRows` at a time, so
    /// that a block's inputs, scales and outputs stay small and in cache, whatever the
    /// number of configurations (a million at once faulted in fresh pages for each).
    private func inShares<Answer>(_ configs: [TandemConfig], threads: Int,
                                  _ work: (ArraySlice<TandemConfig>) -> [Answer]) -> [Answer] {
        precondition(threads >= 1, "SurrogateModel: threads must be at least 1")
        let workers = min(threads, max(1, configs.count / Predictor.blockRows))
        guard workers > 1 else { return Self.inBlocks(configs[...], work) }
        let perWorker = (configs.count + workers - 1) / workers
        var shares = [[Answer]](repeating: [], count: workers)
        shares.withUnsafeMutableBufferPointer { shares in
            // Each worker writes only its own element, and `work` only reads the model.
            nonisolated(unsafe) let shares = shares, work = work
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let rows = min(configs.count, worker * perWorker)..<min(configs.count, (worker + 1) * perWorker)
                shares[worker] = Self.inBlocks(configs[rows], work)
            }
        }
        return shares.flatMap { $0 }
    }

    /// `work`'s answers for `share`, `Predictor.blockRows` configurations at a time.
    private static func inBlocks<Answer>(_ share: ArraySlice<TandemConfig>,
                                         _ work: (ArraySlice<TandemConfig>) -> [Answer]) -> [Answer] {
        guard share.count > Predictor.blockRows else { return work(share) }
        var answers: [Answer] = []
        answers.reserveCapacity(share.count)
        var start = share.startIndex
        while start < share.endIndex {
            let end = min(share.endIndex, start + Predictor.blockRows)
            answers += work(share[start..<end])
            start = end
        }
        return answers
    }

    /// The network's standardised input rows of `configs`, one allocation for the whole
    /// batch, and what maps each row's outputs back (nil before feature version 3: the
    /// outputs are the values). `each` sees every configuration with its form as it
    /// goes (the domain check reads it).
    private func standardizedInputs(_ configs: ArraySlice<TandemConfig>,
                                    each: (TandemConfig, EstimatedForm?) -> Void = { _, _ in }) -> (Matrix, [RowScale?]) {
        for config in configs {
            precondition(stationRange.contains(config.stations.count),
                         ChainLengthError(modelStations: stations, configStations: config.stations.count,
                                          modelMinStations: minStations).description)
        }
        let scaler = predictor.features
        var scales: [RowScale?] = []
        scales.reserveCapacity(configs.count)
        var inputs = Matrix(rows: configs.count, cols: scaler.count)
        inputs.withUnsafeMutableBufferPointer { x in
            for (r, config) in zip(0..., configs) {
                let input = networkInput(config)
                each(config, input.form)
                scales.append(input.form.map { targetScaling.rowScale(form: $0, layout: stations) })
                for (c, value) in input.features.enumerated() { x[r * scaler.count + c] = scaler.standardize(value, column: c) }
            }
        }
        return (inputs, scales)
    }

    /// The network run over `inputs` as matrix products on the calling thread (the
    /// shares of `inShares` are the parallelism), each row mapped back to metric values
    /// through its scale.
    private func predictions(_ inputs: Matrix, scales: [RowScale?], spread: Bool) -> [SpreadPrediction] {
        guard !scales.isEmpty else { return [] }
        let transform = predictor.transform
        let k = transform.count
        let outputs: (mean: Matrix, spread: Matrix?) = spread
            ? predictor.predictBatchWithSpread(standardized: inputs, threads: 1)
            : (predictor.predictBatch(standardized: inputs, threads: 1), nil)
        return outputs.mean.withUnsafeBufferPointer { z in
            (0..<scales.count).map { r in
                let values = (0..<k).map { j in transform.targets[j].real(z[r * k + j]) }
                return SpreadPrediction(values: scales[r].map { $0.metrics(values) } ?? values,
                                        spread: outputs.spread.map { s in (0..<k).map { j in Double(s[r, j]) } })
            }
        }
    }
}

// Gathers what `duet run` produced (dataset, best model, trials) into the report's
// input and the summary file.

import Analytic
import Foundation
import Search
import Searches
import Simulation
import Surrogate

public enum PipelineReport {
    /// The report's data: test-split parity and errors per target (surrogate and
    /// analytical baseline), the search's learning curves, the sweep's coverage.
    public static func data(title: String, source: String?, phases: [ReportData.Phase], dataset: SurrogateDataset,
                            table: DatasetTable, model: SurrogateModel, trials: TrialsDocument?,
                            bestTrial: Int?,
                            heldOut: (rows: SurrogateDataset, points: Int, seed: UInt64, predictions: [[Double]])? = nil)
        -> ReportData {
        // The model's own split, rebuilt from the row counts and seed it recorded.
        let info = model.file.metrics["info"] ?? [:]
        let rows = Double(max(1, dataset.examples.count))
        let split = dataset.split(validation: (info["validationRows"] ?? rows / 10) / rows,
                                  test: (info["testRows"] ?? rows / 10) / rows, seed: UInt64(info["splitSeed"] ?? 1))
        return ReportData(title: title, created: Date(), source: source, phases: phases,
                          dataset: datasetSummary(dataset, table: table),
                          targets: targets(model, split.test.map { dataset.examples[$0] }),
                          search: trials.map { searchCurves($0, best: bestTrial) },
                          coverage: coverage(dataset),
                          heldOut: heldOut.map { ReportData.HeldOut(points: $0.points, seed: $0.seed,
                                                                    targets: targets(model, $0.rows.examples,
                                                                                     predictions: $0.predictions)) })
    }

    /// The model's predictions of `examples` (made here unless given, in example order)
    /// and QNA's, target by target, with their errors.
    static func targets(_ model: SurrogateModel, _ examples: [SurrogateExample],
                        predictions given: [[Double]]? = nil) -> [ReportData.Target] {
        let predictions = given ?? examples.map { model.predict($0.config) }
        let baselines = examples.map { QueueingNetworkAnalyzer.estimate($0.config) }
        return model.targetNames.enumerated().map { j, name in
            let simulated = examples.map { $0.targets[j] }
            let predicted = predictions.map { $0[j] }
            let baseline: [Double?] = baselines.map { $0?.value(name) }
            let hasBaseline = baseline.contains { $0 != nil }
            func errors(_ values: [Double?]) -> [Double] {
                zip(values, simulated).compactMap { value, actual in value.map { abs($0 - actual) / abs(actual) * 100 } }
            }
            return ReportData.Target(
                name: name, unit: name.contains("instanceSeconds") ? "s/job" : "s", simulated: simulated,
                predicted: predicted, bottleneckLoad: examples.map(\.bottleneckLoad), baseline: hasBaseline ? baseline : nil,
                surrogateErrors: ReportData.ErrorStats(errors: errors(predicted.map { $0 })),
                baselineErrors: hasBaseline ? ReportData.ErrorStats(errors: errors(baseline)) : nil)
        }
    }

    static func datasetSummary(_ dataset: SurrogateDataset, table: DatasetTable) -> ReportData.DatasetSummary {
        var columns: [ReportData.VariedColumn] = []
        for name in ConfigColumns.names(stations: dataset.stations) {
            let values = dataset.examples.compactMap { Double($0.inputs[name] ?? "") }.filter(\.isFinite)
            guard let low = values.min(), let high = values.max(), high > low else { continue }
            columns.append(ReportData.VariedColumn(name: name, min: low, max: high))
        }
        return ReportData.DatasetSummary(rows: table.rows.count, unstableRows: dataset.skipped.count, columns: columns)
    }

    static func searchCurves(_ document: TrialsDocument, best: Int?) -> ReportData.Search {
        let trials = document.trials.map { record in
            ReportData.Trial(
                id: String(record.trial),
                hyperparameters: Dictionary(record.hyperparameters.map { ($0.name, "\($0.value)") },
                                            uniquingKeysWith: { a, _ in a }),
                points: record.rungs.map { ReportData.CurvePoint(epoch: $0.epochs, validationMAPE: $0.mape) },
                state: record.state.rawValue)
        }
        return ReportData.Search(trials: trials, bestTrialID: best.map(String.init))
    }

    static func coverage(_ dataset: SurrogateDataset) -> [ReportData.Coverage] {
        // The first station against the last (of a tandem, station 1 against station 2).
        let last = "stations.\(dataset.stations)."
        let pairs = [("stations.1.load", last + "load"), ("batch.mean", last + "maxBatch"),
                     ("stations.1.servers", last + "servers")]
        return pairs.map { x, y in
            ReportData.Coverage(xName: x, yName: y,
                                x: dataset.examples.map { Double($0.inputs[x] ?? "") ?? .nan },
                                y: dataset.examples.map { Double($0.inputs[y] ?? "") ?? .nan })
        }
    }
}

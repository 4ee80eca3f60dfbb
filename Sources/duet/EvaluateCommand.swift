import Analytic
import ArgumentParser
import DuetSupport
import Foundation
import Simulation
import Surrogate

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Compare a surrogate's predictions with a simulated dataset, beside the analytical baseline.",
        discussion: """
            Per target: MAPE, median, 90th and 99th percentile and maximum absolute percentage \
            error, overall and by the bottleneck station's load (0-0.5, 0.5-0.8, 0.8-1). Errors \
            are in percent. The analytical baseline's errors on the same rows are shown for the \
            metrics it estimates. Without a model file (`duet evaluate DATA`) the shipped model \
            is evaluated (found as by `duet predict`).
            """
    )

    @Argument(help: "Model file written by `duet train` (default: the shipped model).") var model: String?
    @Argument(help: "Dataset CSV (for example a held-out sweep).") var data: String?
    @Flag(help: "Print JSON: {\"targets\": {\"meanResponse\": {\"mape\": ...}}, \"rows\": N}.") var json = false
    @Option(help: ArgumentHelp(
        "Also write each row's simulated, predicted and QNA values to this CSV (point, then NAME.simulated, "
            + "NAME.predicted, NAME.qna per target; qna empty where the baseline has no estimate; then "
            + "NAME.spread for an ensemble and NAME.low, NAME.high for a model with error bands), for tables "
            + "by feature family.", valueName: "csv"))
    var rows: String?

    func validate() throws {
        if model == nil { throw ValidationError("give a dataset CSV") }
    }

    func run() throws {
        // With one positional argument it is the dataset, for the shipped model.
        let (modelFile, dataFile) = data == nil ? (nil, model!) : (model, data!)
        let surrogate = try loadModel(named: modelFile)
        let dataset = try withDatasetErrors { try SurrogateDataset.load(path: dataFile) }
        if surrogate.composesStations { return try printComposed(surrogate, dataset) }
        if !surrogate.stationRange.contains(dataset.stations) {
            let error = ChainLengthError(modelStations: surrogate.stations, configStations: dataset.stations,
                                         modelMinStations: surrogate.minStations)
            throw CLIError("\(dataFile): \(error)")
        }
        let evaluation = ModelEvaluation(surrogate, on: dataset)
        let (report, baseline, coverage) = (evaluation.report, evaluation.baseline, evaluation.coverage)
        if let rows {
            try writeRows(rows, names: dataset.targetNames, dataset.examples, evaluation.predictions,
                          evaluation.baselines, surrogate: surrogate, spreads: evaluation.spreads)
        }
        if json {
            print(evaluation.json.text(numbers: .plain, pretty: true))
            return
        }
        print("\(report.rows) rows (\(dataset.skipped.count) unstable or invalid rows skipped); errors in percent")
        if let bands = surrogate.file.errorBands {
            print("in band: share of rows whose simulated value lies in the model's \(Int((bands.level * 100).rounded()))% error band; "
                  + "band +-: its mean half-width, in percent of the prediction (exp of the log half-width, minus 1)")
        }
        printTable(report, baseline: baseline, coverage: coverage)
    }
}

extension EvaluateCommand {
    /// A model of one station composed along each row's chain (`StationComposition`):
    /// the errors of what it predicts (no percentiles), beside QNA's.
    func printComposed(_ surrogate: SurrogateModel, _ dataset: SurrogateDataset) throws {
        let names = dataset.targetNames
        // Kept, in example order, for --rows: NaN where the composed chain has no value.
        var predictions: [[Double]] = [], baselines: [[Double?]] = []
        let report = SurrogateEvaluation.evaluate(dataset.examples, names: names) { example in
            let composed = StationComposition.predict(surrogate, example.config)
            let values = names.map { composed?.value($0) }
            predictions.append(values.map { $0 ?? .nan })
            return values
        }
        let baseline = SurrogateEvaluation.evaluate(dataset.examples, names: names) { example in
            let estimate = QueueingNetworkAnalyzer.estimate(example.config)
            baselines.append(names.map { estimate?.value($0) })
            return baselines[baselines.count - 1]
        }
        if let rows {
            try writeRows(rows, names: names, dataset.examples, predictions, baselines, surrogate: surrogate, spreads: [])
        }
        if json {
            print(evaluationJSON(report, baseline: baseline, coverage: [:]).text(numbers: .plain, pretty: true))
            return
        }
        print("\(report.rows) rows (\(dataset.skipped.count) unstable or invalid rows skipped), chains of "
              + "\(dataset.stations) stations composed station by station; errors in percent")
        printTable(report, baseline: baseline, coverage: [:])
    }
}

/// A model's errors on a dataset's rows beside QNA's, and the share of rows inside its
/// error bands (`duet evaluate`, and `duet run`'s held-out points).
struct ModelEvaluation {
    var report: EvaluationReport
    var baseline: EvaluationReport
    /// Per target, the share of rows inside the model's error band and the bands' mean
    /// half-width in log units; empty for a model without bands.
    var coverage: [String: (share: Double, halfWidth: Double)]
    /// In example order: the predictions with the members' spread, their values, and QNA's.
    var spreads: [SpreadPrediction]
    var predictions: [[Double]]
    var baselines: [[Double?]]

    init(_ surrogate: SurrogateModel, on dataset: SurrogateDataset) {
        // With the members' spread, which an ensemble's bands need; in bulk, on every core.
        let predicted = surrogate.predictWithSpread(dataset.examples.map(\.config))
        var predictions: [[Double]] = [], baselines: [[Double?]] = []
        report = SurrogateEvaluation.evaluate(dataset.examples, layout: surrogate.stations) { example in
            predictions.append(predicted[predictions.count].values)
            return predictions[predictions.count - 1]
        }
        baseline = SurrogateEvaluation.evaluate(dataset.examples, names: dataset.targetNames) { example in
            let estimate = QueueingNetworkAnalyzer.estimate(example.config)
            baselines.append(dataset.targetNames.map { estimate?.value($0) })
            return baselines[baselines.count - 1]
        }
        var row = 0
        coverage = surrogate.file.errorBands.map { bands in
            bands.coverage(names: surrogate.targetNames, examples: dataset.examples) { _ in
                defer { row += 1 }
                return predicted[row]
            }
        } ?? [:]
        spreads = predicted
        self.predictions = predictions
        self.baselines = baselines
    }

    var json: JSON { evaluationJSON(report, baseline: baseline, coverage: coverage) }
}

/// The table of `duet evaluate`: per target its errors overall and by load band, QNA's
/// MAPE, and with bands their coverage; "—" where a target has no value.
private func printTable(_ report: EvaluationReport, baseline: EvaluationReport,
                        coverage: [String: (share: Double, halfWidth: Double)]) {
    let header = ["target", "MAPE", "median", "p90", "p99", "max", "0-0.5", "0.5-0.8", "0.8-1", "QNA MAPE"]
        + (coverage.isEmpty ? [] : ["in band", "band +-"])
    print(header[0].padding(toLength: 34, withPad: " ", startingAt: 0) + header.dropFirst().map { $0.leftPadded(9) }.joined())
    for (target, base) in zip(report.targets, baseline.targets) {
        let o = target.overall
        let cells = [o.mape, o.median, o.p90, o.p99, o.max] + target.byLoad.map(\.mape) + [base.overall.mape]
            + (coverage.isEmpty ? [] : [(coverage[target.name]?.share ?? .nan) * 100,
                                         coverage[target.name].map { (exp($0.halfWidth) - 1) * 100 } ?? .nan])
        print(target.name.padding(toLength: 34, withPad: " ", startingAt: 0)
              + cells.map { ($0.isFinite ? String(format: "%.2f", $0) : "—").leftPadded(9) }.joined())
    }
}

/// One line per example: its point, then per target the simulated, predicted and QNA
/// values, the members' spread for an ensemble (log units) and the band's ends for a
/// model with bands.
private func writeRows(_ path: String, names: [String], _ examples: [SurrogateExample], _ predictions: [[Double]],
                       _ baselines: [[Double?]], surrogate: SurrogateModel, spreads: [SpreadPrediction]) throws {
    // A composed chain has neither the members' spread nor bands (`spreads` is empty).
    let ensemble = surrogate.predictor.memberCount > 1 && !spreads.isEmpty
    let banded = surrogate.file.errorBands != nil && !spreads.isEmpty
    var header = ["point"]
    for name in names {
        header += ["\(name).simulated", "\(name).predicted", "\(name).qna"]
        if ensemble { header.append("\(name).spread") }
        if banded { header += ["\(name).low", "\(name).high"] }
    }
    var lines = [header.joined(separator: ",")]
    for (i, example) in examples.enumerated() {
        let bands = banded ? surrogate.bands(example.config, spreads[i]) : []
        let cells = names.indices.flatMap { j in
            let predicted = predictions[i][j]
            var cells = ["\(example.targets[j])", predicted.isNaN ? "" : "\(predicted)", baselines[i][j].map { "\($0)" } ?? ""]
            if ensemble { cells.append(spreads[i].spread.map { "\($0[j])" } ?? "") }
            if banded { cells += bands[j].map { ["\($0.lowerBound)", "\($0.upperBound)"] } ?? ["", ""] }
            return cells
        }
        lines.append((["\(example.point)"] + cells).joined(separator: ","))
    }
    do {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw CLIError("--rows \(path): cannot write: \(error.localizedDescription)")
    }
}

/// `coverage`: per target, the share of rows inside the model's error band and the
/// bands' mean half-width in log units (`ErrorBands.coverage`).
func evaluationJSON(_ report: EvaluationReport, baseline: EvaluationReport,
                    coverage: [String: (share: Double, halfWidth: Double)] = [:]) -> JSON {
    func summary(_ s: ErrorSummary) -> [(String, JSON)] {
        [("mape", .number(s.mape)), ("median", .number(s.median)), ("p90", .number(s.p90)), ("p99", .number(s.p99)),
         ("max", .number(s.max))]
    }
    let targets: [(String, JSON)] = zip(report.targets, baseline.targets).map { target, base in
        var fields = summary(target.overall)
        fields.append(("byLoad", .object(zip(EvaluationReport.loadBands, target.byLoad).map { band, s in
            (band.name, .object(summary(s) + [("rows", .integer(s.count))]))
        })))
        fields.append(("analyticMape", base.overall.count > 0 ? .number(base.overall.mape) : .null))
        if let measured = coverage[target.name] {
            fields.append(("bandCoverage", .number(measured.share)))
            fields.append(("bandHalfWidth", .number(measured.halfWidth)))
        }
        return (target.name, .object(fields))
    }
    return .object([("targets", .object(targets)), ("rows", .integer(report.rows))])
}

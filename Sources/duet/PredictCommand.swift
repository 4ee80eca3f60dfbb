import Analytic
import ArgumentParser
import Foundation
import Simulation
import Surrogate

/// Where predictions come from.
enum PredictionMethod: String, ExpressibleByArgument, CaseIterable {
    /// The trained network.
    case surrogate
    /// The analytical baseline (Whitt's QNA with Allen-Cunneen waits): means only.
    case analytic
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict a configuration's metrics with a surrogate (or the analytical baseline).",
        discussion: """
            Prints the metric names and JSON shape of `duet simulate`, with the predicted \
            metrics only and "ci95": null. Warns, naming the key, when the configuration lies \
            outside what the model saw in training. With --csv, reads configurations as rows \
            of dataset input columns and writes one CSV row of predictions per row.
            """
    )

    @Argument(help: "Model file written by `duet train` (not needed with --method analytic).")
    var model: String?
    @Argument(help: "Configuration file (YAML or JSON).") var config: String?
    @Option(help: "A CSV of configurations (dataset input columns) instead of one file.") var csv: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "surrogate (default) or analytic.") var method: PredictionMethod = .surrogate

    func validate() throws {
        if method == .surrogate && model == nil { throw ValidationError("give a model file (or --method analytic)") }
        if (config == nil) == (csv == nil) && !(method == .analytic && model != nil && csv == nil) {
            throw ValidationError("give either a configuration file or --csv FILE")
        }
    }

    func run() throws {
        // With --method analytic the one positional argument is the configuration.
        let configPath = method == .analytic && config == nil ? model : config
        let surrogate = method == .surrogate ? try withDatasetErrors { try SurrogateModel.load(path: model!) } : nil
        let predict: (TandemConfig) -> [String: Double] = { config in
            if let surrogate {
                return Dictionary(uniqueKeysWithValues: zip(surrogate.targetNames, surrogate.predict(config)))
            }
            guard let estimate = QueueingNetworkAnalyzer.estimate(config) else { return [:] }
            return Dictionary(uniqueKeysWithValues: MetricCatalog.names.compactMap { name in
                estimate.value(name).map { (name, $0) }
            })
        }
        if let csv {
            try predictCSV(csv, surrogate: surrogate, predict: predict)
            return
        }
        var config = try loadConfig(configPath!)
        guard config.stations.count == MetricCatalog.stationCount else {
            // Features, dataset columns and model files describe the two-station tandem.
            throw CLIError("\(configPath!): stations: duet predict takes a two-station tandem, got "
                               + "\(config.stations.count) stations; duet simulate runs chains of "
                               + "\(ConfigLoader.stationCounts.lowerBound) to \(ConfigLoader.stationCounts.upperBound)")
        }
        // The input-domain check reads the row as a sweep would record it.
        for warning in surrogate?.domainWarnings(config) ?? [] { log("warning: \(warning)") }
        if config.trace != nil {
            // A replayed trace enters a prediction as its dataset row describes it.
            config = try ConfigColumns.datasetView(config)
            log("note: the trace is predicted as a sweep over it records it (" + String(
                format: "rate %.4g batches/s, scv %.4g, batch mean %.4g", config.arrivalRate, config.interArrival.scv,
                config.batch.mean) + "): right for a surrogate trained on a sweep over this trace "
                + "(docs/configuration.md); to simulate it, use duet simulate")
        }
        let values = predict(config)
        if values.isEmpty { throw CLIError("the analytical baseline has no estimate: a station is overloaded") }
        let stationNames = config.stations.map(\.name)
        if json {
            print(predictionJSON(values, stationNames: stationNames).serialized(pretty: true))
        } else {
            for name in MetricCatalog.names where values[name] != nil {
                print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + ReportTable.format(values[name]!))
            }
        }
    }

    func predictCSV(_ path: String, surrogate: SurrogateModel?, predict: (TandemConfig) -> [String: Double]) throws {
        let table = try withDatasetErrors { try DatasetTable.read(path: path) }
        let names = surrogate?.targetNames ?? MetricCatalog.names
        print((["row"] + names).joined(separator: ","))
        for row in table.rows {
            let config = try withDatasetErrors { try ConfigColumns.config(row: row) }
            for warning in surrogate?.domainWarnings(config) ?? [] { log("warning: row \(row.number): \(warning)") }
            let values = predict(config)
            print(([String(row.number)] + names.map { values[$0].map { "\($0)" } ?? "" }).joined(separator: ","))
        }
    }
}

/// MODEL.md's one-object shape for predicted values (metrics not predicted are left out).
func predictionJSON(_ values: [String: Double], stationNames: [String?]) -> JSONValue {
    func estimate(_ value: Double) -> JSONValue { .object([("mean", .number(value)), ("ci95", .null)]) }
    var members: [(String, JSONValue)] = MetricCatalog.systemMetrics.compactMap { name in
        values[name].map { (name, estimate($0)) }
    }
    let stations: [JSONValue] = stationNames.enumerated().map { index, stationName in
        var fields: [(String, JSONValue)] = [("name", stationName.map { .string($0) } ?? .null)]
        for metric in MetricCatalog.stationMetrics {
            if let value = values["stations.\(index + 1).\(metric)"] { fields.append((metric, estimate(value))) }
        }
        return .object(fields)
    }
    members.append(("stations", .array(stations)))
    members.append(("predicted", .bool(true)))
    return .object(members)
}

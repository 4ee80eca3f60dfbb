import Analytic
import ArgumentParser
import DuetSupport
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
            outside what the model saw in training (or, for a model trained on the documented \
            domain, outside that domain: docs/domain.md). With --csv, reads configurations as rows \
            of dataset input columns and writes one CSV row of predictions per row.

            Without a model file (`duet predict CONFIG`, `duet predict --csv FILE`) the shipped \
            model is used: $DUET_MODEL if set, else duet-tandem-v1.json beside the binary, in \
            PREFIX/share/duet/, or in models/ of the checkout the binary was built in.
            """
    )

    @Argument(help: "Model file written by `duet train` (default: the shipped model; not used with --method analytic).")
    var model: String?
    @Argument(help: "Configuration file (YAML or JSON).") var config: String?
    @Option(help: "A CSV of configurations (dataset input columns) instead of one file.") var csv: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "surrogate (default) or analytic.") var method: PredictionMethod = .surrogate

    /// The model file named and the configuration file: with one positional argument and
    /// no --csv, it is the configuration (the shipped model predicts it).
    var files: (model: String?, config: String?) {
        config == nil && csv == nil ? (nil, model) : (model, config)
    }

    func validate() throws {
        if (files.config == nil) == (csv == nil) {
            throw ValidationError("give either a configuration file or --csv FILE")
        }
        if method == .analytic && files.model != nil {
            throw ValidationError("--method analytic uses no model file; give the configuration only")
        }
    }

    func run() throws {
        let configPath = files.config
        let surrogate = method == .surrogate ? try loadModel(named: files.model) : nil
        let composed = surrogate?.composesStations == true
        let predict: (TandemConfig) -> [String: Double] = { config in
            if let surrogate {
                // A composed chain has no values where QNA finds a station overloaded.
                return Dictionary(uniqueKeysWithValues: zip(surrogate.chainTargetNames(stations: config.stations.count),
                                                            surrogate.predictChain(config))).filter { !$0.value.isNaN }
            }
            guard let estimate = QueueingNetworkAnalyzer.estimate(config) else { return [:] }
            return Dictionary(uniqueKeysWithValues: MetricCatalog.names(stations: config.stations.count).compactMap { name in
                estimate.value(name).map { (name, $0) }
            })
        }
        if let csv {
            try predictCSV(csv, surrogate: surrogate, predict: predict)
            return
        }
        var config = try loadConfig(configPath!)
        if let surrogate, !composed {
            do { try surrogate.checkStations(config) } catch { throw CLIError("\(configPath!): \(error)") }
        }
        // The input-domain check reads the row as a sweep would record it.
        for warning in surrogate?.chainDomainWarnings(config) ?? [] { log("warning: \(warning)") }
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
        if composed {
            log("note: composed station by station along the chain (duet train --per-station): the stations' "
                + "responses and instance-seconds per job, and their sum; no percentiles and no error bands")
        }
        let stationNames = config.stations.map(\.name)
        var bands: [String: ClosedRange<Double>] = [:]
        if let surrogate, !composed {
            let names = surrogate.targetNames
            for (name, band) in zip(names, surrogate.bands(config, predicted: names.map { values[$0]! })) {
                bands[name] = band
            }
        }
        let level = composed ? nil : surrogate?.file.errorBands?.level
        if json {
            var writer = JSONWriter(numbers: .plain, pretty: true)
            writePrediction(values, stationNames: stationNames, bands: bands, level: level, to: &writer)
            print(String(decoding: writer.bytes, as: UTF8.self))
        } else {
            if let level { print("bands: \(Int((level * 100).rounded()))% conformal error bands, calibrated on the model's validation split (duet evaluate measures them)") }
            for name in MetricCatalog.names(stations: config.stations.count) where values[name] != nil {
                let band = bands[name].map { "   [\(ReportTable.format($0.lowerBound)), \(ReportTable.format($0.upperBound))]" } ?? ""
                print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + ReportTable.format(values[name]!) + band)
            }
        }
    }

    func predictCSV(_ path: String, surrogate: SurrogateModel?, predict: (TandemConfig) -> [String: Double]) throws {
        let composed = surrogate?.composesStations == true
        if let surrogate, !composed {
            try predictCSVInBulk(path, surrogate: surrogate)
            return
        }
        let table = try withDatasetErrors { try DatasetTable.read(path: path) }
        let stations = (1...).prefix { table.index(of: "stations.\($0).servers") != nil }.count
        let names = surrogate?.chainTargetNames(stations: max(1, stations)) ?? MetricCatalog.names(stations: max(1, stations))
        print((["row"] + names).joined(separator: ","))
        for row in table.rows {
            let config = try withDatasetErrors { try ConfigColumns.config(row: row) }
            if let surrogate, !composed {
                do { try surrogate.checkStations(config) } catch { throw CLIError("\(path): row \(row.number): \(error)") }
            }
            for warning in surrogate?.chainDomainWarnings(config) ?? [] { log("warning: row \(row.number): \(warning)") }
            let values = predict(config)
            print(([String(row.number)] + names.map { values[$0].map { "\($0)" } ?? "" }).joined(separator: ","))
        }
    }

    /// `predictCSV` for a model that predicts whole chains: the rows' configurations read
    /// straight from the file's bytes (`DatasetTable.configs(path:)`, no table of text
    /// cells), `chunk` at a time in bulk on every core (`SurrogateModel.predictWithDomainWarnings`),
    /// each row's warnings, then its line (the model's targets in `targetNames` order; a
    /// value that is not a number left empty).
    private func predictCSVInBulk(_ path: String, surrogate: SurrogateModel) throws {
        let all = try withDatasetErrors { try DatasetTable.configs(path: path) }
        print((["row"] + surrogate.targetNames).joined(separator: ","))
        let chunk = 8192
        var start = 0
        while start < all.count {
            let rows = all[start..<min(all.count, start + chunk)]
            start += chunk
            for (number, config) in rows {
                do { try surrogate.checkStations(config) } catch { throw CLIError("\(path): row \(number): \(error)") }
            }
            let (values, warnings) = surrogate.predictWithDomainWarnings(rows.map(\.config))
            var text: [UInt8] = []
            text.reserveCapacity(rows.count * 24 * (surrogate.targetNames.count + 1))
            for (index, row) in rows.enumerated() {
                for warning in warnings[index] { log("warning: row \(row.number): \(warning)") }
                text.appendDecimal(row.number)
                for value in values[index] {
                    text.append(UInt8(ascii: ","))
                    if !value.isNaN { text.appendShortestText(value) }  // as `"\(value)"`
                }
                text.append(UInt8(ascii: "\n"))
            }
            print(String(decoding: text, as: UTF8.self), terminator: "")
        }
    }
}

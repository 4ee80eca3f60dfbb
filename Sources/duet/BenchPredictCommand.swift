import ArgumentParser
import DuetSupport
import Foundation
import Serve
import Simulation
import Surrogate

/// `duet bench predict`: how fast a model file answers, on the configurations of a
/// dataset: one configuration at a time (what `duet predict` and a single
/// `POST /v1/predict` pay, scaling included) and in bulk.
struct BenchPredict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "One-configuration latency and bulk configurations per second of a model file.",
        discussion: "Without a model file the shipped model is measured (found as by `duet predict`). The "
            + "configurations are the rows of DATA.csv (a dataset written by `duet sweep`)."
    )

    @Argument(help: "Model file (default: the shipped model).") var model: String?
    @Argument(help: "Dataset CSV whose configurations are predicted.") var data: String?
    @Option(help: "One-configuration calls to time (the median is printed).") var calls = 20_000
    @Option(help: "Configurations per timed bulk prediction (the dataset's, repeated).") var bulkRows = 100_000
    @Option(help: "Threads of the bulk prediction.") var threads = 2
    @Option(help: "Rows of the timed CSV body (as `POST /v1/predict` with text/csv reads it; 0: skip).") var csvRows = 10_000
    @Option(help: "Configurations of the timed JSON list (as `POST /v1/predict` reads a list; 0: skip).") var jsonRows = 1_000
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        if model == nil { throw ValidationError("give a dataset CSV") }
        if calls < 1 { throw ValidationError("--calls must be at least 1") }
        if bulkRows < 1 { throw ValidationError("--bulk-rows must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if csvRows < 0 { throw ValidationError("--csv-rows must be at least 0") }
        if jsonRows < 0 { throw ValidationError("--json-rows must be at least 0") }
    }

    func run() throws {
        // With one positional argument it is the dataset, for the shipped model.
        let (modelFile, dataFile) = data == nil ? (nil, model!) : (model, data!)
        let surrogate = try loadModel(named: modelFile)
        let dataset = try withDatasetErrors { try SurrogateDataset.load(path: dataFile) }
        let configs = dataset.examples.map(\.config).filter { surrogate.stationRange.contains($0.stations.count) }
        guard !configs.isEmpty else { throw CLIError("\(dataFile): no stable configuration of a length the model predicts") }
        #if DEBUG
        log("warning: debug build; measure with `swift build -c release`")
        #endif
        let figures = SurrogateBenchmark.prediction(model: surrogate, configs: configs, calls: calls,
                                                    bulkRows: bulkRows, threads: threads)
        let csv = surrogate.composesStations || csvRows == 0 ? nil : csvBodyRowsPerSecond(surrogate, configs)
        let request = oneJSONRequestMicroseconds(surrogate, configs)
        let list = jsonRows == 0 ? nil : jsonListRowsPerSecond(surrogate, configs)
        let architecture = surrogate.predictor.members.map { a in
            "\(a.architecture.inputs) -> \(a.architecture.hidden.map(String.init).joined(separator: " x ")) -> \(a.architecture.outputs)"
        }
        let output = summary.output
        output.line("model:                     \(modelFile ?? "the shipped model"), \(figures.members) network(s): "
                    + Array(Set(architecture)).sorted().joined(separator: ", "))
        output.line("configurations:            \(figures.configurations) from \(dataFile)")
        output.line("BLAS kernels:              \(BLAS.kernels)")
        output.line("one-row weights:           \(surrogate.predictor.oneRowWeights)")
        output.line(String(format: "one configuration:         %.2f us (median of %d)", figures.oneRowMicroseconds, calls))
        output.line(String(format: "one, with members' spread: %.2f us (median of %d)", figures.oneRowWithSpreadMicroseconds, calls))
        output.line(String(format: "bulk:                      %.0f configurations/s (%d, %d thread(s), best of 3)",
                           figures.bulkRowsPerSecond, figures.bulkRows, threads))
        output.line(String(format: "one JSON request, to text: %.2f us (median of %d)", request, calls))
        if let list {
            output.line(String(format: "JSON list, to text:        %.0f rows/s (%d rows, 1 thread, best of 3)", list, jsonRows))
        }
        if let csv {
            output.line(String(format: "CSV body, parsed to text:  %.0f rows/s (%d rows, 1 thread, best of 3)", csv, csvRows))
        }
        output.object([
            "members": .integer(figures.members), "configurations": .integer(figures.configurations),
            "oneRowMicroseconds": .number(figures.oneRowMicroseconds),
            "oneRowWithSpreadMicroseconds": .number(figures.oneRowWithSpreadMicroseconds),
            "bulkRows": .integer(figures.bulkRows), "bulkRowsPerSecond": .number(figures.bulkRowsPerSecond),
            "threads": .integer(threads), "blasKernels": .string(BLAS.kernels),
            "oneRowWeights": .string(surrogate.predictor.oneRowWeights),
            "csvRows": .integer(csv == nil ? 0 : csvRows), "csvRowsPerSecond": csv.map { .number($0) } ?? .null,
            "oneJSONRequestMicroseconds": .number(request),
            "jsonRows": .integer(list == nil ? 0 : jsonRows), "jsonRowsPerSecond": list.map { .number($0) } ?? .null,
        ])
    }

    /// What `duet serve` does with a single-configuration JSON request, without HTTP:
    /// the body parsed and read into a configuration, predicted (with the members'
    /// spread and the domain check) and the answer written as JSON text.
    private func oneJSONRequestMicroseconds(_ model: SurrogateModel, _ configs: [TandemConfig]) -> Double {
        let service = PredictionService(model: model, modelName: "bench")
        let bodies = configs.prefix(1_000).map { Array(Self.requestJSON($0).text(numbers: .shortest).utf8) }
        var times: [Double] = []
        times.reserveCapacity(calls)
        for call in 0..<calls {
            let start = monotonicSeconds()
            do {
                withExtendedLifetime(try service.predict(body: bodies[call % bodies.count])) {}
            } catch {
                fatalError("the benchmark's JSON request was refused: \(error)")
            }
            times.append(monotonicSeconds() - start)
        }
        return times.sorted()[times.count / 2] * 1e6
    }

    /// What `duet serve` does with a JSON list of configurations, without HTTP: the body
    /// parsed, each configuration read, all predicted in one pass, and the list of
    /// answers written as JSON text, one thread.
    private func jsonListRowsPerSecond(_ model: SurrogateModel, _ configs: [TandemConfig]) -> Double {
        // A list may mix chain lengths (a CSV body, with one header, may not).
        let list = JSON.array((0..<jsonRows).map { Self.requestJSON(configs[$0 % configs.count]) })
        let body = list.bytes(numbers: .shortest)
        let service = PredictionService(model: model, modelName: "bench",
                                        options: ServeOptions(maxBatch: max(jsonRows, ServeOptions().maxBatch)))
        return Double(jsonRows) / bestOfThree {
            withExtendedLifetime(try service.predict(body: body)) {}
        }
    }

    /// A configuration as a request's JSON (docs/configuration.md's keys); an infinite
    /// keepAlive is left out, as its default.
    static func requestJSON(_ config: TandemConfig) -> JSON {
        var arrival: [(String, JSON)] = [("rate", .number(config.arrivalRate))]
        if let onOff = config.onOff {
            arrival.append(("onOff", .object([("onFraction", .number(onOff.onFraction)), ("meanOn", .number(onOff.meanOn))])))
        } else {
            arrival.append(("scv", .number(config.arrivalScv)))
        }
        func moments(_ spec: MomentSpec) -> JSON { .object([("mean", .number(spec.mean)), ("scv", .number(spec.scv))]) }
        let stations: [JSON] = config.stations.map { station in
            var keys: [(String, JSON)] = [
                ("servers", .integer(station.servers)), ("service", moments(station.service)),
                ("setup", .number(station.setup)), ("maxBatch", .integer(station.maxBatch)),
                ("timeout", .number(station.timeout)), ("coldStart", moments(station.coldStart)),
            ]
            if station.keepAlive.isFinite { keys.append(("keepAlive", .number(station.keepAlive))) }
            return .object(keys)
        }
        return .object([
            ("arrival", .object(arrival)),
            ("batch", .object([("dist", .string(config.batch.distName)), ("mean", .number(config.batch.mean))])),
            ("stations", .array(stations)),
        ])
    }

    /// What `duet serve` does with a CSV request, without HTTP: the body's rows read
    /// into configurations, predicted, and the answer written as CSV text, one thread.
    private func csvBodyRowsPerSecond(_ model: SurrogateModel, _ configs: [TandemConfig]) -> Double {
        let stations = configs[0].stations.count
        let sameLength = configs.filter { $0.stations.count == stations }
        var body = ConfigColumns.names(stations: stations).joined(separator: ",") + "\n"
        for index in 0..<csvRows {
            body += ConfigColumns.cells(of: sameLength[index % sameLength.count]).joined(separator: ",") + "\n"
        }
        let service = PredictionService(model: model, modelName: "bench",
                                        options: ServeOptions(maxBatch: max(csvRows, ServeOptions().maxBatch)))
        let bytes = Array(body.utf8)
        return Double(csvRows) / bestOfThree {
            withExtendedLifetime(try service.predictCSV(body: bytes)) {}
        }
    }

    /// The shortest of three runs of `request`, in seconds; a refused request is the
    /// benchmark's own mistake.
    private func bestOfThree(_ request: () throws -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = monotonicSeconds()
            do {
                try request()
            } catch {
                fatalError("the benchmark's body was refused: \(error)")
            }
            best = min(best, monotonicSeconds() - start)
        }
        return best
    }
}

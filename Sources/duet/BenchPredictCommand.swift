import ArgumentParser
import DuetSupport
import Foundation
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
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        if model == nil { throw ValidationError("give a dataset CSV") }
        if calls < 1 { throw ValidationError("--calls must be at least 1") }
        if bulkRows < 1 { throw ValidationError("--bulk-rows must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
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
        let architecture = surrogate.predictor.members.map { a in
            "\(a.architecture.inputs) -> \(a.architecture.hidden.map(String.init).joined(separator: " x ")) -> \(a.architecture.outputs)"
        }
        let output = summary.output
        output.line("model:                     \(modelFile ?? "the shipped model"), \(figures.members) network(s): "
                    + Array(Set(architecture)).sorted().joined(separator: ", "))
        output.line("configurations:            \(figures.configurations) from \(dataFile)")
        output.line(String(format: "one configuration:         %.2f us (median of %d)", figures.oneRowMicroseconds, calls))
        output.line(String(format: "one, with members' spread: %.2f us (median of %d)", figures.oneRowWithSpreadMicroseconds, calls))
        output.line(String(format: "bulk:                      %.0f configurations/s (%d, %d thread(s), best of 3)",
                           figures.bulkRowsPerSecond, figures.bulkRows, threads))
        output.object([
            "members": .integer(figures.members), "configurations": .integer(figures.configurations),
            "oneRowMicroseconds": .number(figures.oneRowMicroseconds),
            "oneRowWithSpreadMicroseconds": .number(figures.oneRowWithSpreadMicroseconds),
            "bulkRows": .integer(figures.bulkRows), "bulkRowsPerSecond": .number(figures.bulkRowsPerSecond),
            "threads": .integer(threads),
        ])
    }
}

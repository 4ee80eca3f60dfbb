import ArgumentParser
import DuetSupport
import Foundation
import Surrogate

/// `duet bench train`: the reference surrogate workload (20 inputs, 3 x 128 silu,
/// 6 outputs, batch 256) on 50,000 synthetic rows; prints training samples per
/// second, single-row prediction latency and batch prediction throughput.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training samples per second, one-row latency and batch rows per second of the reference network."
    )

    @Option(help: "Worker threads for training and batch prediction (OpenBLAS runs single-threaded in each).")
    var threads: Int = 2
    @Option(help: "Training epochs.")
    var epochs: Int = 5
    @Option(help: "Synthetic training rows (a tenth as many more are used for validation).")
    var rows: Int = 50_000
    @Option(help: "Hidden-layer activation: relu, silu or tanh.")
    var activation: String = "silu"
    @Option(help: "Rows per timed batch prediction.")
    var batchRows: Int = 500_000
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if rows < 10 { throw ValidationError("--rows must be at least 10") }
        if batchRows < 1 { throw ValidationError("--batch-rows must be at least 1") }
        if Activation(rawValue: activation) == nil {
            throw ValidationError("--activation must be one of relu, silu, tanh; got \(activation)")
        }
    }

    func run() throws {
        let figures = try SurrogateBenchmark.run(
            rows: rows, epochs: epochs, threads: threads, activation: Activation(rawValue: activation)!,
            batchRows: batchRows)
        #if DEBUG
        log("warning: debug build; measure with `swift build -c release`")
        #endif
        let output = summary.output
        output.line("network:                 20 -> 3 x 128 \(activation) -> 6, batch 256, AdamW")
        output.line("BLAS kernels:            \(BLAS.kernels)")
        output.line("rows x epochs:           \(figures.rows) x \(figures.epochs), \(figures.threads) thread(s)")
        output.line(String(format: "training:                %.2f s, %.0f samples/s", figures.trainingSeconds, figures.trainingSamplesPerSecond))
        output.line(String(format: "final train loss:        %.4f (validation MAPE %.2f %%)", figures.finalTrainLoss, figures.meanValidationMAPE))
        output.line(String(format: "one-row prediction:      %.2f us (median)", figures.singleRowMicroseconds))
        output.line(String(format: "batch prediction:        %.0f rows/s (%d rows, best of 3)", figures.batchRowsPerSecond, figures.batchRows))
        output.object([
            "network": ["inputs": 20, "layers": 3, "width": 128, "outputs": 6, "activation": .string(activation)],
            "rows": .integer(figures.rows), "epochs": .integer(figures.epochs), "threads": .integer(figures.threads),
            "trainingSeconds": .number(figures.trainingSeconds),
            "trainingSamplesPerSecond": .number(figures.trainingSamplesPerSecond),
            "finalTrainLoss": .number(figures.finalTrainLoss), "validationMAPE": .number(figures.meanValidationMAPE),
            "oneRowMicroseconds": .number(figures.singleRowMicroseconds),
            "batchRows": .integer(figures.batchRows), "batchRowsPerSecond": .number(figures.batchRowsPerSecond),
            "blasKernels": .string(BLAS.kernels),
        ])
    }
}

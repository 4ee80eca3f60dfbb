import ArgumentParser
import DuetSupport
import Foundation
import Simulation

struct FitTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-trace",
        abstract: "Fit renewal, on/off and Markov-modulated batch arrival processes (and work moments) to a CSV trace."
    )

    @Argument(help: "Trace CSV: one row per job with its arrival time.")
    var trace: String
    @OptionGroup var traceOptions: TraceOptions
    @Option(help: "Write the fitted arrival and batch sections to this YAML file.")
    var out: String?
    @Flag(help: "Print the estimates as one JSON object instead of text.")
    var json = false

    func run() throws {
        let loaded = try traceOptions.load(path: trace)
        let fit = TraceFit(loaded)
        if let out {
            do {
                try fit.yaml.write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
        }
        print(json ? fit.json.text(numbers: .plain, pretty: true) : fit.text)
    }
}

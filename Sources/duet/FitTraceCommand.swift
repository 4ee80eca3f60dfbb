import ArgumentParser
import Foundation
import Simulation

struct FitTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-trace",
        abstract: "Fit renewal and on/off batch arrival processes (and work moments) to a CSV trace."
    )

    @Argument(help: "Trace CSV: one row per job with its arrival time.")
    var trace: String
    @Option(help: "Column with the arrival time (default: TIMESTAMP).")
    var time: String?
    @Option(help: "Unit of a numeric time column: s, ms or us.")
    var timeUnit: String = "s"
    @Option(help: "Column whose value (times --work-scale) multiplies each job's service time.")
    var work: String?
    @Option(help: "Multiplier for the work column.")
    var workScale: Double = 1
    @Option(help: "Seconds: rows within this window of a batch's first row join that batch.")
    var batchWindow: Double = 0
    @Option(help: "Write the fitted arrival and batch sections to this YAML file.")
    var out: String?
    @Flag(help: "Print the estimates as one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard TraceTimeUnit(rawValue: timeUnit) != nil else {
            throw ValidationError("--time-unit: expected one of s, ms, us, got \(timeUnit)")
        }
        guard workScale > 0, workScale.isFinite else { throw ValidationError("--work-scale: must be > 0, got \(workScale)") }
        guard batchWindow >= 0, batchWindow.isFinite else {
            throw ValidationError("--batch-window: must be >= 0 seconds, got \(batchWindow)")
        }
    }

    func run() throws {
        let settings = TraceSettings(path: trace, timeColumn: time ?? TraceSettings.defaultTimeColumn,
                                     timeUnit: TraceTimeUnit(rawValue: timeUnit)!, workColumn: work,
                                     workScale: workScale, batchWindow: batchWindow)
        let loaded: ArrivalTrace
        do {
            loaded = try ArrivalTrace.load(settings)
        } catch let error as TraceError {
            let hint = time == nil && error.column == settings.timeColumn && error.row == nil
                ? "; name the time column with --time" : ""
            throw CLIError("\(error)\(hint)")
        }
        let fit = TraceFit(loaded)
        if let out {
            do {
                try fit.yaml.write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
        }
        print(json ? fit.json.serialized(pretty: true) : fit.text)
    }
}

import ArgumentParser
import Simulation

/// How to read a trace: the flags `duet fit-trace` and `duet validate` share, as the
/// keys of `arrival.trace` in a configuration (docs/configuration.md).
struct TraceOptions: ParsableArguments {
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

    func validate() throws {
        guard TraceTimeUnit(rawValue: timeUnit) != nil else {
            throw ValidationError("--time-unit: expected one of s, ms, us, got \(timeUnit)")
        }
        guard workScale > 0, workScale.isFinite else { throw ValidationError("--work-scale: must be > 0, got \(workScale)") }
        guard batchWindow >= 0, batchWindow.isFinite else {
            throw ValidationError("--batch-window: must be >= 0 seconds, got \(batchWindow)")
        }
    }

    func settings(path: String) -> TraceSettings {
        TraceSettings(path: path, timeColumn: time ?? TraceSettings.defaultTimeColumn,
                      timeUnit: TraceTimeUnit(rawValue: timeUnit) ?? .s, workColumn: work, workScale: workScale,
                      batchWindow: batchWindow)
    }

    /// Reads the trace at `path`, with errors as CLI errors (and a hint when the
    /// default time column is missing).
    func load(path: String) throws -> ArrivalTrace {
        let settings = settings(path: path)
        do {
            return try ArrivalTrace.load(settings)
        } catch let error as DataFileError {
            let hint = time == nil && error.column == settings.timeColumn && error.row == nil
                ? "; name the time column with --time" : ""
            throw CLIError("\(error)\(hint)")
        }
    }
}

import Analytic
import ArgumentParser
import DuetSupport
import Foundation
import Simulation

/// Flags that override a configuration file's `run` section.
struct RunOverrides: ParsableArguments {
    @Option(help: "Jobs per replication (with --precision: the first try).")
    var jobs: Int?
    @Option(help: "Independent replications.")
    var replications: Int?
    @Option(help: "Random seed; the same seed gives the same numbers on any machine.")
    var seed: UInt64?
    @Option(help: "Fraction of each replication's jobs dropped as warm-up, in [0, 1).")
    var warmup: Double?
    @Option(help: "Add jobs until the 95% half-width of meanResponse is below this fraction of the mean.")
    var precision: Double?
    @Option(help: "Threads for replications (default: all cores).")
    var threads: Int?
    @Flag(help: "Correct the response metrics by control variates (run.controlVariates): the same mean, a narrower half-width (docs/control-variates.md).")
    var controlVariates = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs: must be >= 1, got \(jobs)") }
        if let replications, replications < 1 {
            throw ValidationError("--replications: must be >= 1, got \(replications)")
        }
        if let warmup, !(0..<1).contains(warmup) { throw ValidationError("--warmup: must be in [0, 1), got \(warmup)") }
        if let precision, !(precision > 0 && precision < 1) {
            throw ValidationError("--precision: must be in (0, 1), got \(precision)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
    }

    func apply(to config: inout TandemConfig) throws {
        if let jobs {
            if let trace = config.trace {
                throw ValidationError("--jobs: not used with arrival.trace: every replication replays the whole "
                                      + "trace (\(trace.jobCount) jobs) once")
            }
            config.run.jobs = jobs
            config.run.maxJobs = max(config.run.maxJobs, jobs)
        }
        if let replications { config.run.replications = replications }
        if let seed { config.run.seed = seed }
        if let warmup { config.run.warmup = warmup }
        if let precision { config.run.precision = precision }
        if let threads { config.run.threads = threads }
        if controlVariates { config.run.controlVariates = true }
        if config.run.precision != nil && config.run.replications < 2 {
            throw ValidationError("--precision needs at least 2 replications to estimate a half-width")
        }
    }
}

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a configuration exactly and print its metrics with 95% half-widths.",
        discussion: """
            With a precision target (run.precision or --precision) the run adds jobs until \
            meanResponse's half-width meets it; each round that misses it is reported on stderr \
            (on a terminal, or with --progress). Exits with status 2 when the configuration is unstable.
            """
    )

    @Argument(help: "Configuration file (YAML or JSON, the format of MODEL.md).")
    var file: String
    @Flag(help: "Print MODEL.md's one-object JSON shape instead of a table.")
    var json = false
    @OptionGroup var overrides: RunOverrides
    @OptionGroup var progress: ProgressOption

    func run() throws {
        var config = try loadConfig(file)
        try overrides.apply(to: &config)
        try ConfigLoader.checkStability(config)
        let controls = ControlVariates.coefficients(for: config)
        if config.run.usesControlVariates && controls == nil {
            progress.line("control variates: the analytical baseline has no estimate for this configuration "
                          + "(a station at or past its capacity as it sees it); plain averages")
        }
        let report = Simulator.simulate(config, controls: controls) { round in progress.line(Self.describe(round)) }
        if json {
            print(report.json.text(numbers: .plain, pretty: true))
        } else {
            print(ReportTable.render(report))
        }
        if !report.stable { throw ExitCode(2) }
    }

    /// A round that missed the precision target, for progress.
    static func describe(_ round: PrecisionRound) -> String {
        String(format: "%.1f s: half-width %.2f%% of meanResponse after %d jobs x %d replications (target %.2f%%); next: %@",
               round.seconds, round.relativeHalfWidth * 100, round.jobs, round.replications, round.target * 100,
               round.nextIsReplications ? "\(round.next) replications in all" : "\(round.next) jobs each")
    }
}

/// Loads a configuration, turning its errors into a clean message without a stack.
func loadConfig(_ path: String) throws -> TandemConfig {
    do {
        return try ConfigLoader.load(path: path)
    } catch let error as ConfigError {
        // Errors about the file itself (missing, bad YAML) already name it.
        throw CLIError(error.path.isEmpty ? "\(error)" : "\(path): \(error)")
    }
}

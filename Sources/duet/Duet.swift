// The `duet` tool: a thin root command; each subcommand parses, validates and
// calls the libraries.

import ArgumentParser
import DuetSupport

@main
struct Duet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "duet",
        abstract: "Fast, accurate performance models of serverless batch tandems.",
        version: "duet \(DuetVersion.string)",
        subcommands: [RunCommand.self, SimulateCommand.self, SweepCommand.self, TrainCommand.self, PredictCommand.self, EvaluateCommand.self, FitTraceCommand.self, ValidateCommand.self, PlanCommand.self, ReportCommand.self, BenchCommand.self, CoordinatorCommand.self, WorkerCommand.self, StatusCommand.self, RunsCommand.self, CancelCommand.self, KeysCommand.self, SearchCommand.self, ServeCommand.self]
    )
}

/// A failure while running a command (bad file, bad data): printed as
/// "Error: message" without the usage text that argument errors get.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

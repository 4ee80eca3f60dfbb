// The `duet` tool: a thin root command; each subcommand parses, validates and
// calls the libraries.

import ArgumentParser
import DuetSupport

@main
struct Duet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "duet",
        abstract: "Fast, accurate performance models of serverless batch tandems.",
        discussion: """
            Exit status: 0 when the command did what was asked; 1 on an error (the message on \
            stderr names the file, key or task at fault); 2 when the answer is no (`simulate`: the \
            configuration is unstable; `plan`: no configuration meets the objectives); 64 on a bad \
            command line; 130 when interrupted (the same command again resumes a sweep, search or run).

            Environment: DUET_COORDINATOR and DUET_KEYS stand in for --coordinator and --keys \
            (a flag given wins; an empty value counts as unset); DUET_MODEL names the model file \
            of predict, evaluate, plan and serve when none is given.
            """,
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

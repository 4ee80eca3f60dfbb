// The `duet` tool: a thin root command; each subcommand parses, validates and
// calls the libraries.

import ArgumentParser

@main
struct Duet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "duet",
        abstract: "Fast, accurate performance models of serverless batch tandems.",
        subcommands: [SimulateCommand.self, SweepCommand.self, TrainCommand.self, PredictCommand.self, EvaluateCommand.self, BenchCommand.self]
    )
}

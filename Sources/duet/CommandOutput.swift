// What the commands print besides their result: `--json` for the commands that do
// long work (sweep, train, search, run, keys, bench), the summary as one
// JSON object on stdout after the work, the text summary then on stderr beside the
// progress, so that stdout parses; and `--progress` for the commands whose progress
// shows only on a terminal (simulate, validate, plan).

import ArgumentParser
import DuetSupport
import Foundation

/// The `--json` flag, shared.
struct JSONSummaryOption: ParsableArguments {
    @Flag(help: "Print a JSON summary on stdout; progress and the text summary go to stderr.")
    var json = false

    var output: SummaryOutput { SummaryOutput(json: json) }
}

/// Where a command's summary goes: its text to stdout, or to stderr under `--json`,
/// whose one object alone is on stdout.
struct SummaryOutput: Sendable {
    var json: Bool
    /// False for a phase of a larger command (`duet run`'s sweep): its text follows
    /// `json`, its object is left out (the command prints its own).
    var printsObject = true

    static let text = SummaryOutput(json: false)

    /// The same for a phase of this command: text where this command's goes, no object.
    var phase: SummaryOutput { SummaryOutput(json: json, printsObject: false) }

    /// A line of the text summary.
    func line(_ text: String) {
        if json { log(text) } else { print(text) }
    }

    /// The JSON summary (only under `--json`), on one line.
    func object(_ value: @autoclosure () -> JSON) {
        guard json, printsObject else { return }
        print(value().text(numbers: .plain))
        fflush(nil)
    }
}

extension JSON {
    /// `metrics` of a model file ({"test": {"meanResponse.mape": 4.1, ...}}) as an
    /// object of objects, keys sorted.
    static func metrics(_ metrics: [String: [String: Double]]) -> JSON {
        .object(metrics.keys.sorted().map { split in
            (split, .object(metrics[split]!.keys.sorted().map { ($0, .number(metrics[split]![$0]!)) }))
        })
    }
}

/// `--progress`: progress lines on stderr while long work runs. They show on their own
/// when stderr is a terminal; the flag asks for them in a log or a pipe too. Never on
/// stdout, so `--json` output stays clean.
struct ProgressOption: ParsableArguments {
    @Flag(help: "Print progress on stderr even when it is not a terminal.")
    var progress = false

    var enabled: Bool { progress || isatty(STDERR_FILENO) == 1 }

    /// A progress line on stderr, when enabled.
    func line(_ text: @autoclosure () -> String) {
        if enabled { log(text()) }
    }
}

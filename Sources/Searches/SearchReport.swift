// A search as text: trials by state, the leaderboard, the best trial and its
// hyperparameters, and (at the end) the selected model's test metrics. `duet search`
// prints it as its summary; `duet status` can print it for a search directory.

import Foundation
import Search
import Surrogate

public enum SearchReport {
    /// Trials by state, the best `limit` trials by validation MAPE of meanResponse,
    /// and the best trial's hyperparameters.
    public static func status(_ records: [TrialRecord], rungs: [Int], limit: Int = 10) -> String {
        var lines: [String] = []
        let states = TrialRecord.State.allCases.compactMap { state -> String? in
            let n = records.filter { $0.state == state }.count
            return n == 0 ? nil : "\(n) \(state.rawValue)"
        }
        lines.append("trials: \(records.count)" + (states.isEmpty ? "" : " (" + states.joined(separator: ", ") + ")"))
        if rungs.count > 1 {
            let reached = rungs.indices.map { rung in records.filter { $0.rungs.contains { $0.rung == rung } }.count }
            lines.append("rung results: " + zip(rungs, reached).map { "\($1) at \($0) epochs" }.joined(separator: ", "))
        }
        let board = leaderboard(records, limit: limit)
        guard let best = board.first else {
            lines.append("no validation result yet")
            return lines.joined(separator: "\n")
        }
        lines.append("")
        lines.append("leaderboard (validation MAPE of meanResponse):")
        let rows = board.enumerated().map { rank, record in
            ["\(rank + 1)", "\(record.trial)", percent(record.validationMAPE!), "\(record.epochs)", record.state.rawValue,
             record.hyperparameters.map { "\($0.name)=\(short($0.value))" }.joined(separator: " ")]
        }
        lines += table(header: ["rank", "trial", "MAPE", "epochs", "state", "hyperparameters"], rows: rows)
        lines.append("")
        lines.append("best so far: trial \(best.trial), validation MAPE \(percent(best.validationMAPE!)) after "
                     + "\(best.epochs) epochs, seed \(best.seed)")
        for value in best.hyperparameters { lines.append("  \(value.name): \(value.value)") }
        return lines.joined(separator: "\n")
    }

    /// The best trials, best first (failed and resultless trials left out).
    public static func leaderboard(_ records: [TrialRecord], limit: Int = 10) -> [TrialRecord] {
        SearchSession.leaderboard(records, limit: limit)
    }

    /// The status of the search in `directory`, from its trials.json.
    public static func status(directory: String, limit: Int = 10) throws -> String {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(TrialsDocument.fileName)
        let document = try TrialsDocument.read(url)
        var text = "search in \(directory)" + (document.finished ? " (finished)" : "")
            + ", \(SweepStyle.duration(document.elapsedSeconds)) so far\n"
        text += status(document.trials, rungs: document.rungs, limit: limit)
        return text
    }

    /// The status of the search in `directory` as JSON: `{"directory", "finished",
    /// "elapsedSeconds", "trials", "states": {state: count}, "leaderboard": [{"rank",
    /// "trial", "validationMAPE", "epochs", "state", "seed", "hyperparameters"}]}`;
    /// the leaderboard's first entry is the best so far.
    public static func statusJSON(directory: String, limit: Int = 10) throws -> String {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(TrialsDocument.fileName)
        let document = try TrialsDocument.read(url)
        var states: [String: Int] = [:]
        for record in document.trials { states[record.state.rawValue, default: 0] += 1 }
        let board = leaderboard(document.trials, limit: limit).enumerated().map { rank, record -> [String: Any] in
            var values: [String: Any] = [:]
            for item in record.hyperparameters {
                switch item.value {
                case .number(let x): values[item.name] = x
                case .name(let name): values[item.name] = name
                }
            }
            return ["rank": rank + 1, "trial": record.trial, "validationMAPE": record.validationMAPE ?? 0,
                    "epochs": record.epochs, "state": record.state.rawValue, "seed": String(record.seed),
                    "hyperparameters": values]
        }
        let object: [String: Any] = [
            "directory": directory, "finished": document.finished, "elapsedSeconds": document.elapsedSeconds,
            "trials": document.trials.count, "states": states, "leaderboard": board,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// What `duet search` prints at the end.
    public static func summary(_ summary: SearchSummary, spec: SearchSpec, directory: String) -> String {
        var lines = [status(summary.records, rungs: spec.algorithm.rungs)]
        lines.append("")
        if summary.interrupted {
            lines.append("interrupted: the trials so far are in \(directory)/trials.json; "
                         + "run the same command again to resume")
        } else if let model = summary.model, let best = summary.best {
            lines.append("best model: trial \(best.trial)" + (summary.bestRetrained ? " (retrained alone)" : "")
                         + " -> \(directory)/best-model.json")
            for target in ["meanResponse", "p95Response"] {
                let cells = ["train", "validation", "test"].map { split in
                    model.metrics[split]?[target + ".mape"].map { "\(split) \(percent($0))" }
                }.compactMap { $0 }
                lines.append("  \(target) MAPE: " + cells.joined(separator: ", "))
            }
        }
        var time = String(format: "%d epochs trained; wall time %@, %d trial%@ at once",
                          summary.epochsTrained, SweepStyle.duration(summary.seconds), summary.parallelism,
                          summary.parallelism == 1 ? "" : "s")
        if summary.resumedTrials > 0 {
            time += " (resumed \(summary.resumedTrials) trials; \(SweepStyle.duration(summary.totalSeconds)) in all)"
        }
        lines.append(time)
        return lines.joined(separator: "\n")
    }

    /// What to tell the user when trials of a finished search failed for good (nil when
    /// none did, or when the search was interrupted): each failed trial (the first
    /// five) with its worker and error, how many of how many, and what to do.
    public static func failures(_ summary: SearchSummary, directory: String, shown: Int = 5) -> String? {
        let failed = summary.failedTrials
        guard !summary.interrupted, !failed.isEmpty else { return nil }
        var lines = ["\(failed.count) of \(summary.records.count) trial\(summary.records.count == 1 ? "" : "s") "
                     + "failed for good (they are not retried when the search resumes):"]
        for record in failed.prefix(shown) {
            lines.append("  trial \(record.trial)" + (record.worker.map { " on \($0)" } ?? "") + ": "
                         + (record.error ?? "no error recorded"))
        }
        if failed.count > shown { lines.append("  ... (\(directory)/trials.csv lists them all)") }
        lines.append(summary.model == nil ? "no model was selected"
                     : "\(directory)/best-model.json is the best of the other trials")
        return lines.joined(separator: "\n")
    }

    static func percent(_ x: Double) -> String { x.isNaN ? "nan" : String(format: "%.2f%%", x) }

    static func short(_ value: SweepValue) -> String { SearchRun.short(value) }

    /// Left-aligned columns, two spaces apart.
    static func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}

enum SweepStyle {
    static func duration(_ seconds: Double) -> String { SweepProgress.duration(seconds) }
}

// The files of a search directory:
//
//   trials.json      every trial (hyperparameters, seed, state, epochs, rung results,
//                    time, worker) and what made them (spec sections, dataset hash):
//                    the in-process search's journal, rewritten atomically after
//                    every event, and what a resumed search starts from.
//   trials.csv       the same trials, one row each, for spreadsheets and plots.
//   best-model.json  the selected trial's model with its metrics on every split
//                    (written by SearchRun at the end).

import DuetSupport
import Foundation
import Search
import Surrogate

/// A search that cannot start or continue, with what to do about it.
public struct SearchError: Error, CustomStringConvertible, Equatable, Sendable, LocalizedError {
    public var description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// `trials.json`.
public struct TrialsDocument: Codable, Sendable, Equatable {
    public struct Section: Codable, Sendable, Equatable {
        public var name: String
        public var text: String
    }

    public static let currentFormat = "duet-search/1"
    public static let fileName = "trials.json"

    public var format: String
    /// SHA-256 of the spec's canonical sections and the dataset's hash: a search
    /// resumes only on trials of the same fingerprint.
    public var fingerprint: String
    public var datasetSHA256: String
    public var spec: [Section]
    public var budgetTrials: Int?
    public var budgetMinutes: Double?
    /// Epochs of each rung.
    public var rungs: [Int]
    /// Threads of each trial's trainer (results depend on it).
    public var trialThreads: Int
    /// The search's running time over all its sessions, seconds.
    public var elapsedSeconds: Double
    /// True once the search has ended (budget spent, best model written).
    public var finished: Bool
    /// The best trial so far.
    public var best: Int?
    public var trials: [TrialRecord]

    public init(fingerprint: String, datasetSHA256: String, spec: SearchSpec, trialThreads: Int,
                elapsedSeconds: Double, finished: Bool, best: Int?, trials: [TrialRecord]) {
        format = Self.currentFormat
        self.fingerprint = fingerprint
        self.datasetSHA256 = datasetSHA256
        self.spec = spec.canonicalSections.map { Section(name: $0.name, text: $0.text) }
        budgetTrials = spec.budget.trials
        budgetMinutes = spec.budget.minutes
        rungs = spec.algorithm.rungs
        self.trialThreads = trialThreads
        self.elapsedSeconds = elapsedSeconds
        self.finished = finished
        self.best = best
        self.trials = trials
    }

    /// The fingerprint of a spec on a dataset.
    public static func fingerprint(spec: SearchSpec, datasetSHA256: String) -> String {
        SHA256Hasher.hex(spec.fingerprint + "\n" + datasetSHA256)
    }

    public static func read(_ url: URL) throws -> TrialsDocument {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SearchError("cannot read \(url.path)")
        }
        do {
            var document = try decoder.decode(TrialsDocument.self, from: data)
            // JSON objects have no order: put hyperparameters back in the spec's.
            let order = document.spec.map(\.name).filter { $0.hasPrefix("space.") }.map { String($0.dropFirst(6)) }
            for index in document.trials.indices {
                document.trials[index].hyperparameters.sort {
                    (order.firstIndex(of: $0.name) ?? order.count, $0.name) < (order.firstIndex(of: $1.name) ?? order.count, $1.name)
                }
            }
            return document
        } catch {
            throw SearchError("\(url.path) is not a search's trials file (\(error)); "
                                  + "delete it (and trials.csv) to start the search over")
        }
    }

    public func write(_ url: URL) throws {
        do {
            var data = try Self.encoder.encode(self)
            data.append(0x0A)
            try data.write(to: url, options: .atomic)
        } catch {
            throw SearchError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Names of the spec sections that differ from `other`'s.
    public func differingSections(from other: TrialsDocument) -> [String] {
        let mine = Dictionary(spec.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.spec.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })
        return spec.filter { theirs[$0.name] != $0.text }.map(\.name)
            + other.spec.filter { mine[$0.name] == nil }.map(\.name)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .infAndNanAsWords
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .infAndNanAsWords
        return decoder
    }
}

/// `trials.csv`: one row per trial.
///
///     trial,seed,layers,width,...,state,epochs,validationMAPE,meanValidationMAPE,mape@10,mape@30,...,seconds,worker,error
///
/// Hyperparameter columns follow the spec (varied keys, then fixed ones); `mape@E`
/// is the validation MAPE of meanResponse at the rung of E epochs (empty when not
/// reached).
public enum TrialsTable {
    public static let fileName = "trials.csv"

    public static func header(spec: SearchSpec) -> [String] {
        ["trial", "seed"] + names(spec) + ["state", "epochs", "validationMAPE", "meanValidationMAPE"]
            + spec.algorithm.rungs.map { "mape@\($0)" } + ["seconds", "worker", "error"]
    }

    public static func row(_ record: TrialRecord, spec: SearchSpec) -> [String] {
        func number(_ x: Double?) -> String { x.map { $0.isNaN ? "nan" : String(format: "%.4f", $0) } ?? "" }
        var cells = [String(record.trial), String(record.seed)]
        cells += names(spec).map { record.value($0)?.description ?? "" }
        cells += [record.state.rawValue, String(record.epochs), number(record.validationMAPE),
                  number(record.rungs.last?.meanMAPE)]
        cells += spec.algorithm.rungs.indices.map { rung in number(record.rungs.first { $0.rung == rung }?.mape) }
        cells += [String(format: "%.3f", record.seconds), record.worker ?? "", record.error ?? ""]
        return cells
    }

    public static func text(_ records: [TrialRecord], spec: SearchSpec) -> String {
        ([header(spec: spec)] + records.map { row($0, spec: spec) })
            .map { $0.map(quoted).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public static func write(_ records: [TrialRecord], spec: SearchSpec, to url: URL) throws {
        do {
            try Data(text(records, spec: spec).utf8).write(to: url, options: .atomic)
        } catch {
            throw SearchError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    static func names(_ spec: SearchSpec) -> [String] { spec.parameters.map(\.name) + spec.fixed.map(\.name) }

    /// RFC 4180: quote cells with commas, quotes or line breaks.
    static func quoted(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

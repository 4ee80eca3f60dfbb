import ArgumentParser
import Cluster
import Dispatch
import DuetSupport
import Foundation
import Searches
import Search
import Simulation
import Surrogate

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search hyperparameters of the surrogate network and keep the best model.",
        discussion: """
            Trials train on this process's threads (one thread each). OUT gets trials.json and \
            trials.csv (every trial: hyperparameters, seed, epochs, rung results, state, time, \
            worker), rewritten after every event, and best-model.json at the end: the trial with \
            the lowest validation MAPE of meanResponse, with its test metrics. Running the same \
            command again resumes an interrupted search; finished trials are not run again. See \
            examples/quickstart-search.yaml for the spec.

            --local N trains the trials on N worker processes and a coordinator started for the \
            search (journal OUT/search.journal, logs OUT/cluster.log); --coordinator ENDPOINT \
            trains them on an existing cluster. Each rung of a trial is a `train-trial` task; \
            this process runs ASHA on the results and submits promotions. The dataset goes to \
            each worker once, named by its SHA-256.

            Exit status: 0 when the search finished; 1 on an error, or when a trial failed for \
            good (after the summary, a message names each failed trial; best-model.json is \
            still the best of the others) unless --allow-failed-trials is given; 130 when \
            interrupted.
            """
    )

    @Argument(help: "Search spec (YAML): space, budget, algorithm, seed; see examples/quickstart-search.yaml.")
    var spec: String
    @Option(help: "Dataset CSV written by `duet sweep`.")
    var data: String
    @Option(help: "Directory for trials.json, trials.csv and best-model.json (created if needed).")
    var out: String
    @Option(help: "Trials trained at once, one thread each.")
    var threads = Self.defaultThreads
    @Option(help: "Paused trials kept in memory to resume from; others are retrained when promoted.")
    var keepTrainers = Self.defaultKeepTrainers
    @Flag(help: "Exit 0 even when trials failed for good (they are still listed, and not run again on resume).")
    var allowFailedTrials = false

    static let defaultThreads = 2
    static let defaultKeepTrainers = 32
    @OptionGroup var cluster: ClusterOptions<SearchWork>
    @Option(help: "Train recorded trial N of OUT alone, write OUT/trial-N-model.json and compare with the search.")
    var rerun: Int?
    @OptionGroup var summaryOption: JSONSummaryOption

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
        if keepTrainers < 0 { throw ValidationError("--keep-trainers: must be >= 0, got \(keepTrainers)") }
        if let rerun, rerun < 0 { throw ValidationError("--rerun: must be a trial number >= 0, got \(rerun)") }
    }

    func run() throws {
        let search = try Self.loadSpec(spec)
        let dataset = try withDatasetErrors { try SurrogateDataset.load(path: data) }
        if let rerun { return try rerunTrial(rerun, spec: search, dataset: dataset) }
        let directory = URL(fileURLWithPath: out)
        let target = try cluster.target(
            journalPath: directory.appendingPathComponent("search.journal").path,
            logPath: directory.appendingPathComponent("cluster.log").path)
        let summary = try Self.search(
            search, dataset: dataset, dataPath: data, out: out, target: target, threads: threads, keepTrainers: keepTrainers,
            output: summaryOption.output)
        summaryOption.output.object(Self.json(summary, out: out))
        if summary.interrupted { throw ExitCode(130) }
        if cluster.local != nil {
            // Complete: the local cluster's journal and log have served their purpose.
            for name in ["search.journal", "search.journal-wal", "search.journal-shm", "cluster.log"] {
                try? FileManager.default.removeItem(atPath: directory.appendingPathComponent(name).path)
            }
        }
        if let failure = Self.failure(summary, out: out, allowFailedTrials: allowFailedTrials) { throw failure }
    }

    /// The error to exit with when trials failed for good and --allow-failed-trials was
    /// not given (the summary is printed and the files written by then: `duet run` goes
    /// on to its report first); nil otherwise.
    static func failure(_ summary: SearchSummary, out: String, allowFailedTrials: Bool) -> CLIError? {
        guard let failures = SearchReport.failures(summary, directory: out) else { return nil }
        if allowFailedTrials {
            log("warning: " + failures)
            return nil
        }
        return CLIError(failures + "\n(--allow-failed-trials accepts a search with failed trials)")
    }

    static func loadSpec(_ path: String) throws -> SearchSpec {
        do {
            return try SearchSpec.load(path: path, vocabulary: TrainerSearchSpace.vocabulary)
        } catch let error as ConfigError {
            throw CLIError(error.path.isEmpty ? "\(error)" : "\(path): \(error)")
        }
    }

    /// One search into `out`, on this process's threads (`threads`, `keepTrainers`) or
    /// on `target`, with progress on stderr and the summary on stdout (`duet search`,
    /// and `duet run`'s search phase). Ctrl-C stops the trials at their next epoch; the
    /// summary then says it was interrupted.
    static func search(_ search: SearchSpec, dataset: SurrogateDataset, dataPath: String, out: String,
                       target: ClusterTarget?, threads: Int, keepTrainers: Int,
                       output: SummaryOutput = .text) throws -> SearchSummary {
        let runner: SearchRun
        do {
            runner = try SearchRun(spec: search, dataset: dataset, directory: out, log: { log($0) })
        } catch let error as SearchError {
            throw CLIError(error.description)
        }
        let split = runner.data.split
        log("searching on \(split.train.count) configurations (validation \(split.validation.count), "
            + "test \(split.test.count), skipped \(dataset.skipped.count) unstable or invalid); "
            + describe(search) + "; " + placement(target, threads: threads))
        let cluster = try clusterExecutor(target, dataPath: dataPath, out: out)

        // Ctrl-C or kill: trials stop at their next epoch, the files keep what is done.
        let trap = SignalTrap(again: .handle) { _ in
            log("interrupted: stopping the trials in progress at their next epoch")
            runner.interrupt()
            cluster?.shutdown()
        }
        defer { trap.cancel() }

        let summary: SearchSummary
        do {
            summary = try runner.run(
                executor: cluster ?? InProcessSearch(threads: threads, keepTrainers: keepTrainers),
                command: Array(CommandLine.arguments.dropFirst())
            ) { event in
                log("\(event.line)  [\(event.progress.shortLine)]")
            }
        } catch let error as SearchError {
            throw CLIError(error.description)
        }
        output.line(SearchReport.summary(summary, spec: search, directory: out))
        return summary
    }

    /// `duet search --json`: trials by state, the best trial and its model, the failed
    /// trials, and the time and epochs spent.
    static func json(_ summary: SearchSummary, out: String) -> JSON {
        var states: [String: Int] = [:]
        for record in summary.records { states[record.state.rawValue, default: 0] += 1 }
        func trial(_ record: TrialRecord) -> JSON {
            [
                "trial": .integer(record.trial), "state": .string(record.state.rawValue), "epochs": .integer(record.epochs),
                "validationMAPE": record.validationMAPE.map(JSON.number) ?? .null, "seed": .string(String(record.seed)),
                "hyperparameters": .object(record.hyperparameters.map { item in
                    switch item.value {
                    case .number(let x): (item.name, .number(x))
                    case .name(let name): (item.name, .string(name))
                    }
                }),
            ]
        }
        let model = URL(fileURLWithPath: out).appendingPathComponent("best-model.json").path
        return [
            "out": .string(out), "trials": .integer(summary.records.count),
            "states": .object(states.keys.sorted().map { ($0, .integer(states[$0]!)) }),
            "resumedTrials": .integer(summary.resumedTrials), "interrupted": .bool(summary.interrupted),
            "best": summary.best.map(trial) ?? .null,
            "model": summary.model != nil ? .string(model) : .null,
            "metrics": summary.model.map { JSON.metrics($0.metrics) } ?? .null,
            "failedTrials": .array(summary.failedTrials.map { record in
                ["trial": .integer(record.trial), "worker": record.worker.map(JSON.string) ?? .null,
                 "error": record.error.map(JSON.string) ?? .null]
            }),
            "epochsTrained": .integer(summary.epochsTrained), "seconds": .number(summary.seconds),
            "totalSeconds": .number(summary.totalSeconds),
        ]
    }

    /// Where the trials train, for the opening line.
    static func placement(_ target: ClusterTarget?, threads: Int) -> String {
        switch target {
        case .local(let options)?: return "on \(options.workers) local worker\(options.workers == 1 ? "" : "s")"
        case .coordinator(let endpoint, _)?: return "on the cluster at \(endpoint)"
        case nil: return "\(threads) trial\(threads == 1 ? "" : "s") at once"
        }
    }

    /// The cluster executor for `target`; nil in-process.
    static func clusterExecutor(_ target: ClusterTarget?, dataPath: String, out: String) throws -> ClusterSearch? {
        guard let target else { return nil }
        let name = URL(fileURLWithPath: out).lastPathComponent
        let label = name == "search" ? "search" : "search " + name
        do {
            return try ClusterSearch(target: target, datasetPath: dataPath, label: label, note: { log($0) })
        } catch let error as SearchError {
            throw CLIError(error.description)
        }
    }

    static func describe(_ spec: SearchSpec) -> String {
        let algorithm = spec.algorithm
        var text = algorithm.name.rawValue
        if algorithm.name == .asha {
            text += " (rungs at \(algorithm.rungs.map(String.init).joined(separator: ", ")) epochs, "
                + "reduction \(algorithm.reduction), \(algorithm.sampler.rawValue) sampler)"
        } else {
            text += " (\(algorithm.maxEpochs) epochs per trial)"
        }
        var budget: [String] = []
        if let trials = spec.budget.trials { budget.append("\(trials) trials") }
        if let minutes = spec.budget.minutes { budget.append("\(ConfigNode.format(minutes)) minutes") }
        return text + ", budget " + budget.joined(separator: " or ")
    }

    /// Trains one recorded trial alone and checks that it gives the search's result.
    func rerunTrial(_ trial: Int, spec: SearchSpec, dataset: SurrogateDataset) throws {
        let url = URL(fileURLWithPath: out).appendingPathComponent(TrialsDocument.fileName)
        let document: TrialsDocument
        do { document = try TrialsDocument.read(url) } catch let error as SearchError { throw CLIError(error.description) }
        guard document.fingerprint == TrialsDocument.fingerprint(spec: spec, datasetSHA256: dataset.sha256) else {
            throw CLIError("\(url.path) was made by another spec or dataset")
        }
        guard document.trials.indices.contains(trial) else {
            throw CLIError("\(url.path) has trials 0 to \(document.trials.count - 1), not \(trial)")
        }
        let record = document.trials[trial]
        guard record.epochs > 0 else { throw CLIError("trial \(trial) reached no rung; nothing to re-run") }
        log("training trial \(trial) alone to \(record.epochs) epochs, seed \(record.seed): "
            + record.hyperparameters.map(\.description).joined(separator: " "))
        let data = TrialData(dataset: dataset, split: spec.split)
        let trainer = try TrialTraining.retrain(record, spec: spec, data: data)
        let settings = try TrainerSearchSpace.settings(record.hyperparameters, seed: record.seed,
                                                       maxEpochs: spec.algorithm.maxEpochs)
        let model = try data.job(settings).modelFile(trainer, command: Array(CommandLine.arguments.dropFirst()))
        let path = URL(fileURLWithPath: out).appendingPathComponent("trial-\(trial)-model.json")
        try model.write(to: path)
        let mape = trainer.best?.validationMAPE[TrialTraining.meanResponseIndex] ?? .nan
        let same = mape == record.validationMAPE
        print(String(format: "trial %d: validation MAPE of meanResponse %.4f%% (search: %@) -> %@%@", trial, mape,
                     record.validationMAPE.map { String(format: "%.4f%%", $0) } ?? "none", path.path,
                     same ? "; identical to the search" : "; DIFFERENT from the search"))
        if !same { throw ExitCode(1) }
    }
}

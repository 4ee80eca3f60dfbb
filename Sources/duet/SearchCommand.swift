import ArgumentParser
import Dispatch
import Foundation
import Pipeline
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
            """
    )

    @Argument(help: "Search spec (YAML): space, budget, algorithm, seed; see examples/quickstart-search.yaml.")
    var spec: String
    @Option(help: "Dataset CSV written by `duet sweep`.")
    var data: String
    @Option(help: "Directory for trials.json, trials.csv and best-model.json (created if needed).")
    var out: String
    @Option(help: "Trials trained at once, one thread each.")
    var threads = 2
    @Option(help: "Paused trials kept in memory to resume from; others are retrained when promoted.")
    var keepTrainers = 32
    @Option(help: "Run trials on N local worker processes (cluster mode; not yet available).")
    var local: Int?
    @Option(help: "Run trials on the cluster of the coordinator at ENDPOINT (not yet available).")
    var coordinator: String?
    @Option(help: "Train recorded trial N of OUT alone, write OUT/trial-N-model.json and compare with the search.")
    var rerun: Int?

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
        if keepTrainers < 0 { throw ValidationError("--keep-trainers: must be >= 0, got \(keepTrainers)") }
        if let local, local < 1 { throw ValidationError("--local: must be >= 1, got \(local)") }
        if local != nil && coordinator != nil { throw ValidationError("give --local or --coordinator, not both") }
        if local != nil || coordinator != nil {
            throw ValidationError("not yet available: the cluster mode of search is not implemented; "
                                  + "run without --local/--coordinator")
        }
        if let rerun, rerun < 0 { throw ValidationError("--rerun: must be a trial number >= 0, got \(rerun)") }
    }

    func run() throws {
        let search: SearchSpec
        do {
            search = try SearchSpec.load(path: spec, vocabulary: TrainerSearchSpace.vocabulary)
        } catch let error as ConfigError {
            throw CLIError(error.path.isEmpty ? "\(error)" : "\(spec): \(error)")
        }
        let dataset = try withDatasetErrors { try SurrogateDataset.load(path: data) }
        if let rerun { return try rerunTrial(rerun, spec: search, dataset: dataset) }

        let runner: SearchRun
        do {
            runner = try SearchRun(spec: search, dataset: dataset, directory: out, log: { log($0) })
        } catch let error as SearchError {
            throw CLIError(error.description)
        }
        let split = runner.data.split
        log("searching on \(split.train.count) configurations (validation \(split.validation.count), "
            + "test \(split.test.count), skipped \(dataset.skipped.count) unstable or invalid); "
            + describe(search) + "; \(threads) trial\(threads == 1 ? "" : "s") at once")

        // Ctrl-C or kill: trials stop at their next epoch, the files keep what is done.
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                log("interrupted: stopping the trials in progress at their next epoch")
                runner.interrupt()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        let summary: SearchSummary
        do {
            summary = try runner.run(
                executor: InProcessSearch(threads: threads, keepTrainers: keepTrainers),
                command: Array(CommandLine.arguments.dropFirst())
            ) { event in
                log("\(event.line)  [\(event.progress.shortLine)]")
            }
        } catch let error as SearchError {
            throw CLIError(error.description)
        }
        print(SearchReport.summary(summary, spec: search, directory: out))
        if summary.interrupted { throw ExitCode(130) }
    }

    func describe(_ spec: SearchSpec) -> String {
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

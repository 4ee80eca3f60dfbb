import ArgumentParser
import DuetSupport
import Foundation
import Search
import Simulation
import Surrogate

extension Activation: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension TargetScaling: ExpressibleByArgument {}

/// How `duet train` stores a model's weights.
enum WeightPrecision: String, ExpressibleByArgument, CaseIterable {
    case float32, float16
}

/// Training hyperparameters as flags; unset ones keep `TrainingSettings`' defaults.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Hidden layers.") var layers: Int?
    @Option(help: "Units per hidden layer.") var width: Int?
    @Option(help: "Activation: relu, silu or tanh.") var activation: Activation?
    @Option(help: "Optimizer: adam or adamw.") var optimizer: OptimizerKind?
    @Option(name: .customLong("lr"), help: "Learning rate.") var learningRate: Double?
    @Option(help: "Weight decay.") var weightDecay: Double?
    @Option(help: "Mini-batch size.") var batchSize: Int?
    @Option(help: "Most epochs.") var epochs: Int?
    @Option(help: "Stop after this many epochs without improvement.") var patience: Int?
    @Option(help: "Learning-rate schedule: none, cosine or step.") var schedule: LearningRateSchedule?
    @Option(help: "Seed of initialisation and shuffling.") var seed: UInt64?
    @Option(help: "Training threads (default 2).") var threads: Int?
    @Option(help: ArgumentHelp(
        "Huber loss threshold in standardised target units (default 0.03; 0: mean squared error).",
        discussion: "Squared within the threshold, linear beyond: large residuals pull less on the fit."))
    var huberDelta: Double?

    func settings() throws -> TrainingSettings {
        var settings = TrainingSettings()
        if let layers { settings.layers = layers }
        if let width { settings.width = width }
        if let activation { settings.activation = activation }
        if let optimizer { settings.optimizer = optimizer }
        if let learningRate { settings.learningRate = learningRate }
        if let weightDecay { settings.weightDecay = weightDecay }
        if let batchSize { settings.batchSize = batchSize }
        if let epochs { settings.maxEpochs = epochs }
        if let patience { settings.patience = patience }
        if let schedule { settings.schedule = schedule }
        if let seed { settings.seed = seed }
        if let threads { settings.threads = threads }
        if let huberDelta { settings.huberDelta = huberDelta }
        if let problem = settings.problem { throw ValidationError(problem) }
        return settings
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a surrogate network on a dataset and write a model file."
    )

    @Argument(help: ArgumentHelp(
        "Dataset CSV written by `duet sweep`.",
        discussion: "Several CSVs of chains of different lengths train one model for chains of the shortest to the "
            + "longest length (docs/chain-surrogate.md)."))
    var data: [String]
    @Option(help: "Model file to write (JSON).") var out: String
    @OptionGroup var training: TrainingOptions
    @Option(help: "Fraction of configurations held out for validation (early stopping).") var validation = 0.1
    @Option(help: "Fraction of configurations held out for the final test.") var test = 0.1
    @Option(help: "Seed of the split by configuration.") var splitSeed: UInt64 = 1
    @Option(help: ArgumentHelp(
        "A documented domain the model covers (docs/domain.md: duet-tandem-v1), judged by its domain check.",
        discussion: "Refused unless every training row lies inside it and the rows reach every end of its ranges."))
    var domain: String?
    @Option(help: ArgumentHelp(
        "What theory is divided out of the targets before they are learnt: none, heavy-traffic (responses times "
            + "1 - load) or analytic (over the QNA estimate).",
        valueName: "scaling"))
    var targetScaling: TargetScaling = .trainingDefault
    @Option(help: ArgumentHelp(
        "Networks to train and average (an ensemble), from seeds --seed, --seed + 1, ...",
        discussion: "Each member trains as long as a single network. The model predicts the geometric mean of the "
            + "members' predictions, and its error bands widen where they disagree (README, `duet predict`)."))
    var ensemble = 1
    @Option(help: ArgumentHelp(
        "Keep each finished network of the ensemble in this directory, and reuse the ones found there.",
        discussion: "A rerun with the same data, split and settings resumes an interrupted ensemble at the network "
            + "it was on; networks trained elsewhere (each machine its own --seed, --ensemble 1) come together in one "
            + "model when a run with --seed S --ensemble N finds seeds S to S + N - 1 kept. A kept network of other "
            + "data or settings is an error, not retrained over.",
        valueName: "dir"))
    var members: String?
    @Option(help: ArgumentHelp(
        "How the model file stores its weights: float32, or float16 for a file about half the size.",
        discussion: "float16 rounds every weight to 11 significant bits before the model's metrics are computed, so "
            + "they are the rounded model's; the file is format version 5, which builds before it do not read.",
        valueName: "precision"))
    var weightPrecision: WeightPrecision = .float32
    @Option(help: ArgumentHelp(
        "A model whose predictions label extra training rows: distillation into the network trained here.",
        discussion: "The rows are configurations drawn from each --teacher-spec past the spec's own points (so none "
            + "is one of its sweep's). They only train: validation (early stopping, error bands) and test rows stay "
            + "the dataset's simulated ones (docs/domain.md, \"Distillation\").",
        valueName: "model.json"))
    var teacher: String?
    @Option(help: ArgumentHelp("Sweep spec whose space the teacher's rows come from (repeat for several).",
                               valueName: "spec.yaml"))
    var teacherSpec: [String] = []
    @Option(help: "Configurations drawn from each --teacher-spec for the teacher to label.")
    var teacherPoints = 16384
    @Flag(help: ArgumentHelp(
        "Learn one station at a time, to compose chains of any length (docs/chain-surrogate.md).",
        discussion: "Each station of each chain becomes a row of a one-station model fed by the stream QNA says "
            + "reaches it. `duet evaluate` composes the model along a dataset's chains of any length: the stations' "
            + "responses and instance-seconds per job, and their sum as the chain's mean response (no percentiles)."))
    var perStation = false
    @Option(help: ArgumentHelp(
        "With --per-station: how many stations before each station its view includes (0: the station alone).",
        discussion: "A view is fed by the stream QNA says reaches its first station; an upstream station lets the "
            + "network see what shapes the stream into the station it predicts, instead of QNA's two numbers for it. "
            + "More than the training chains' stations vary in role along the chain does not extrapolate "
            + "(docs/chain-surrogate.md)."))
    var upstream = 1
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give a dataset CSV") }
        if !(0...5).contains(upstream) {
            throw ValidationError("--upstream: expected a number from 0 to 5, got \(upstream)")
        }
        if perStation, teacher != nil || domain != nil {
            throw ValidationError("--per-station takes neither --teacher nor --domain: a station's rows are views of "
                                  + "chains, not configurations of a sweep or of the documented domain")
        }
        guard ensemble >= 1 else { throw ValidationError("--ensemble must be at least 1, got \(ensemble)") }
        guard validation > 0, test >= 0, validation + test < 1 else {
            throw ValidationError("--validation must be > 0 and --test >= 0 with a sum below 1")
        }
        if teacher != nil, teacherSpec.isEmpty {
            throw ValidationError("--teacher needs --teacher-spec SPEC.yaml: the sweep spec its rows are drawn from")
        }
        if teacher == nil, !teacherSpec.isEmpty {
            throw ValidationError("--teacher-spec needs --teacher MODEL.json: the model that labels its rows")
        }
        guard teacherPoints >= 1 else { throw ValidationError("--teacher-points must be at least 1, got \(teacherPoints)") }
    }

    func run() throws {
        let started = Date()
        var upstream = upstream
        var dataset = try withDatasetErrors {
            guard perStation else { return try SurrogateDataset.load(paths: data) }
            let chains = try data.map { try SurrogateDataset.load(path: $0) }
            // A view longer than every chain never occurs in training: its blocks would be untrained.
            let longest = chains.map(\.stations).max() ?? 1
            if upstream > longest - 1 {
                log("note: --upstream \(upstream) needs chains of \(upstream + 1) stations; the longest given has "
                    + "\(longest), so each view holds \(longest - 1) upstream station\(longest == 2 ? "" : "s")")
                upstream = longest - 1
            }
            return SurrogateDataset(stationsOf: chains, upstream: upstream)
        }
        var split = dataset.split(validation: validation, test: test, seed: splitSeed)
        let settings = try training.settings()
        let simulatedTrainRows = split.train.count
        if let teacher {
            (dataset, split) = try teacherRows(teacher, dataset: dataset, split: split, threads: settings.threads)
        }
        let job = try SurrogateTrainingJob(dataset: dataset, split: split, settings: settings, scaling: targetScaling)
        let documented = try domain.map { try documentedDomain($0, covered: dataset, indices: split.train) }
        let teacherNote = teacher.map { " (\(simulatedTrainRows) simulated, \(split.train.count - simulatedTrainRows) labelled by \($0))" } ?? ""
        log("training on \(split.train.count) configurations\(teacherNote) (validation \(split.validation.count), "
            + "test \(split.test.count), skipped \(dataset.skipped.count) unstable or invalid); "
            + "\(settings.layers) x \(settings.width) \(settings.activation.rawValue), \(settings.optimizer.rawValue), "
            + "lr \(settings.learningRate), batch \(settings.batchSize), up to \(settings.maxEpochs) epochs"
            + (ensemble > 1 ? "; an ensemble of \(ensemble) networks" : ""))
        let kept = try members.map { try KeptMembers(directory: $0, fingerprint: job.memberFingerprint) }
        var networks: [EnsembleMember] = []
        for member in 0..<ensemble {
            let prefix = ensemble > 1 ? "network \(member + 1) of \(ensemble), " : ""
            let seed = settings.seed &+ UInt64(member)
            if let kept, let network = try kept.kept(seed: seed) {
                log("\(prefix)seed \(seed): kept in \(kept.url(seed: seed).path)"
                    + (network.summary.map { String(format: " (best epoch %d of %d, validation MAPE %.2f%%)",
                                                    $0.bestEpoch, $0.epochs, $0.bestMeanValidationMAPE) } ?? ""))
                networks.append(network)
                continue
            }
            var trainer = try job.makeTrainer(seed: seed)
            trainer.train { report in
                let perEpoch = report.elapsedSeconds / Double(report.epoch)
                let eta = perEpoch * Double(settings.maxEpochs - report.epoch)
                log(String(format: "%@epoch %4d  loss %.5f  validation MAPE %.2f%% (meanResponse %.2f%%)%@  %.1fs  ETA <= %.0fs",
                           prefix, report.epoch, report.trainLoss, report.meanValidationMAPE, report.validationMAPE[0],
                           report.improved ? " *" : "  ", report.elapsedSeconds, eta))
                return true
            }
            let network = EnsembleMember(trainer: trainer)
            try kept?.keep(network)
            networks.append(network)
        }
        if weightPrecision == .float16 {
            networks = try withDatasetErrors { try networks.map { try $0.roundedToHalfPrecision() } }
        }
        var model = job.modelFile(networks, command: Array(CommandLine.arguments.dropFirst()))
        model.domain = documented?.name
        if weightPrecision == .float16 { try withDatasetErrors { try model.storeWeightsInHalfPrecision() } }
        if perStation { model.metrics["info", default: [:]][SurrogateModel.perStationKey] = Double(1 + upstream) }
        if teacher != nil {
            model.metrics["info", default: [:]]["teacherRows"] = Double(split.train.count - simulatedTrainRows)
        }
        try model.write(to: URL(fileURLWithPath: out))
        let first = networks[0].summary
        let stop = first?.stopReason ?? .budget
        let output = summary.output
        let seconds = Date().timeIntervalSince(started)
        output.line("stopped: \(stop.rawValue) after \(first?.epochs ?? 0) epochs; best epoch \(first?.bestEpoch ?? 0)"
                    + (ensemble > 1 ? " (the first network; the model averages \(ensemble))" : ""))
        printSplitSummary(model, to: output)
        output.line(String(format: "wrote %@ in %.1f s", out, seconds))
        output.object([
            "out": .string(out), "data": .array(data.map(JSON.string)), "stopped": .string(stop.rawValue),
            "epochs": .integer(first?.epochs ?? 0), "bestEpoch": first.map { .integer($0.bestEpoch) } ?? .null,
            "ensemble": .integer(ensemble),
            "configurations": [
                "train": .integer(split.train.count), "validation": .integer(split.validation.count),
                "test": .integer(split.test.count), "skipped": .integer(dataset.skipped.count),
            ],
            "targets": .array(model.targets.names.map(JSON.string)),
            "metrics": .metrics(model.metrics), "seconds": .number(seconds),
        ])
    }
}

extension TrainCommand {
    /// The dataset and split with the teacher's rows added to the training rows:
    /// `teacherPoints` configurations from each `teacherSpec`, labelled by `path`'s model.
    func teacherRows(_ path: String, dataset: SurrogateDataset, split: DatasetSplit, threads: Int) throws
        -> (SurrogateDataset, DatasetSplit)
    {
        let model = try withDatasetErrors { try SurrogateModel.load(path: path) }
        var configs: [TandemConfig] = []
        for specPath in teacherSpec {
            let spec: SweepSpec
            do {
                spec = try SweepSpec.load(path: specPath)
            } catch let error as ConfigError {
                throw CLIError(error.path.isEmpty ? "\(error)" : "\(specPath): \(error)")
            }
            let drawn = try spec.configurationsBeyondDesign(count: teacherPoints)
            log("teacher rows: \(drawn.configs.count) configurations from \(specPath)"
                + (drawn.leftOut > 0 ? " (\(drawn.leftOut) left out as unstable or unrealisable)" : ""))
            configs += drawn.configs
        }
        do {
            return try dataset.addingTeacherRows(configs, teacher: model, teacherName: path, split: split, threads: threads)
        } catch let error as TeacherRowError {
            throw CLIError("--teacher \(path): \(error)")
        }
    }
}

/// The documented domain `name`, when the training rows `indices` cover it.
func documentedDomain(_ name: String, covered dataset: SurrogateDataset, indices: [Int]) throws -> DocumentedDomain {
    guard let domain = DocumentedDomain.known[name] else {
        throw CLIError("--domain \(name): not a documented domain; known: "
                           + DocumentedDomain.known.keys.sorted().joined(separator: ", "))
    }
    let problems = domain.coverageProblems(of: dataset, indices: indices)
    guard problems.isEmpty else {
        throw CLIError("--domain \(name): the training rows do not cover it:\n  " + problems.joined(separator: "\n  "))
    }
    let outside = domain.rowsOutside(of: dataset, indices: indices)
    if outside.count > 0 {
        log("note: \(outside.count) of \(indices.count) training rows lie outside the documented domain \(name), "
                + "and the model learns from them too; the first:\n  " + outside.examples.joined(separator: "\n  "))
    }
    return domain
}

/// Prints a model file's per-target MAPE on each split.
func printSplitSummary(_ model: ModelFile, to output: SummaryOutput = .text) {
    let splits = ["train", "validation", "test"].filter { model.metrics[$0] != nil }
    output.line("target".padding(toLength: 34, withPad: " ", startingAt: 0)
          + splits.map { ($0 + " MAPE").leftPadded(16) }.joined())
    for target in model.targets.names {
        let cells = splits.map { split in
            model.metrics[split]?[target + ".mape"].map { String(format: "%.2f%%", $0) } ?? "—"
        }
        output.line(target.padding(toLength: 34, withPad: " ", startingAt: 0) + cells.map { $0.leftPadded(16) }.joined())
    }
    if let info = model.metrics["info"], let low = info["minStations"], let high = info["stations"], low < high {
        for length in Int(low)...Int(high) {
            let cells = splits.map { split in
                model.metrics[split]?["chain\(length).meanResponse.mape"].map { String(format: "%.2f%%", $0) } ?? "—"
            }
            print("meanResponse, chains of \(length)".padding(toLength: 34, withPad: " ", startingAt: 0)
                  + cells.map { $0.leftPadded(16) }.joined())
        }
    }
    if let bands = model.errorBands, let test = model.metrics["test"] {
        let shares = model.targets.names.compactMap { name in
            test[name + ".bandCoverage"].map { "\(name) \(String(format: "%.0f%%", $0 * 100))" }
        }
        if !shares.isEmpty {
            output.line("test rows inside the \(String(format: "%.0f%%", bands.level * 100)) error bands (calibrated on validation): "
                  + shares.joined(separator: ", "))
        }
    }
}

/// Turns dataset and model-file errors into clean messages.
func withDatasetErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DataFileError {
        throw CLIError(error.description)
    } catch let error as ModelFileError {
        throw CLIError(error.description)
    } catch let error as ConfigError {
        throw CLIError(error.description)
    } catch let error as ChainLengthError {
        throw CLIError(error.description)
    }
}

/// Progress and notes go to standard error, results to standard output.
func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

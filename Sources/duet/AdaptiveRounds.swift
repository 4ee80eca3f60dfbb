import Cluster
import Foundation
import Search
import Simulation
import Surrogate
import Sweeps

/// A pipeline file's `adaptive:` section: the sweep phase spends its simulation where
/// a model needs it (docs/adaptive-design.md) instead of on the design's points in turn.
/// The sweep simulates the design's first `start` points; then each of `rounds` rounds
/// trains an ensemble of `ensemble` networks on every row so far and simulates the
/// `add` points of the design's next `pool` where its members disagree most per
/// expected simulated job (what `duet sweep --adaptive --costs` does, and
/// `scripts/adaptive-rounds.sh` around it).
struct AdaptiveRoundsSpec: Equatable {
    var start: Int
    var rounds: Int
    var add: Int
    var pool: Int
    var ensemble: Int

    static let keys = ["start", "rounds", "add", "pool", "ensemble"]
    /// Measured on the quickstart pipeline (docs/adaptive-design.md, "Smaller ensembles
    /// for the choice"): pools of five times the points chosen, ensembles of three.
    static let poolPerPoint = 5
    static let defaultEnsemble = 3

    static func parse(_ node: ConfigNode) throws -> AdaptiveRoundsSpec {
        let section = try node.mapping(allowedKeys: keys)
        let add = try section.int("add", .atLeast(1))
        let spec = AdaptiveRoundsSpec(
            start: try section.int("start", .atLeast(1)), rounds: try section.int("rounds", .atLeast(1)), add: add,
            pool: try section.int("pool", default: poolPerPoint * add, .atLeast(1)),
            // The choice reads the members' disagreement: one network has none.
            ensemble: try section.int("ensemble", default: defaultEnsemble, .atLeast(2)))
        guard spec.pool >= spec.add else {
            throw section.error("pool", "must be at least add (\(add)) to choose from, got \(spec.pool)")
        }
        return spec
    }
}

/// The sweep phase of a pipeline with `adaptive:`. Each part is a sweep file of its own
/// under `DIR/adaptive/` (start.csv, roundN.csv, and the ensemble that chose each
/// round's points, roundN.model.json), which resumes as `duet sweep` does; the
/// dataset, `DIR/dataset.csv`, is written again after each part as every row so far,
/// the start's and then each round's in order.
enum AdaptiveRounds {
    static func sweep(_ rounds: AdaptiveRoundsSpec, specPath: String, dataPath: String, target: ClusterTarget?,
                      output: SummaryOutput, resumeHint: String) throws {
        // A dataset of a whole sweep here has its sidecar; writing the rounds' rows over it
        // would leave the sidecar naming rows it no longer describes.
        let sidecar = SweepSidecar.path(for: dataPath)
        if FileManager.default.fileExists(atPath: sidecar) {
            throw CLIError("\(dataPath) is a whole sweep's dataset (it has \(sidecar)); a pipeline with adaptive: "
                           + "writes its dataset from rounds: give another --out")
        }
        // Before the start is simulated: a round would refuse it only after.
        let spec = try SweepCommand.loadSpec(specPath)
        guard spec.design.method != .lhs else {
            throw CLIError("\(specPath): design.method is lhs: adaptive rounds choose among the design's points past "
                           + "its own, and a Latin hypercube does not continue; use sobol or random")
        }
        let parts = URL(fileURLWithPath: dataPath).deletingLastPathComponent().appendingPathComponent("adaptive")
        try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
        // The ensembles train on every core: the cluster's workers wait for the round meanwhile.
        // The same cores give the same ensembles, and so the same choices, when a run resumes.
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var files = [parts.appendingPathComponent("start.csv").path]
        log("adaptive: the design's first \(rounds.start) points, then \(rounds.rounds) round"
            + "\(rounds.rounds == 1 ? "" : "s") of \(rounds.add) chosen from \(rounds.pool) by ensembles of "
            + "\(rounds.ensemble) (files in \(parts.path))")
        // Each part a run of its own on the cluster, named so in `duet status`.
        let name = SweepCommand.runLabel(specPath)
        try SweepCommand.sweep(spec, specPath: specPath, out: files[0], threads: nil,
                               points: rounds.start, target: target, label: "\(name) start", output: output,
                               resumeHint: resumeHint)
        try concatenate(files, into: dataPath)
        var first = rounds.start
        for round in 1...rounds.rounds {
            let model = parts.appendingPathComponent("round\(round).model.json").path
            let started = Date()
            try trainEnsemble(on: dataPath, members: rounds.ensemble, threads: threads, out: model)
            log(String(format: "adaptive: round %d of %d: an ensemble of %d trained on %@'s rows in %.1f s",
                       round, rounds.rounds, rounds.ensemble, dataPath, Date().timeIntervalSince(started)))
            let file = parts.appendingPathComponent("round\(round).csv").path
            try SweepCommand.sweep(spec, specPath: specPath, out: file, threads: nil,
                                   points: first, adaptive: (model: model, add: rounds.add, pool: rounds.pool, costs: dataPath),
                                   target: target, label: "\(name) round \(round)", output: output, resumeHint: resumeHint)
            files.append(file)
            try concatenate(files, into: dataPath)
            first += rounds.pool
        }
    }

    /// An ensemble as `duet train DATA --ensemble N --threads T` trains it (the default
    /// settings, split and scaling), written to `out`.
    static func trainEnsemble(on dataPath: String, members: Int, threads: Int, out: String) throws {
        let dataset = try withDatasetErrors { try SurrogateDataset.load(path: dataPath) }
        var settings = TrainingSettings()
        settings.threads = threads
        let job = try SurrogateTrainingJob(dataset: dataset, split: dataset.split(), settings: settings)
        let networks = try (0..<members).map { member in
            var trainer = try job.makeTrainer(seed: settings.seed &+ UInt64(member))
            trainer.train { _ in true }
            return EnsembleMember(trainer: trainer)
        }
        let command = ["train", dataPath, "--out", out, "--ensemble", "\(members)", "--threads", "\(threads)"]
        try job.modelFile(networks, command: command).write(to: URL(fileURLWithPath: out))
    }

    /// The files' rows under the first one's header, written in one step. Every part is a
    /// sweep of one spec, so every header is the same.
    static func concatenate(_ files: [String], into path: String) throws {
        var bytes = Data()
        var header: Data?
        for file in files {
            let part = try Data(contentsOf: URL(fileURLWithPath: file))
            guard let end = part.firstIndex(of: UInt8(ascii: "\n")) else {
                throw CLIError("\(file) has no header line: delete it to simulate its points again")
            }
            if let header {
                guard part[..<end] == header else {
                    throw CLIError("\(file) has other columns than \(files[0]): delete the adaptive/ parts to start over")
                }
                bytes.append(part[(end + 1)...])
            } else {
                header = part[..<end]
                bytes.append(part)
            }
        }
        try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

// A search trial as training: the trainer's hyperparameters as a search vocabulary,
// a trial's TrainingSettings, and the training of one job from rung to rung. Every
// way of running trials (this process's threads, a cluster worker's `train-trial`
// task) trains through `TrialTraining.run`, so a trial gives the same model wherever
// it runs.

import Foundation
import Search
import Simulation
import Surrogate

/// The trainer's hyperparameters, as search specs name them.
public enum TrainerSearchSpace {
    /// Every key a search space may set. `lr` is the learning rate (as `duet train --lr`).
    public static let vocabulary = SearchVocabulary(
        parameters: [
            HyperparameterDefinition("layers", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("width", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("activation", .name(Activation.allCases.map(\.rawValue))),
            HyperparameterDefinition("optimizer", .name(OptimizerKind.allCases.map(\.rawValue))),
            HyperparameterDefinition("lr", .real, rules: [.greaterThan(0)], aliases: ["learningRate"]),
            HyperparameterDefinition("weightDecay", .real, rules: [.atLeast(0)]),
            HyperparameterDefinition("batchSize", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("patience", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("schedule", .name(LearningRateSchedule.allCases.map(\.rawValue))),
            HyperparameterDefinition("warmupEpochs", .whole, rules: [.atLeast(0)]),
            HyperparameterDefinition("stepEpochs", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("stepFactor", .real, rules: [.greaterThan(0), .atMost(1)]),
            HyperparameterDefinition("huberDelta", .real, rules: [.atLeast(0)]),
        ],
        defaultMaxEpochs: TrainingSettings().maxEpochs,
        reserved: [
            "seed": "each trial's seed is derived from the search seed and the trial number; set the top-level seed",
            "threads": "each trial trains on one thread (trials run in parallel); set duet search --threads",
            "maxEpochs": "set algorithm.maxEpochs: every trial's learning-rate schedule spans it",
            "epochs": "set algorithm.maxEpochs: every trial's learning-rate schedule spans it",
        ])

    /// The settings of a trial: the trainer's defaults, then the trial's values.
    /// `maxEpochs` is the search's (the schedule spans it even when ASHA stops the
    /// trial earlier, so resuming continues the same run); `threads` is 1 for a trial.
    public static func settings(_ values: [HyperparameterValue], seed: UInt64, maxEpochs: Int, threads: Int = 1)
        throws -> TrainingSettings
    {
        var settings = TrainingSettings()
        for item in values {
            func number() throws -> Double {
                guard let x = item.value.number else { throw SearchError("\(item.name) needs a number, got \(item.value)") }
                return x
            }
            func whole() throws -> Int {
                let x = try number()
                guard x == x.rounded(), let n = Int(exactly: x) else {
                    throw SearchError("\(item.name) needs a whole number, got \(item.value)")
                }
                return n
            }
            func word<T: RawRepresentable>(_: T.Type) throws -> T where T.RawValue == String {
                guard case .name(let name) = item.value, let value = T(rawValue: name) else {
                    throw SearchError("\(item.name): unknown value \(item.value)")
                }
                return value
            }
            switch item.name {
            case "layers": settings.layers = try whole()
            case "width": settings.width = try whole()
            case "activation": settings.activation = try word(Activation.self)
            case "optimizer": settings.optimizer = try word(OptimizerKind.self)
            case "lr": settings.learningRate = try number()
            case "weightDecay": settings.weightDecay = try number()
            case "batchSize": settings.batchSize = try whole()
            case "patience": settings.patience = try whole()
            case "schedule": settings.schedule = try word(LearningRateSchedule.self)
            case "warmupEpochs": settings.warmupEpochs = try whole()
            case "stepEpochs": settings.stepEpochs = try whole()
            case "stepFactor": settings.stepFactor = try number()
            case "huberDelta": settings.huberDelta = try number()
            default: throw SearchError("\(item.name) is not a trainer hyperparameter")
            }
        }
        settings.seed = seed
        settings.maxEpochs = maxEpochs
        settings.threads = threads
        if let problem = settings.problem { throw SearchError("invalid trial settings: \(problem)") }
        return settings
    }

    public static func settings(_ job: TrialJob, threads: Int = 1) throws -> TrainingSettings {
        try settings(job.hyperparameters, seed: job.seed, maxEpochs: job.maxEpochs, threads: threads)
    }
}

/// The data every trial of a search trains on: the dataset and its split.
public struct TrialData: Sendable {
    public let dataset: SurrogateDataset
    public let split: DatasetSplit

    public init(dataset: SurrogateDataset, split: SearchSplit) {
        self.dataset = dataset
        self.split = dataset.split(validation: split.validation, test: split.test, seed: split.seed)
    }

    /// The training job of a trial (normalisation fitted on the training split).
    public func job(_ settings: TrainingSettings) throws -> SurrogateTrainingJob {
        try SurrogateTrainingJob(dataset: dataset, split: split, settings: settings)
    }
}

/// Training one trial job, rung by rung.
public enum TrialTraining {
    /// Where meanResponse is among the trainer's targets (validation MAPE per target).
    public static let meanResponseIndex = SurrogateTargets.names.firstIndex(of: "meanResponse") ?? 0

    /// How a job ended on this worker.
    public enum Outcome: Sendable, Equatable {
        /// Waiting at a rung (it may be promoted later).
        case paused
        /// Finished for good.
        case stopped
        /// `shouldStop` said so before the rung was reached: nothing was reported.
        case interrupted
    }

    /// A fresh trainer for the job's trial (initial weights from its seed).
    public static func makeTrainer(_ job: TrialJob, data: TrialData, threads: Int = 1) throws -> Trainer {
        try data.job(TrialTraining.settings(job, threads: threads)).makeTrainer()
    }

    static func settings(_ job: TrialJob, threads: Int) throws -> TrainingSettings {
        try TrainerSearchSpace.settings(job, threads: threads)
    }

    /// Trains `trainer` (the job's trial, at `job.fromEpochs` or earlier: a fresh one
    /// catches up silently) to the job's rung, reports through `report`, and carries on
    /// while the answer is `.promote`. `shouldStop` is asked after every epoch.
    public static func run(
        _ job: TrialJob, trainer: inout Trainer, worker: String, shouldStop: () -> Bool = { false },
        report: (RungReport) -> AshaDecision
    ) -> Outcome {
        precondition(trainer.epochsCompleted <= job.fromEpochs || trainer.isFinished,
                     "trial \(job.trial): the trainer is at \(trainer.epochsCompleted) epochs, past \(job.fromEpochs)")
        if trainer.epochsCompleted < job.fromEpochs {
            let stop = trainer.train(epochs: job.fromEpochs - trainer.epochsCompleted) { _ in !shouldStop() }
            if stop == .callback { return .interrupted }
        }
        var rung = job.rung
        var target = job.epochs
        while true {
            if trainer.epochsCompleted < target, !trainer.isFinished {
                let stop = trainer.train(epochs: target - trainer.epochsCompleted) { _ in !shouldStop() }
                if stop == .callback { return .interrupted }
            }
            let best = trainer.best
            let decision = report(RungReport(
                trial: job.trial, rung: rung, epochs: trainer.epochsCompleted,
                mape: best?.validationMAPE[meanResponseIndex] ?? .nan, meanMAPE: best?.meanValidationMAPE ?? .nan,
                seconds: trainer.history.last?.elapsedSeconds ?? 0, canContinue: !trainer.isFinished, worker: worker))
            switch decision {
            case .promote(let epochs):
                rung += 1
                target = epochs
            case .pause: return .paused
            case .stop: return .stopped
            }
        }
    }

    /// Trial `record` trained alone from scratch to its recorded epochs: the same
    /// weights it had in the search (training is deterministic for equal data, settings
    /// and thread count; trials train on one thread).
    public static func retrain(_ record: TrialRecord, spec: SearchSpec, data: TrialData) throws -> Trainer {
        let settings = try TrainerSearchSpace.settings(
            record.hyperparameters, seed: record.seed, maxEpochs: spec.algorithm.maxEpochs, threads: 1)
        var trainer = try data.job(settings).makeTrainer()
        trainer.train(epochs: record.epochs)
        return trainer
    }
}

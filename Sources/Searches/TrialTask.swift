// A search trial as a cluster task: `train-trial`.
//
// One task trains one trial from `fromEpochs` to the epochs of its next rung and
// returns that rung's result; the search driver (`ClusterSearch`, beside the client)
// feeds it to ASHA and, on a promotion, submits the next rung as a new task. So every
// rung result is a task result in the coordinator's journal, and a lost worker's
// rung is simply handed to another worker by the coordinator.
//
// Each task is a one-task run whose spec blob is `TrialTaskSpec` (the job, the split
// and the search's fingerprint, as JSON) and whose one extra blob is the dataset file,
// named by its SHA-256: a worker downloads it once and keeps it (`BlobStore`).
//
// State between rungs: a worker keeps the trainers of the trials it ran last
// (`TrialTrainerCache`), so a promotion that lands on the same worker continues where
// the trial stopped. Elsewhere the trial is trained from scratch to `fromEpochs`
// first: training is deterministic on one thread, so it reaches the same weights and
// the same rung results; it costs time, not accuracy.

import Cluster
import ClusterCore
import DuetSupport
import Foundation
import Search
import Simulation
import Surrogate

/// What a `train-trial` task trains: its spec blob.
public struct TrialTaskSpec: Sendable, Hashable, Codable {
    public static let currentFormat = 1

    public var format: Int
    /// The search's fingerprint (spec sections and dataset hash), so that two searches
    /// never share a cached trainer or a run.
    public var search: String
    public var datasetSHA256: String
    public var validation: Double
    public var test: Double
    public var splitSeed: UInt64
    public var trial: Int
    public var seed: UInt64
    public var hyperparameters: [HyperparameterValue]
    public var fromEpochs: Int
    public var rung: Int
    public var epochs: Int
    public var rungs: [Int]
    // The threshold for sending the model back (`modelBelowMAPE`) is not here but in
    // the run's payload (`TrialTaskPayload`): the spec hash identifies the run, and a
    // search restarted with one more finished trial must still resume a rung in flight.

    public init(job: TrialJob, search: String, datasetSHA256: String, split: SearchSplit) {
        format = Self.currentFormat
        self.search = search
        self.datasetSHA256 = datasetSHA256
        validation = split.validation
        test = split.test
        splitSeed = split.seed
        trial = job.trial
        seed = job.seed
        hyperparameters = job.hyperparameters
        fromEpochs = job.fromEpochs
        rung = job.rung
        epochs = job.epochs
        rungs = job.rungs
    }

    public var job: TrialJob {
        TrialJob(trial: trial, seed: seed, hyperparameters: hyperparameters, fromEpochs: fromEpochs, rung: rung,
                 epochs: epochs, rungs: rungs)
    }

    public var split: SearchSplit { SearchSplit(validation: validation, test: test, seed: splitSeed) }

    /// Sorted keys: the same job always gives the same bytes, hence the same spec hash,
    /// so submitting an unfinished rung again resumes its run.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]) throws -> TrialTaskSpec {
        let spec: TrialTaskSpec
        do {
            spec = try JSONDecoder().decode(TrialTaskSpec.self, from: Data(bytes))
        } catch {
            throw TaskFailure("the train-trial spec is not valid JSON of a trial job: \(error)")
        }
        guard spec.format == currentFormat else {
            throw TaskFailure("train-trial spec format \(spec.format); this worker reads format \(currentFormat) (update it)")
        }
        guard !spec.rungs.isEmpty, spec.rungs.indices.contains(spec.rung), spec.epochs >= spec.fromEpochs else {
            throw TaskFailure("train-trial spec of trial \(spec.trial): rung \(spec.rung) of \(spec.rungs), "
                              + "\(spec.fromEpochs) -> \(spec.epochs) epochs is not a rung to train")
        }
        return spec
    }
}

/// A `train-trial` run's payload: `{"modelBelowMAPE": x}`. When the rung's validation
/// MAPE is at or below `x` (the best of the search's other trials when the rung was
/// submitted), the worker sends the model file along, so that the search need not
/// retrain its best trial at the end. Absent: never. The payload is not part of what
/// identifies a run (kind, spec hash, task count), so a rung resubmitted with another
/// threshold resumes its unfinished run, which keeps the threshold it was submitted
/// with: that only decides whether a model comes along, never the rung's report.
public enum TrialTaskPayload {
    public static func make(modelBelowMAPE: Double?) -> JSON {
        guard let modelBelowMAPE, modelBelowMAPE.isFinite else { return .emptyObject }
        return ["modelBelowMAPE": .number(modelBelowMAPE)]
    }

    /// The threshold in `payload`; nil when absent. A member that is not a number is an error naming it.
    public static func modelBelowMAPE(_ payload: JSON) throws -> Double? {
        guard let value = payload["modelBelowMAPE"] else { return nil }
        guard let threshold = value.doubleValue else {
            throw TaskFailure("train-trial payload: modelBelowMAPE must be a number, found \(value.kindName)")
        }
        return threshold
    }
}

/// A rung result on the wire: `RungReport` as one line of JSON, then, when the trial
/// reached a new best, a newline and its model file.
public enum TrialTaskResult {
    struct Wire: Codable {
        var trial: Int
        var rung: Int
        var epochs: Int
        /// Text, so that a NaN (a diverged trial) survives JSON.
        var mape: String
        var meanMAPE: String
        var seconds: Double
        var canContinue: Bool
        var worker: String
    }

    public static func encode(_ report: RungReport, model: Data? = nil) -> [UInt8] {
        let wire = Wire(trial: report.trial, rung: report.rung, epochs: report.epochs, mape: "\(report.mape)",
                        meanMAPE: "\(report.meanMAPE)", seconds: report.seconds, canContinue: report.canContinue,
                        worker: report.worker)
        var bytes = Array((try? JSONEncoder().encode(wire)) ?? Data())
        if let model {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: model)
        }
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> (report: RungReport, model: ModelFile?) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(bytes[..<newline])),
              let mape = Double(wire.mape), let meanMAPE = Double(wire.meanMAPE)
        else {
            throw SearchError("a train-trial result is not a rung report (\(bytes.count) bytes)")
        }
        let report = RungReport(trial: wire.trial, rung: wire.rung, epochs: wire.epochs, mape: mape, meanMAPE: meanMAPE,
                                seconds: wire.seconds, canContinue: wire.canContinue, worker: wire.worker)
        guard newline < bytes.endIndex else { return (report, nil) }
        let model = try ModelFile.decode(Data(bytes[(newline + 1)...]), file: "the model of trial \(wire.trial)")
        return (report, model)
    }
}

/// Trains one rung of one trial on a worker.
public struct TrainTrialRunner: TaskRunner {
    public static let kind = "train-trial"

    private let datasets = DatasetCache()
    private let trainers: TrialTrainerCache

    /// `keepTrainers`: trials whose trainer this worker keeps for their next rung.
    public init(keepTrainers: Int = 8) {
        trainers = TrialTrainerCache(capacity: keepTrainers)
    }

    public func run(_ task: TaskContext) throws -> [UInt8] {
        let spec = try TrialTaskSpec.decode(task.specBytes)
        let data = try datasets.data(spec, blobs: task.blobs) { task.blob($0) }
        let job = spec.job
        let key = "\(spec.search)/\(spec.trial)"
        var trainer = try trainers.take(key, atMost: job.fromEpochs)
            ?? TrialTraining.makeTrainer(job, data: data, threads: 1)
        var result: RungReport?
        let outcome = TrialTraining.run(job, trainer: &trainer, worker: task.worker, shouldStop: { task.isCancelled }) {
            report in
            result = report
            return .pause
        }
        guard outcome != .interrupted, let result else {
            throw TaskFailure("trial \(spec.trial) was cancelled before its rung at \(spec.epochs) epochs")
        }
        let ended = !result.canContinue || spec.rung == spec.rungs.count - 1
        if !ended { trainers.keep(key, trainer) }
        var model: Data?
        if let threshold = try TrialTaskPayload.modelBelowMAPE(task.payload), result.mape <= threshold {
            let settings = try TrainerSearchSpace.settings(job, threads: 1)
            model = try data.job(settings).modelFile(trainer).encoded()
        }
        return TrialTaskResult.encode(result, model: model)
    }

    /// Parsed datasets and their splits, by dataset hash and split (a worker runs many
    /// trials of the same search).
    final class DatasetCache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: TrialData] = [:]

        func data(_ spec: TrialTaskSpec, blobs: [BlobHash], bytes: (BlobHash) -> [UInt8]?) throws -> TrialData {
            let key = "\(spec.datasetSHA256)/\(spec.validation)/\(spec.test)/\(spec.splitSeed)"
            if let data = lock.withLock({ entries[key] }) { return data }
            guard let hash = blobs.first(where: { $0.hex == spec.datasetSHA256 }), let file = bytes(hash) else {
                throw TaskFailure("train-trial: the task does not carry the dataset \(spec.datasetSHA256.prefix(12)) as a blob")
            }
            let dataset = try SurrogateDataset.parse(bytes: file, source: "dataset \(spec.datasetSHA256.prefix(12))")
            let data = TrialData(dataset: dataset, split: spec.split)
            lock.withLock {
                if entries.count >= 4 { entries.removeAll() }
                entries[key] = data
            }
            return data
        }
    }
}

/// The trainers of the trials a worker ran last, so that a promoted trial continues
/// where it paused. Bounded: the oldest are dropped (they retrain from scratch).
final class TrialTrainerCache: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private var trainers: [String: Trainer] = [:]
    private var order: [String] = []

    init(capacity: Int) { self.capacity = capacity }

    /// The kept trainer of `key` if it has trained no more than `epochs` (removed from
    /// the cache: a trial trains on one task at a time).
    func take(_ key: String, atMost epochs: Int) -> Trainer? {
        lock.withLock {
            guard let trainer = trainers.removeValue(forKey: key) else { return nil }
            order.removeAll { $0 == key }
            return trainer.epochsCompleted <= epochs ? trainer : nil
        }
    }

    func keep(_ key: String, _ trainer: Trainer) {
        guard capacity > 0 else { return }
        lock.withLock {
            if trainers.updateValue(trainer, forKey: key) == nil { order.append(key) }
            while order.count > capacity { trainers.removeValue(forKey: order.removeFirst()) }
        }
    }
}

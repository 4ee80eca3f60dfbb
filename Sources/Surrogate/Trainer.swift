// Mini-batch training with early stopping on validation MAPE, resumable so a
// hyperparameter search (ASHA) can pause a trial at a rung and continue it later.

import Foundation
import Simulation

/// Rows of standardised inputs (n x d) and standardised targets (n x k).
public struct Samples: Sendable, Equatable {
    public var inputs: Matrix
    public var targets: Matrix

    public init(inputs: Matrix, targets: Matrix) {
        precondition(inputs.rows == targets.rows, "Samples: \(inputs.rows) input rows but \(targets.rows) target rows")
        self.inputs = inputs
        self.targets = targets
    }

    public var count: Int { inputs.rows }
}

/// What one epoch achieved, handed to the epoch callback and kept in `Trainer.history`.
public struct EpochReport: Sendable, Equatable, Codable {
    /// Epochs completed so far, this one included (1 after the first).
    public var epoch: Int
    /// The loss (squared error, or Huber's: `TrainingSettings.huberDelta`) over
    /// standardised targets, averaged over the epoch's mini-batches (weighted by their
    /// rows) as they were trained.
    public var trainLoss: Double
    /// Validation mean absolute percentage error per target, in percent, on real values.
    public var validationMAPE: [Double]
    /// The mean of `validationMAPE` across targets: the early-stopping criterion.
    public var meanValidationMAPE: Double
    /// Training time so far (all calls to `train`), seconds.
    public var elapsedSeconds: Double
    public var learningRate: Double
    /// The best epoch so far (this one, when `improved`) and its mean validation MAPE.
    public var bestEpoch: Int
    public var bestMeanValidationMAPE: Double
    public var improved: Bool
}

/// Why `train` returned.
public enum StopReason: String, Sendable, Codable {
    /// `patience` epochs without improvement; the best weights were restored.
    case earlyStopped
    /// `maxEpochs` reached; the best weights were restored.
    case maxEpochs
    /// The loss became NaN or infinite; the best weights were restored.
    case diverged
    /// The epoch callback returned false; training can resume.
    case callback
    /// The `epochs` budget of this call ran out; training can resume.
    case budget
}

/// A training run: model, optimiser state and progress. `train(epochs:)` may be called
/// again to continue (the result is bit-identical to one longer call: the shuffle of
/// epoch e depends only on the seed and e, and the schedule on e).
///
/// Deterministic: equal data, settings (seed, threads included) give bit-identical weights.
public struct Trainer: Sendable {
    public let settings: TrainingSettings
    public let transform: TargetTransform
    public let training: Samples
    public let validation: Samples
    /// The weights being trained (after a finishing stop: the best weights).
    public private(set) var network: Network
    /// The weights of the best epoch so far (lowest mean validation MAPE); before the
    /// first epoch, the initial weights.
    public private(set) var bestNetwork: Network
    public private(set) var best: EpochReport?
    public private(set) var history: [EpochReport] = []
    public private(set) var epochsCompleted = 0
    /// Why training ended for good (early stop, max epochs or divergence), or nil
    /// while it can continue.
    public private(set) var finalStop: StopReason?
    public var isFinished: Bool { finalStop != nil }
    private var epochsWithoutImprovement = 0
    private var elapsed = 0.0
    private var optimizer: AdamState
    private var order: [Int]
    private var scratch: Scratch

    /// A trainer for a fresh network of `settings.layers` x `settings.width` with the
    /// inputs and targets of `training`, initialised from `settings.seed`.
    public init(settings: TrainingSettings, training: Samples, validation: Samples, transform: TargetTransform) throws {
        if let problem = settings.problem { throw TrainingError(description: "invalid training settings: \(problem)") }
        let architecture = NetworkArchitecture(
            inputs: training.inputs.cols, layers: settings.layers, width: settings.width,
            outputs: training.targets.cols, activation: settings.activation)
        try self.init(settings: settings, network: Network(architecture: architecture, seed: settings.seed),
                      training: training, validation: validation, transform: transform)
    }

    /// A trainer starting from given weights (fine-tuning; tests).
    public init(settings: TrainingSettings, network: Network, training: Samples, validation: Samples, transform: TargetTransform) throws {
        if let problem = settings.problem { throw TrainingError(description: "invalid training settings: \(problem)") }
        let a = network.architecture
        guard training.count > 0 else { throw TrainingError(description: "the training split is empty") }
        guard validation.count > 0 else { throw TrainingError(description: "the validation split is empty") }
        for (name, split) in [("training", training), ("validation", validation)] {
            guard split.inputs.cols == a.inputs, split.targets.cols == a.outputs else {
                throw TrainingError(description: "the \(name) split has \(split.inputs.cols) inputs and \(split.targets.cols) targets; the network takes \(a.inputs) and gives \(a.outputs)")
            }
        }
        guard transform.count == a.outputs else {
            throw TrainingError(description: "the target transform describes \(transform.count) targets; the network gives \(a.outputs)")
        }
        self.settings = settings
        self.transform = transform
        self.training = training
        self.validation = validation
        self.network = network
        bestNetwork = network
        optimizer = AdamState(kind: settings.optimizer, parameterCount: a.parameterCount)
        order = Array(0..<training.count)
        scratch = Scratch(architecture: a, settings: settings)
    }

    /// Trains up to `epochs` more epochs (nil: until `maxEpochs`), calling `onEpoch`
    /// after each; returning false from it pauses training (resumable). Stopping for
    /// good (patience, `maxEpochs`, divergence) restores the best weights into `network`.
    @discardableResult
    public mutating func train(epochs budget: Int? = nil, onEpoch: (EpochReport) -> Bool = { _ in true }) -> StopReason {
        if let finalStop { return finalStop }
        // Workers split each batch; BLAS runs single-threaded inside each (see `threads`).
        BLAS.setThreads(1)
        // A copied trainer shares the scratch buffers; the copy that trains gets its own.
        if !isKnownUniquelyReferenced(&scratch) {
            scratch = Scratch(architecture: network.architecture, settings: settings)
        }
        let clock = ContinuousClock()
        var remaining = budget ?? Int.max
        while remaining > 0 {
            if epochsCompleted >= settings.maxEpochs { return finish(.maxEpochs) }
            remaining -= 1
            let start = clock.now
            let rate = settings.learningRate(epoch: epochsCompleted)
            let loss = runEpoch(learningRate: rate)
            let mape = validationMAPE()
            let mean = mape.isEmpty ? 0 : mape.reduce(0, +) / Double(mape.count)
            elapsed += (clock.now - start).seconds
            epochsCompleted += 1
            let improved = mean < (best?.meanValidationMAPE ?? .infinity)
            if improved {
                bestNetwork = network
                epochsWithoutImprovement = 0
            } else {
                epochsWithoutImprovement += 1
            }
            let report = EpochReport(
                epoch: epochsCompleted, trainLoss: loss, validationMAPE: mape, meanValidationMAPE: mean,
                elapsedSeconds: elapsed, learningRate: rate,
                bestEpoch: improved ? epochsCompleted : best?.bestEpoch ?? 0,
                bestMeanValidationMAPE: improved ? mean : best?.meanValidationMAPE ?? .infinity, improved: improved)
            if improved { best = report }
            history.append(report)
            let proceed = onEpoch(report)
            if !loss.isFinite { return finish(.diverged) }
            if epochsWithoutImprovement >= settings.patience { return finish(.earlyStopped) }
            if epochsCompleted >= settings.maxEpochs { return finish(.maxEpochs) }
            if !proceed { return .callback }
        }
        return .budget
    }

    private mutating func finish(_ reason: StopReason) -> StopReason {
        network = bestNetwork
        finalStop = reason
        return reason
    }

    /// One pass over the training split in a seeded random order; returns the mean loss.
    private mutating func runEpoch(learningRate: Double) -> Double {
        let n = training.count
        // The order of epoch e depends on (seed, e) alone: resuming reproduces it.
        var random = RandomStream(seed: settings.seed, substream: 2, UInt64(epochsCompleted))
        for i in 0..<n { order[i] = i }
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, random.index(below: i + 1)) }

        let scratch = self.scratch
        var lossSum = 0.0
        var start = 0
        while start < n {
            let m = min(settings.batchSize, n - start)
            lossSum += network.parameters.withUnsafeBufferPointer { p in
                order.withUnsafeBufferPointer { order in
                    training.inputs.withUnsafeBufferPointer { x in
                        training.targets.withUnsafeBufferPointer { y in
                            scratch.gradient(parameters: p, rows: UnsafeBufferPointer(rebasing: order[start..<start + m]), inputs: x, targets: y)
                        }
                    }
                }
            }
            optimizer.update(
                parameters: &network.parameters, gradients: UnsafeBufferPointer(scratch.workspaces[0].gradients),
                slots: scratch.workspaces[0].slots, learningRate: learningRate, decay: settings.weightDecay)
            start += m
        }
        return lossSum / Double(n * training.targets.cols)
    }

    /// Validation MAPE per target, percent, on real values (rows whose real value is 0
    /// are left out of that target's mean; a target with none scores 0).
    ///
    /// It runs the same forward pass, in blocks of the same size, as the public
    /// `mape(network:samples:transform:)`: OpenBLAS may pick another kernel (and so
    /// round differently) for another block size, and the training workspace computes
    /// activations in its own way, so any other path would record a best score that a
    /// user recomputing it on the restored weights does not get.
    private func validationMAPE() -> [Double] {
        if scratch.evaluation == nil {
            scratch.evaluation = Self.evaluationWorkspace(network.architecture, rows: validation.count)
        }
        return Self.mape(network: network, samples: validation, transform: transform, workspace: scratch.evaluation!)
    }

    /// MAPE per target of `network` on `samples` (standardised), percent, on real values.
    public static func mape(network: Network, samples: Samples, transform: TargetTransform) -> [Double] {
        let workspace = evaluationWorkspace(network.architecture, rows: samples.count)
        return mape(network: network, samples: samples, transform: transform, workspace: workspace)
    }

    /// The prediction workspace every MAPE is computed in: blocks of up to 1024 rows.
    private static func evaluationWorkspace(_ architecture: NetworkArchitecture, rows: Int) -> Workspace {
        Workspace(architecture: architecture, capacity: min(1024, max(1, rows)), training: false)
    }

    static func mape(network: Network, samples: Samples, transform: TargetTransform, workspace: Workspace) -> [Double] {
        let n = samples.count, d = samples.inputs.cols, k = samples.targets.cols
        var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
        network.parameters.withUnsafeBufferPointer { p in
            samples.inputs.withUnsafeBufferPointer { x in
                samples.targets.withUnsafeBufferPointer { y in
                    var start = 0
                    while start < n {
                        let m = min(workspace.capacity, n - start)
                        workspace.input.baseAddress!.update(from: x.baseAddress! + start * d, count: m * d)
                        workspace.forward(parameters: p, rows: m)
                        let out = workspace.output
                        for r in 0..<m {
                            for j in 0..<k {
                                let target = transform.targets[j]
                                let actual = target.real(y[(start + r) * k + j])
                                guard actual != 0 else { continue }
                                sums[j] += abs(target.real(out[r * k + j]) - actual) / abs(actual)
                                counts[j] += 1
                            }
                        }
                        start += m
                    }
                }
            }
        }
        return (0..<k).map { counts[$0] == 0 ? 0 : 100 * sums[$0] / Double(counts[$0]) }
    }
}

/// Per-worker workspaces for data-parallel mini-batches: worker i takes a fixed,
/// contiguous share of every batch's rows, and the shares' gradients are summed in
/// worker order, so the result depends on the worker count but never on timing.
/// Each worker calls BLAS single-threaded: the activations run in parallel too, which
/// BLAS threading alone would leave serial, and no BLAS threads spin while we work.
final class Scratch: @unchecked Sendable {  // used by one trainer at a time (see Trainer.train)
    let workspaces: [Workspace]
    /// The validation pass's prediction workspace, made at the first validation.
    var evaluation: Workspace?
    private let losses: UnsafeMutableBufferPointer<Double>
    /// `TrainingSettings.huberDelta`: 0 for squared errors.
    private let huberDelta: Float

    init(architecture: NetworkArchitecture, settings: TrainingSettings) {
        huberDelta = Float(settings.huberDelta)
        let workers = max(1, min(settings.threads, settings.batchSize))
        let share = (settings.batchSize + workers - 1) / workers
        workspaces = (0..<workers).map { _ in Workspace(architecture: architecture, capacity: share, training: true) }
        losses = .allocate(capacity: workers)
        losses.initialize(repeating: 0)
    }

    deinit { losses.deallocate() }

    /// Worker `part`: forward and backward over its share of the batch `rows`.
    private func run(
        part: Int, _ parameters: UnsafeBufferPointer<Float>, _ rows: UnsafeBufferPointer<Int>,
        _ inputs: UnsafeBufferPointer<Float>, _ targets: UnsafeBufferPointer<Float>, _ scale: Float
    ) {
        let workspace = workspaces[part]
        let lower = part * workspace.capacity, count = min(workspace.capacity, rows.count - lower)
        workspace.gather(UnsafeBufferPointer(rebasing: rows[lower..<lower + count]), inputs: inputs, targets: targets)
        workspace.forward(parameters: parameters, rows: count)
        losses[part] = workspace.loss(rows: count, gradientScale: scale, huberDelta: huberDelta)
        workspace.backward(parameters: parameters, rows: count)
    }

    /// The gradient of the mean squared error (or Huber loss) over the rows `rows` of
    /// (inputs, targets) into `workspaces[0].gradients`; returns the batch's summed loss.
    func gradient(
        parameters: UnsafeBufferPointer<Float>, rows: UnsafeBufferPointer<Int>,
        inputs: UnsafeBufferPointer<Float>, targets: UnsafeBufferPointer<Float>
    ) -> Double {
        let m = rows.count, share = workspaces[0].capacity
        let parts = (m + share - 1) / share
        let scale = 2 / Float(m * workspaces[0].architecture.outputs)
        if parts == 1 {
            run(part: 0, parameters, rows, inputs, targets, scale)
        } else {
            // Read-only inputs and per-worker outputs: safe to hand to the workers.
            nonisolated(unsafe) let (parameters, rows, inputs, targets) = (parameters, rows, inputs, targets)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                self.run(part: part, parameters, rows, inputs, targets, scale)
            }
        }
        var loss = losses[0]
        let total = workspaces[0].gradients
        for part in 1..<max(1, parts) {
            loss += losses[part]
            let g = workspaces[part].gradients
            for i in 0..<total.count { total[i] += g[i] }
        }
        return loss
    }
}

/// Training cannot start: settings or data that do not fit.
public struct TrainingError: Error, CustomStringConvertible, LocalizedError {
    public var description: String
    public var errorDescription: String? { description }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}

// Hyperparameters of one training run. Codable with every key optional (a missing
// key takes its default, but for `huberDelta`, which model files from before it was
// added lack: they were trained on squared errors), so search spaces and model files
// can name only what differs.

import Foundation

/// Gradient-based optimiser.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// Adam (Kingma and Ba, 2015) with L2 weight decay added to the gradient.
    case adam
    /// AdamW (Loshchilov and Hutter, 2019): weight decay applied to the weights
    /// directly, decoupled from the adaptive step.
    case adamw
}

/// How the learning rate changes from epoch to epoch (after any warm-up). The rate is
/// constant within an epoch; epochs count from 0.
///
/// - `none`: constant `learningRate`.
/// - `cosine`: lr(e) = learningRate * (1 + cos(pi * p)) / 2, p = (e - warmup) / (maxEpochs - warmup):
///   from the full rate down towards 0 at `maxEpochs` (cosine annealing, no restarts).
/// - `step`: lr(e) = learningRate * stepFactor ^ floor((e - warmup) / stepEpochs).
///
/// Warm-up: during the first `warmupEpochs` epochs, lr(e) = learningRate * (e + 1) / (warmupEpochs + 1),
/// a linear ramp that reaches the full rate on the first epoch after it.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    case none, cosine, step
}

public struct TrainingSettings: Codable, Sendable, Equatable {
    /// Hidden layers and units per hidden layer.
    public var layers = 3
    public var width = 128
    public var activation = Activation.silu
    public var optimizer = OptimizerKind.adamw
    public var learningRate = 2e-3
    /// Adam: L2 coefficient; AdamW: decoupled decay per unit learning rate. Applied
    /// to weights only, never to biases.
    public var weightDecay = 1e-5
    public var batchSize = 32
    public var maxEpochs = 400
    /// Stop after this many epochs without a lower mean validation MAPE.
    public var patience = 60
    public var schedule = LearningRateSchedule.cosine
    public var warmupEpochs = 0
    /// `step` schedule: epochs between reductions, and the factor of each.
    public var stepEpochs = 100
    public var stepFactor = 0.1
    /// Seeds initialisation (substream 1) and shuffling (substream 2, epoch).
    public var seed: UInt64 = 1
    /// Worker threads: each batch is split among them (data parallel, BLAS single-
    /// threaded in each). Results are bit-identical for equal data and settings, this
    /// count included; a different count changes the rounding of the summed gradients.
    public var threads = 2
    /// The loss: 0 for mean squared error of the standardised targets (log metrics over
    /// their references), > 0 for Huber's loss with this threshold in standardised
    /// units: squared within it, linear beyond, so that a few large residuals (noisy
    /// labels, rare configurations) pull less on the fit of the rest. 0.03 is about a
    /// percent of meanResponse on the documented domain, the labels' own noise: on its
    /// rows one 5 x 192 network's test MAPE fell from 4.52% to 3.87%, and on the
    /// quickstart pipeline's rows the defaults' from 3.68-4.02% to 2.94-3.18% (three
    /// seeds; docs/domain.md, "A Huber loss").
    public var huberDelta = 0.03

    public init() {}

    /// Why these settings cannot be used, or nil.
    public var problem: String? {
        if layers < 1 { return "layers must be at least 1, got \(layers)" }
        if width < 1 { return "width must be at least 1, got \(width)" }
        if !(learningRate > 0 && learningRate.isFinite) { return "learningRate must be positive, got \(learningRate)" }
        if !(weightDecay >= 0 && weightDecay.isFinite) { return "weightDecay must be zero or positive, got \(weightDecay)" }
        if batchSize < 1 { return "batchSize must be at least 1, got \(batchSize)" }
        if maxEpochs < 1 { return "maxEpochs must be at least 1, got \(maxEpochs)" }
        if patience < 1 { return "patience must be at least 1, got \(patience)" }
        if warmupEpochs < 0 { return "warmupEpochs must be zero or positive, got \(warmupEpochs)" }
        if stepEpochs < 1 { return "stepEpochs must be at least 1, got \(stepEpochs)" }
        if !(stepFactor > 0 && stepFactor <= 1) { return "stepFactor must be in (0, 1], got \(stepFactor)" }
        if threads < 1 { return "threads must be at least 1, got \(threads)" }
        if !(huberDelta >= 0 && huberDelta.isFinite) { return "huberDelta must be zero or positive, got \(huberDelta)" }
        return nil
    }

    /// The learning rate of epoch `epoch` (0-based); see `LearningRateSchedule`.
    public func learningRate(epoch: Int) -> Double {
        if epoch < warmupEpochs { return learningRate * Double(epoch + 1) / Double(warmupEpochs + 1) }
        let e = epoch - warmupEpochs
        switch schedule {
        case .none:
            return learningRate
        case .cosine:
            let span = max(1, maxEpochs - warmupEpochs)
            let p = min(1, Double(e) / Double(span))
            return learningRate * (1 + cos(Double.pi * p)) / 2
        case .step:
            return learningRate * pow(stepFactor, Double(e / stepEpochs))
        }
    }

    private enum CodingKeys: String, CodingKey {
        case layers, width, activation, optimizer, learningRate, weightDecay, batchSize, maxEpochs, patience
        case schedule, warmupEpochs, stepEpochs, stepFactor, seed, threads, huberDelta
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingSettings()
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? d.activation
        optimizer = try c.decodeIfPresent(OptimizerKind.self, forKey: .optimizer) ?? d.optimizer
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        maxEpochs = try c.decodeIfPresent(Int.self, forKey: .maxEpochs) ?? d.maxEpochs
        patience = try c.decodeIfPresent(Int.self, forKey: .patience) ?? d.patience
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule) ?? d.schedule
        warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs) ?? d.warmupEpochs
        stepEpochs = try c.decodeIfPresent(Int.self, forKey: .stepEpochs) ?? d.stepEpochs
        stepFactor = try c.decodeIfPresent(Double.self, forKey: .stepFactor) ?? d.stepFactor
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
        // Files written before the key existed were trained on squared errors.
        huberDelta = try c.decodeIfPresent(Double.self, forKey: .huberDelta) ?? 0
    }
}

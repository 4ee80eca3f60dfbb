import Foundation
import Simulation
import Testing

@testable import Surrogate

/// y = sin(x1) + x2^2 / 2 + x1 x3 on [-1, 1]^3, as two targets: y itself (standardised)
/// and exp(y) (log-standardised), so both kinds of target transform are exercised.
struct SmoothProblem {
    let scaler: FeatureScaler
    let transform: TargetTransform
    let training: Samples
    let validation: Samples
    let validationY: [Double]

    static func function(_ x: [Double]) -> Double { sin(x[0]) + x[1] * x[1] / 2 + x[0] * x[2] }

    init(trainingRows: Int = 1500, validationRows: Int = 400, seed: UInt64 = 21) throws {
        var random = RandomStream(seed: seed, substream: 50)
        func rows(_ n: Int) -> (x: [[Double]], y: [[Double]]) {
            let x = (0..<n).map { _ in (0..<3).map { _ in 2 * random.nextOpenUnit() - 1 } }
            return (x, x.map { let y = Self.function($0); return [y, exp(y)] })
        }
        let train = rows(trainingRows), valid = rows(validationRows)
        scaler = try FeatureScaler.fit(names: ["x1", "x2", "x3"], rows: train.x)
        transform = try TargetTransform.fit(names: ["y", "expY"], rows: train.y, log: [false, true])
        training = Samples(inputs: try scaler.transform(train.x), targets: try transform.transform(train.y))
        validation = Samples(inputs: try scaler.transform(valid.x), targets: try transform.transform(valid.y))
        validationY = valid.y.map { $0[0] }
    }

    static func settings(seed: UInt64 = 1) -> TrainingSettings {
        var s = TrainingSettings()
        s.layers = 2
        s.width = 32
        s.activation = .silu
        s.batchSize = 64
        s.learningRate = 3e-3
        s.maxEpochs = 100
        s.patience = 100
        s.seed = seed
        s.threads = 1
        return s
    }
}

@Suite("Training")
struct TrainingTests {
    func untimed(_ history: [EpochReport]) -> [EpochReport] {
        history.map { var report = $0; report.elapsedSeconds = 0; return report }
    }

    @Test func recoversSmoothFunction() throws {
        // 1500 rows, 2 x 32 silu, 60 epochs of cosine-annealed AdamW (about 2 s in a debug build).
        // Stated accuracy: validation RMSE of y below 0.03 (y spans about [-1.3, 2.4], std 0.8)
        // and MAPE of exp(y) below 3 %.
        let problem = try SmoothProblem()
        var trainer = try Trainer(settings: SmoothProblem.settings(), training: problem.training, validation: problem.validation, transform: problem.transform)
        let reason = trainer.train()
        #expect(reason == .maxEpochs || reason == .earlyStopped)
        let predictor = Predictor(network: trainer.network, features: problem.scaler, transform: problem.transform)
        let predicted = predictor.predictBatch(standardized: problem.validation.inputs, threads: 1)
        let real = problem.transform.real(predicted)
        let rmse = (zip(real, problem.validationY).reduce(0) { $0 + pow($1.0[0] - $1.1, 2) } / Double(real.count)).squareRoot()
        let best = try #require(trainer.best)
        #expect(rmse < 0.03, "validation RMSE \(rmse)")
        #expect(best.validationMAPE[1] < 3, "validation MAPE of exp(y): \(best.validationMAPE[1]) %")
        #expect(trainer.history.first!.trainLoss > 10 * trainer.history.last!.trainLoss)
    }

    @Test(arguments: [1, 2])
    func sameSeedGivesBitIdenticalWeights(threads: Int) throws {
        let problem = try SmoothProblem(trainingRows: 500, validationRows: 100)
        var settings = SmoothProblem.settings()
        settings.maxEpochs = 6
        settings.threads = threads
        var a = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
        var b = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
        a.train()
        b.train()
        #expect(a.network.isBitIdentical(to: b.network))
        #expect(untimed(a.history) == untimed(b.history))

        settings.seed = 2
        var c = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
        c.train()
        #expect(!a.network.isBitIdentical(to: c.network))
    }

    @Test func resumingEqualsOneLongerRun() throws {
        // ASHA pauses a trial at a rung and continues it: 2 + 3 epochs must equal 5.
        let problem = try SmoothProblem(trainingRows: 500, validationRows: 100)
        var settings = SmoothProblem.settings()
        settings.maxEpochs = 20
        var whole = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
        #expect(whole.train(epochs: 5) == .budget)
        var paused = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
        #expect(paused.train(epochs: 2) == .budget)
        let snapshot = paused  // a copy gets its own scratch and continues independently
        var calls = 0
        #expect(paused.train { _ in calls += 1; return calls < 3 } == .callback)
        #expect(paused.epochsCompleted == 5)
        #expect(paused.network.isBitIdentical(to: whole.network))
        var copy = snapshot
        copy.train(epochs: 3)
        #expect(copy.network.isBitIdentical(to: whole.network))
        #expect(snapshot.epochsCompleted == 2)
    }

    @Test func earlyStoppingRestoresBestWeights() throws {
        // Validation targets are noise unrelated to the inputs, so the validation error
        // wanders while training fits the training split: patience 3 runs out early.
        let problem = try SmoothProblem(trainingRows: 300, validationRows: 100)
        var random = RandomStream(seed: 99, substream: 0)
        let noise = Matrix(rows: 100, cols: 2, storage: (0..<200).map { _ in Float(4 * random.nextOpenUnit() - 2) })
        var settings = SmoothProblem.settings()
        settings.patience = 3
        settings.maxEpochs = 200
        var trainer = try Trainer(
            settings: settings, training: problem.training,
            validation: Samples(inputs: problem.validation.inputs, targets: noise), transform: problem.transform)
        var reports: [EpochReport] = []
        let reason = trainer.train { reports.append($0); return true }
        #expect(reason == .earlyStopped)
        let best = try #require(trainer.best)
        #expect(trainer.epochsCompleted == best.epoch + settings.patience)
        #expect(reports.count == trainer.epochsCompleted)
        #expect(reports.last!.meanValidationMAPE >= best.meanValidationMAPE)
        #expect(trainer.network.isBitIdentical(to: trainer.bestNetwork))
        // The restored weights score the best epoch's validation error. The trainer
        // validates through the same forward pass as `Trainer.mape`, so the figures
        // agree to the last bit on one machine; the bound (1e-9 relative) only keeps
        // this from asserting how a BLAS build rounds, which is not the trainer's to promise.
        let mape = Trainer.mape(network: trainer.network, samples: trainer.validation, transform: trainer.transform)
        #expect(mape.count == best.validationMAPE.count)
        for (recomputed, recorded) in zip(mape, best.validationMAPE) {
            #expect(abs(recomputed - recorded) <= 1e-9 * recorded, "recomputed \(recomputed) %, recorded \(recorded) %")
        }
        // Finished: further calls do nothing.
        #expect(trainer.train(epochs: 5) == .earlyStopped)
        #expect(trainer.epochsCompleted == best.epoch + settings.patience)
    }

    @Test func learningRateSchedules() {
        var s = TrainingSettings()
        s.learningRate = 1
        s.maxEpochs = 100
        s.warmupEpochs = 4
        #expect(s.learningRate(epoch: 0) == 0.2)
        #expect(s.learningRate(epoch: 3) == 0.8)
        #expect(s.learningRate(epoch: 4) == 1)
        #expect(abs(s.learningRate(epoch: 52) - 0.5) < 1e-12)
        #expect(s.learningRate(epoch: 100) < 1e-12)
        s.schedule = .step
        s.stepEpochs = 10
        s.stepFactor = 0.5
        #expect(s.learningRate(epoch: 13) == 1)
        #expect(s.learningRate(epoch: 14) == 0.5)
        #expect(s.learningRate(epoch: 34) == 0.125)
        s.schedule = .none
        #expect(s.learningRate(epoch: 99) == 1)
    }

    @Test func settingsDecodeWithDefaultsAndValidate() throws {
        let decoded = try JSONDecoder().decode(TrainingSettings.self, from: Data(#"{"width": 64, "optimizer": "adam"}"#.utf8))
        var expected = TrainingSettings()
        expected.width = 64
        expected.optimizer = .adam
        // A file without huberDelta was written before the Huber loss: squared errors.
        expected.huberDelta = 0
        #expect(decoded == expected)
        let withHuber = try JSONDecoder().decode(TrainingSettings.self, from: Data(#"{"huberDelta": 0.5}"#.utf8))
        #expect(withHuber.huberDelta == 0.5)
        #expect(TrainingSettings().problem == nil)
        var bad = TrainingSettings()
        bad.batchSize = 0
        #expect(bad.problem == "batchSize must be at least 1, got 0")
        var negativeDelta = TrainingSettings()
        negativeDelta.huberDelta = -1
        #expect(negativeDelta.problem == "huberDelta must be zero or positive, got -1.0")
        let problem = try SmoothProblem(trainingRows: 10, validationRows: 5)
        #expect(throws: TrainingError.self) {
            try Trainer(settings: bad, training: problem.training, validation: problem.validation, transform: problem.transform)
        }
    }

    @Test func adamAndAdamWBothLearn() throws {
        let problem = try SmoothProblem(trainingRows: 400, validationRows: 100)
        for optimizer in OptimizerKind.allCases {
            var settings = SmoothProblem.settings()
            settings.optimizer = optimizer
            settings.weightDecay = 1e-3
            settings.maxEpochs = 10
            var trainer = try Trainer(settings: settings, training: problem.training, validation: problem.validation, transform: problem.transform)
            trainer.train()
            #expect(trainer.history.last!.trainLoss < 0.5 * trainer.history.first!.trainLoss, "\(optimizer)")
        }
    }
}

@Suite("Normalisation")
struct NormalizationTests {
    @Test func featureScalerStandardisesAndKeepsConstantColumns() throws {
        let rows: [[Double]] = [[1, 5], [3, 5], [5, 5]]
        let scaler = try FeatureScaler.fit(names: ["a", "b"], rows: rows)
        #expect(scaler.means == [3, 5])
        #expect(abs(scaler.stds[0] - (8.0 / 3).squareRoot()) < 1e-15)
        #expect(scaler.stds[1] == 1)
        let z = try scaler.transform(rows)
        #expect(z[1, 0] == 0 && z[0, 1] == 0 && z[2, 1] == 0)
        #expect(throws: NormalizationError.self) { try FeatureScaler.fit(names: ["a"], rows: [[.infinity]]) }
        // A constant that rounding leaves with a std near 1e-17 is constant too.
        let constant = try FeatureScaler.fit(names: ["c"], rows: Array(repeating: [log(1.01)], count: 112))
        #expect(constant.stds == [1])
    }

    @Test func targetTransformRoundTrips() throws {
        let rows: [[Double]] = [[0.5, -1], [2, 0], [8, 4]]
        let t = try TargetTransform.fit(names: ["p", "q"], rows: rows, log: [true, false])
        let z = try t.transform(rows)
        let back = t.real(z)
        for (r, row) in rows.enumerated() {
            for j in 0..<2 { #expect(abs(back[r][j] - row[j]) <= 1e-6 * max(1, abs(row[j]))) }
        }
        let error = #expect(throws: NormalizationError.self) {
            try TargetTransform.fit(names: ["p"], rows: [[1], [0]], log: [true])
        }
        #expect(error?.description == "target p is 0.0 in row 1: a log-transformed target must be positive")
    }
}

// The reference benchmark of `duet bench train`: training throughput, single-row
// latency and batch throughput of a 20 -> 3 x 128 -> 6 network on synthetic data.

import Foundation
import Simulation

public enum SurrogateBenchmark {
    public struct Figures: Sendable {
        public var rows: Int
        public var epochs: Int
        public var threads: Int
        public var activation: Activation
        public var trainingSeconds: Double
        /// Training samples (rows x epochs) per second, validation included.
        public var trainingSamplesPerSecond: Double
        public var finalTrainLoss: Double
        public var meanValidationMAPE: Double
        /// Median latency of `Predictor.predict(_:into:)` on one row, microseconds.
        public var singleRowMicroseconds: Double
        /// `Predictor.predictBatch` rows per second (best of the timed repetitions).
        public var batchRowsPerSecond: Double
        public var batchRows: Int
    }

    /// Inputs uniform on [-1, 1]^inputs; target j is exp(s_j(x)) with s_j a smooth
    /// mix of sines, squares and products of fixed random projections of x, so the
    /// targets are positive and skewed like queueing metrics. Returns raw values.
    public static func syntheticData(rows: Int, inputs: Int = 20, outputs: Int = 6, seed: UInt64 = 7) -> (x: [[Double]], y: [[Double]]) {
        var coefficients = RandomStream(seed: seed, substream: 100)
        let projections = (0..<outputs * 3).map { _ in
            (0..<inputs).map { _ in (2 * coefficients.nextOpenUnit() - 1) / Double(inputs).squareRoot() }
        }
        var random = RandomStream(seed: seed, substream: 101)
        var xs: [[Double]] = [], ys: [[Double]] = []
        xs.reserveCapacity(rows)
        ys.reserveCapacity(rows)
        for _ in 0..<rows {
            let x = (0..<inputs).map { _ in 2 * random.nextOpenUnit() - 1 }
            let y = (0..<outputs).map { j -> Double in
                let u = zip(projections[3 * j], x).reduce(0) { $0 + $1.0 * $1.1 }
                let v = zip(projections[3 * j + 1], x).reduce(0) { $0 + $1.0 * $1.1 }
                let w = zip(projections[3 * j + 2], x).reduce(0) { $0 + $1.0 * $1.1 }
                return Foundation.exp(sin(2 * u) + v * v + 0.5 * u * w)
            }
            xs.append(x)
            ys.append(y)
        }
        return (xs, ys)
    }

    /// Trains the reference network for `epochs` epochs on `rows` synthetic rows (plus
    /// a tenth as many for validation) and times prediction.
    public static func run(
        rows: Int = 50_000, epochs: Int = 5, threads: Int = 2, activation: Activation = .silu,
        latencyCalls: Int = 20_000, batchRows: Int = 200_000
    ) throws -> Figures {
        let inputs = 20, outputs = 6
        let data = syntheticData(rows: rows + rows / 10, inputs: inputs, outputs: outputs)
        let featureNames = (1...inputs).map { "x\($0)" }, targetNames = (1...outputs).map { "y\($0)" }
        let trainX = Array(data.x[..<rows]), trainY = Array(data.y[..<rows])
        let scaler = try FeatureScaler.fit(names: featureNames, rows: trainX)
        let transform = try TargetTransform.fit(names: targetNames, rows: trainY, log: Array(repeating: true, count: outputs))
        let training = Samples(inputs: try scaler.transform(trainX), targets: try transform.transform(trainY))
        let validation = Samples(
            inputs: try scaler.transform(Array(data.x[rows...])), targets: try transform.transform(Array(data.y[rows...])))

        var settings = TrainingSettings()
        // The reference network trains with batches of 256, whatever the defaults.
        settings.batchSize = 256
        settings.activation = activation
        settings.threads = threads
        settings.maxEpochs = max(epochs, 1)
        settings.patience = settings.maxEpochs
        var trainer = try Trainer(settings: settings, training: training, validation: validation, transform: transform)
        trainer.train(epochs: epochs)
        let trainingSeconds = trainer.history.last?.elapsedSeconds ?? 0

        let predictor = Predictor(network: trainer.network, features: scaler, transform: transform)
        let clock = ContinuousClock()
        // Single rows: each call timed alone; the median is robust to interrupts.
        var values = [Double](repeating: 0, count: outputs)
        var samples: [Double] = []
        samples.reserveCapacity(latencyCalls)
        for call in 0..<max(1, latencyCalls) {
            let row = data.x[call % rows]
            let start = clock.now
            predictor.predict(row, into: &values)
            samples.append((clock.now - start).seconds)
        }
        samples.sort()
        let latency = samples[samples.count / 2] * 1e6

        // Batches: raw rows repeated to `batchRows`; best of three.
        let batchSource = (0..<batchRows).map { data.x[$0 % rows].map(Float.init) }
        let batch = Matrix(rows: batchSource)
        var best = Double.infinity
        for _ in 0..<3 {
            let start = clock.now
            let out = predictor.predictBatch(batch, threads: threads)
            best = min(best, (clock.now - start).seconds)
            precondition(out.rows == batchRows)
        }
        return Figures(
            rows: rows, epochs: trainer.epochsCompleted, threads: threads, activation: activation,
            trainingSeconds: trainingSeconds,
            trainingSamplesPerSecond: Double(rows * trainer.epochsCompleted) / trainingSeconds,
            finalTrainLoss: trainer.history.last?.trainLoss ?? .nan,
            meanValidationMAPE: trainer.history.last?.meanValidationMAPE ?? .nan,
            singleRowMicroseconds: latency, batchRowsPerSecond: Double(batchRows) / best, batchRows: batchRows)
    }
}

extension SurrogateBenchmark {
    /// What `duet bench predict` measures of a model file on real configurations.
    public struct PredictionFigures: Sendable {
        public var members: Int
        public var configurations: Int
        /// Median latency of `SurrogateModel.predict(_:)` on one configuration (the
        /// canonical form, features, network and scaling back), microseconds.
        public var oneRowMicroseconds: Double
        /// The same for `predictWithSpread(_:)` (each member's outputs kept apart).
        public var oneRowWithSpreadMicroseconds: Double
        /// `SurrogateModel.predict(_:threads:)` configurations per second (best of three).
        public var bulkRowsPerSecond: Double
        public var bulkRows: Int
    }

    /// Times `model` on `configs` (each a chain the model predicts), one at a time
    /// (`calls` calls, the median) and in bulk (`bulkRows` rows, the configurations
    /// repeated, on `threads` threads).
    public static func prediction(model: SurrogateModel, configs: [TandemConfig], calls: Int = 20_000,
                                  bulkRows: Int = 100_000, threads: Int = 2) -> PredictionFigures {
        precondition(!configs.isEmpty, "SurrogateBenchmark.prediction: no configuration")
        let clock = ContinuousClock()
        func median(_ body: (TandemConfig) -> Void) -> Double {
            var samples: [Double] = []
            samples.reserveCapacity(calls)
            for call in 0..<max(1, calls) {
                let config = configs[call % configs.count]
                let start = clock.now
                body(config)
                samples.append((clock.now - start).seconds)
            }
            samples.sort()
            return samples[samples.count / 2] * 1e6
        }
        var sink = 0.0
        let oneRow = median { sink += model.predict($0)[0] }
        let withSpread = median { sink += model.predictWithSpread($0).values[0] }
        let batch = (0..<max(1, bulkRows)).map { configs[$0 % configs.count] }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = clock.now
            sink += model.predict(batch, threads: threads)[0][0]
            best = min(best, (clock.now - start).seconds)
        }
        keep(sink)
        return PredictionFigures(members: model.predictor.memberCount, configurations: configs.count,
                                 oneRowMicroseconds: oneRow, oneRowWithSpreadMicroseconds: withSpread,
                                 bulkRowsPerSecond: Double(batch.count) / best, bulkRows: batch.count)
    }
}

/// Keeps a benchmark's result alive, so the optimiser cannot drop the work behind it.
@inline(never)
private func keep(_ value: Double) {
    withExtendedLifetime(value) {}
}

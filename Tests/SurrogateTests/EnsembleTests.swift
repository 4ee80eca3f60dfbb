// Ensembles (`duet train --ensemble N`): the model predicts the geometric mean of its
// members' predictions, says how far they disagree, keeps both in its file, and its
// error bands scale with that disagreement.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// Three small networks from seeds 2, 3 and 4 on the invariance tests' synthetic data.
private struct TrainedEnsemble: Sendable {
    let job: SurrogateTrainingJob
    let trainers: [Trainer]
    let file: ModelFile

    static let shared = Result { try TrainedEnsemble() }

    init() throws {
        let trained = try TrainedModel.shared.get()
        let job = try SurrogateTrainingJob(dataset: trained.dataset, split: trained.split, settings: TrainedModel.settings)
        let trainers = try (0..<3).map { member in
            var trainer = try job.makeTrainer(seed: TrainedModel.settings.seed + UInt64(member))
            trainer.train()
            return trainer
        }
        self.job = job
        self.trainers = trainers
        file = job.modelFile(trainers)
    }
}

@Suite("Ensembles")
struct EnsembleTests {
    @Test("an ensemble predicts the geometric mean of its members' predictions, and their spread in log units")
    func geometricMeanAndSpread() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        #expect(ensemble.file.ensemble?.count == 2)
        #expect(ensemble.file.ensemble?.map(\.seed) == [3, 4])
        #expect(ensemble.file.metrics["info"]?["ensembleMembers"] == 3)
        let whole = Predictor(model: ensemble.file)
        let alone = ensemble.trainers.map {
            Predictor(network: $0.bestNetwork, features: ensemble.job.features, transform: ensemble.job.transform)
        }
        // The members differ (else the test shows nothing).
        let row = ensemble.job.dataset.examples[ensemble.job.split.test[0]].features
        #expect(alone[0].predict(row) != alone[1].predict(row))
        for index in ensemble.job.split.test.prefix(5) {
            let features = ensemble.job.dataset.examples[index].features
            let logs = alone.map { $0.predict(features).map(log) }
            let predicted = whole.predictWithSpread(features)
            #expect(whole.predict(features) == predicted.values, "one path for both")
            for j in predicted.values.indices {
                let mean = logs.map { $0[j] }.reduce(0, +) / 3
                let spread = (logs.map { ($0[j] - mean) * ($0[j] - mean) }.reduce(0, +) / 3).squareRoot()
                // Float networks: about 1e-6 relative on each member's output.
                #expect(abs(log(predicted.values[j]) - mean) < 1e-5, "target \(j)")
                #expect(abs(predicted.spread[j] - spread) < 1e-5, "target \(j): \(predicted.spread[j]) vs \(spread)")
            }
        }
    }

    @Test("the bulk path gives the one-row path's values and spreads, to float rounding")
    func bulkMatchesOneRow() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        let model = try SurrogateModel(file: ensemble.file)
        let configs = ensemble.job.split.test.map { ensemble.job.dataset.examples[$0].config }
        for threads in [1, 2] {
            let bulk = model.predictWithSpread(configs, threads: threads)
            for (config, row) in zip(configs, bulk) {
                let one = model.predictWithSpread(config)
                let spreads = try #require(row.spread), oneSpreads = try #require(one.spread)
                for j in one.values.indices {
                    #expect(abs(row.values[j] / one.values[j] - 1) < 1e-4)
                    #expect(abs(spreads[j] - oneSpreads[j]) < 1e-4)
                }
            }
        }
    }

    @Test("the file keeps every member: saved and loaded, it predicts the same; a single network stays format version 2")
    func fileRoundTrip() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        let data = try ensemble.file.encoded()
        let loaded = try ModelFile.decode(data, file: "ensemble.json")
        #expect(loaded == ensemble.file)
        #expect(loaded.formatVersion == 4)
        let before = try SurrogateModel(file: ensemble.file), after = try SurrogateModel(file: loaded)
        let config = ensemble.job.dataset.examples[ensemble.job.split.test[0]].config
        #expect(before.predictWithSpread(config) == after.predictWithSpread(config))

        let single = ensemble.job.modelFile(ensemble.trainers[0])
        #expect(single.ensemble == nil && single.formatVersion == 2)
        let reread = try ModelFile.decode(try single.encoded(), file: "single.json")
        #expect(reread.formatVersion == 2 && reread.ensemble == nil)
        #expect(try SurrogateModel(file: reread).predictWithSpread(config).spread == nil)
    }

    @Test("format 4 writes weights as base64 float32 bit for bit, in about half the text; arrays of version 3 still load")
    func compactWeights() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        let data = try ensemble.file.encoded()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.allSatisfy { $0["weights"] is String })
        // The same file as version 3 writes it: weights as arrays of decimal numbers.
        var version3 = ensemble.file
        version3.formatVersion = 3
        let arrays = try version3.encoded()
        let arrayObject = try #require(try JSONSerialization.jsonObject(with: arrays) as? [String: Any])
        #expect((arrayObject["layers"] as? [[String: Any]])?.allSatisfy { $0["weights"] is [Any] } == true)
        #expect(Double(data.count) < 0.75 * Double(arrays.count), "\(data.count) bytes against \(arrays.count)")
        let fromBase64 = try ModelFile.decode(data, file: "v4.json"), fromArrays = try ModelFile.decode(arrays, file: "v3.json")
        // Bit for bit: compare the weights' bit patterns, not their values (which would let -0 equal 0).
        let bits = { (file: ModelFile) in file.networks.flatMap { network in
            network.slots.indices.flatMap { network.weights(layer: $0).map(\.bitPattern) } } }
        #expect(bits(fromBase64) == bits(ensemble.file) && bits(fromArrays) == bits(ensemble.file))

        // Damaged base64 is refused, naming the weights.
        let text = String(decoding: data, as: UTF8.self)
        let first = try #require(text.range(of: #""weights":""#))
        let damaged = text.replacingCharacters(in: first.upperBound..<text.index(first.upperBound, offsetBy: 3), with: "!!!")
        do {
            _ = try ModelFile.decode(Data(damaged.utf8), file: "damaged.json")
            Issue.record("damaged base64 weights were read")
        } catch let error as ModelFileError {
            #expect("\(error)".contains("weights") && "\(error)".contains("base64"), "\(error)")
        }
    }

    @Test("format 5 stores float16 weights: a file about half of format 4's, the rounded weights bit for bit, predictions within 0.3%")
    func halfPrecisionWeights() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        var half = ensemble.file
        try half.storeWeightsInHalfPrecision()
        #expect(half.formatVersion == 5 && half.ensemble?.count == 2)
        let full = try ensemble.file.encoded(), data = try half.encoded()
        let parameters = ensemble.file.networks.map { $0.architecture.parameterCount }.reduce(0, +)
        // Each weight's 4 bytes in base64 (5.33 characters) become 2 (2.67), the biases
        // and the rest unchanged: more than 2 characters saved a parameter.
        #expect(full.count - data.count > 2 * parameters, "\(data.count) bytes against \(full.count)")
        let loaded = try ModelFile.decode(data, file: "half.json")
        #expect(loaded == half, "the rounded weights come back bit for bit")
        #expect(try loaded.encoded() == data, "rounding twice changes nothing")
        let bits = { (file: ModelFile) in file.networks.flatMap { network in
            network.slots.indices.flatMap { network.weights(layer: $0).map(\.bitPattern) } } }
        let fullBits = bits(ensemble.file), halfBits = bits(loaded)
        #expect(zip(fullBits, halfBits).contains { $0 != $1 }, "weights were rounded")
        // float16 keeps 11 significant bits: a weight moves by at most 2^-11 of itself.
        for (a, b) in zip(fullBits, halfBits) {
            let x = Float(bitPattern: a), y = Float(bitPattern: b)
            #expect(abs(x - y) <= abs(x) * 0x1p-11 + 0x1p-24, "\(x) -> \(y)")
        }
        let before = try SurrogateModel(file: ensemble.file), after = try SurrogateModel(file: loaded)
        for index in ensemble.job.split.test.prefix(20) {
            let config = ensemble.job.dataset.examples[index].config
            for (x, y) in zip(before.predictWithSpread(config).values, after.predictWithSpread(config).values) {
                #expect(abs(y / x - 1) < 0.003, "\(x) -> \(y)")
            }
        }

        var huge = ensemble.file
        huge.layers[1].weights[3] = 1e6
        #expect(throws: ModelFileError.self) { try huge.storeWeightsInHalfPrecision() }
        do {
            try huge.storeWeightsInHalfPrecision()
        } catch let error as ModelFileError {
            #expect("\(error)".contains("the first network, layers[1]: weight 3 is 1000000.0, beyond float16's largest value"),
                    "\(error)")
        }
    }

    @Test("a member that takes other inputs is refused, naming it")
    func mismatchedMember() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        var file = ensemble.file
        let other = NetworkArchitecture(inputs: file.architecture.inputs + 1, layers: 1, width: 4,
                                        outputs: file.architecture.outputs, activation: .silu)
        file.setEnsemble([EnsembleMember(network: Network(architecture: other, seed: 1), seed: 1)])
        #expect(throws: ModelFileError.self) { try file.encoded() }
        do {
            _ = try file.encoded()
        } catch let error as ModelFileError {
            #expect(error.detail.contains("ensemble[0].architecture takes \(other.inputs) inputs"), "\(error.detail)")
        }
    }

    @Test("an ensemble's bands are calibrated on its own predictions, widen with the spread and hold the prediction")
    func trainedBands() throws {
        let ensemble = try TrainedEnsemble.shared.get()
        let bands = try #require(ensemble.file.errorBands)
        let floors = try #require(bands.spreadFloors)
        #expect(Set(floors.keys) == Set(ensemble.job.dataset.targetNames))
        #expect(floors.values.allSatisfy { $0 > 0 })
        let model = try SurrogateModel(file: ensemble.file)
        let config = ensemble.job.dataset.examples[ensemble.job.split.test[0]].config
        let prediction = model.predictWithSpread(config)
        let spread = try #require(prediction.spread)
        let ownBands = model.bands(config, prediction)
        #expect(model.bands(config, predicted: prediction.values) == ownBands, "the spread is predicted again when not given")
        for (j, band) in ownBands.enumerated() {
            let band = try #require(band)
            #expect(band.contains(prediction.values[j]))
            // Twice the spread plus its floor: twice the half-width, in log units.
            var doubled = prediction
            doubled.spread![j] = 2 * spread[j] + floors[model.targetNames[j]]!
            let wider = try #require(model.bands(config, doubled)[j])
            let ratio = log(wider.upperBound / prediction.values[j]) / log(band.upperBound / prediction.values[j])
            #expect(abs(ratio - 2) < 1e-9, "target \(j): \(ratio)")
        }
    }
}

@Suite("Error bands scaled by the spread")
struct SpreadBandsTests {
    /// A row whose log error is uniform in [-2s, 2s] for a spread s uniform in [0.01, 0.3]:
    /// the spread tells how large the error can be, as a good ensemble's would.
    private static func draw(_ rng: inout RandomStream) -> (example: SurrogateExample, prediction: SpreadPrediction) {
        let config = TandemConfig(arrivalRate: 1, stations: [StationConfig(service: MomentSpec(mean: 0.1)),
                                                             StationConfig(service: MomentSpec(mean: 0.1))])
        let example = SurrogateExample(point: 0, config: config, features: [], targets: [2], timeUnit: 1,
                                       bottleneckLoad: 0.6, inputs: [:], domainInputs: [:])
        let spread = 0.01 + 0.29 * rng.nextOpenUnit()
        let error = (2 * rng.nextOpenUnit() - 1) * 2 * spread
        return (example, SpreadPrediction(values: [2 * exp(error)], spread: [spread]))
    }

    @Test("coverage holds overall with narrower bands than one width for all, and more of it where the members disagree most")
    func conditionalCoverage() throws {
        var rng = RandomStream(seed: 8, substream: 2)
        let calibration = (0..<2000).map { _ in Self.draw(&rng) }
        var i = 0
        let scaled = ErrorBands(names: ["meanResponse"], examples: calibration.map(\.example)) { _ in
            defer { i += 1 }
            return calibration[i].prediction
        }
        i = 0
        let plain = ErrorBands(names: ["meanResponse"], examples: calibration.map(\.example)) { _ in
            defer { i += 1 }
            return SpreadPrediction(values: calibration[i].prediction.values)
        }
        #expect(scaled.spreadFloors != nil && plain.spreadFloors == nil)
        // The floor is the median spread: 0.155 for spreads uniform in [0.01, 0.3].
        #expect(abs(scaled.spreadFloors!["meanResponse"]! - 0.155) < 0.02)

        let fresh = (0..<8000).map { _ in Self.draw(&rng) }
        let disagreeing = fresh.filter { $0.prediction.spread![0] > 0.23 }  // the top quarter
        func measure(_ bands: ErrorBands, _ rows: [(example: SurrogateExample, prediction: SpreadPrediction)])
            -> (share: Double, halfWidth: Double)
        {
            var k = 0
            return bands.coverage(names: ["meanResponse"], examples: rows.map(\.example)) { _ in
                defer { k += 1 }
                return rows[k].prediction
            }["meanResponse"]!
        }
        // Worked out from the distributions (|e| = 2su, u uniform): plain bands have
        // half-width q = 0.356 (P(2su <= q) = 0.9) and hold 67.7% of the top quarter
        // (s above 0.23); scaled ones, score 2su / (s + 0.155), have a mean half-width of
        // 0.292 and hold 74.9% there. 2,000 calibration rows put a standard deviation
        // near sqrt(0.9 x 0.1 / 2000) = 0.007 on the overall coverage, about 0.015 on the
        // top quarter's (its 1,900 fresh rows included).
        let scaledAll = measure(scaled, fresh), plainAll = measure(plain, fresh)
        #expect(abs(scaledAll.share - 0.9) < 0.03 && abs(plainAll.share - 0.9) < 0.03)
        #expect(abs(plainAll.halfWidth - 0.356) < 0.02 && abs(scaledAll.halfWidth - 0.292) < 0.02)
        let scaledTop = measure(scaled, disagreeing).share, plainTop = measure(plain, disagreeing).share
        #expect(abs(scaledTop - 0.749) < 0.05 && abs(plainTop - 0.677) < 0.05, "\(scaledTop) and \(plainTop)")
        #expect(scaledTop > plainTop)
    }
}

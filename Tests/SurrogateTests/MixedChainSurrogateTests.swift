// One surrogate for chains of several lengths (issue #14, step 2): datasets of chains of
// 1, 2 and 3 stations simulated in the test merge into one, whose rows' features are
// laid out for three stations; the model trained on it records that it covers chains
// of 1 to 3 stations, predicts each length's own targets, keeps the exact time-scaling
// invariance at every length, and refuses a longer chain naming both. Model files of
// one length (the shipped one among them) keep their single length.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// Chains of 1, 2 and 3 stations, merged, and a small model trained on them (a few
/// epochs: the checks are about layout, ranges and exact invariances, not accuracy).
struct TrainedMixedChainModel: Sendable {
    static let shared = Result { try TrainedMixedChainModel() }
    let parts: [SurrogateDataset]
    let dataset: SurrogateDataset
    let model: SurrogateModel

    init() throws {
        parts = try [1, 2, 3].map { try simulatedChains(stations: $0, points: 24, seed: 20 + UInt64($0), jobs: 1_500) }
        dataset = try SurrogateDataset(merging: parts)
        let trained = try tinyModelFile(dataset, split: dataset.split(validation: 0.2, test: 0.1, seed: 1))
        model = try SurrogateModel(file: try ModelFile.decode(try trained.encoded(), file: "mixed-chain-model.json"))
    }
}

@Suite("Chains of several lengths")
struct MixedChainSurrogateTests {
    @Test("merged datasets keep every row, laid out for the longest chain with absent stations at load 0")
    func merging() throws {
        let trained = try TrainedMixedChainModel.shared.get()
        let dataset = trained.dataset
        #expect(dataset.stations == 3 && dataset.minStations == 1)
        #expect(dataset.examples.count == trained.parts.map(\.examples.count).reduce(0, +))
        #expect(dataset.featureNames == SurrogateFeatures.names(stations: 3))
        #expect(Set(trained.parts.map(\.sha256)).count == 3 && !trained.parts.map(\.sha256).contains(dataset.sha256))
        let loadColumn = try #require(dataset.featureNames.firstIndex(of: "stations.2.load"))
        for example in dataset.examples {
            #expect(example.features.count == dataset.featureNames.count)
            // The one-station chains have no station 2: its block is the absent one.
            #expect((example.features[loadColumn] == 0) == (example.config.stations.count == 1))
        }
    }

    @Test("a target a chain does not have is nil; padding and selecting are inverse")
    func targetLayout() {
        let values = [1.0, 2, 3, 4, 10, 20, 30, 100, 200, 300] // a chain of 3: system, responses, instance-seconds
        let padded = SurrogateTargets.padded(values, from: 3, to: 5, fill: -1)
        #expect(padded == [1, 2, 3, 4, 10, 20, 30, -1, -1, 100, 200, 300, -1, -1])
        #expect(SurrogateTargets.selected(padded, from: 5, to: 3) == values)
        #expect(SurrogateTargets.index(of: "stations.3.instanceSecondsPerJob", stations: 3) == 9)
        #expect(SurrogateTargets.index(of: "stations.4.meanResponse", stations: 3) == nil)
        #expect(SurrogateTargets.index(of: "p95Response", stations: 1) == 2)
    }

    @Test("the model records chains of 1 to 3 stations and predicts each length's targets, 0 for absent stations")
    func predictsEveryLength() throws {
        let trained = try TrainedMixedChainModel.shared.get()
        let model = trained.model
        #expect(model.stationRange == 1...3)
        #expect(model.file.metrics["info"]?["minStations"] == 1 && model.file.metrics["info"]?["stations"] == 3)
        #expect(model.targetNames == SurrogateTargets.names(stations: 3))
        for length in 1...3 {
            #expect(model.file.metrics["train"]?["chain\(length).meanResponse.mape"] != nil, "chain\(length) metrics")
            let example = try #require(trained.dataset.examples.first { $0.config.stations.count == length })
            try model.checkStations(example.config)
            let predicted = model.predict(example.config)
            #expect(predicted.count == model.targetNames.count)
            for (name, value) in zip(model.targetNames, predicted) {
                if example.target(name) != nil {
                    #expect(value > 0 && value.isFinite, "\(length) stations: \(name) = \(value)")
                } else {
                    #expect(value == 0, "\(length) stations: \(name) of an absent station = \(value)")
                }
            }
        }
    }

    @Test("a chain longer than the model's range is refused, naming both", arguments: [4, 6])
    func longerIsRefused(stations: Int) throws {
        let trained = try TrainedMixedChainModel.shared.get()
        var config = try #require(trained.dataset.examples.first { $0.config.stations.count == 3 }).config
        config.stations = (0..<stations).map { config.stations[min($0, 2)] }
        let error = try #require(throws: ChainLengthError.self) { try trained.model.checkStations(config) }
        #expect(error == ChainLengthError(modelStations: 3, configStations: stations, modelMinStations: 1))
        #expect("\(error)".hasPrefix(
            "stations: the model predicts chains of 1 to 3 stations, the configuration has \(stations) stations"))
    }

    @Test("at every length, the twin with every time times c is predicted c times as long", arguments: [0.01, 3.7, 1000])
    func timeScaling(c: Double) throws {
        let trained = try TrainedMixedChainModel.shared.get()
        for length in 1...3 {
            for example in trained.dataset.examples.filter({ $0.config.stations.count == length }).prefix(3) {
                let base = trained.model.predict(example.config)
                let twin = trained.model.predict(timeScaled(example.config, by: c))
                #expect(zip(twin, base).allSatisfy { abs($0 - $1 * c) <= 1e-5 * abs($1 * c) },
                        "\(length) stations, c = \(c): \(twin) vs \(base)")
            }
        }
    }

    @Test("the shipped two-station model file still covers exactly two stations")
    func shippedModelKeepsItsLength() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let model = try SurrogateModel.load(path: root.appendingPathComponent("models/duet-tandem-v1.json").path)
        #expect(model.stationRange == 2...2)
        let config = TandemConfig(arrivalRate: 1, stations: [StationConfig(servers: 2, service: MomentSpec(mean: 0.5)),
                                                             StationConfig(servers: 1, service: MomentSpec(mean: 0.3))])
        try model.checkStations(config)
        #expect(model.predict(config).allSatisfy { $0 > 0 && $0.isFinite })
        var three = config
        three.stations.append(config.stations[1])
        let error = try #require(throws: ChainLengthError.self) { try model.checkStations(three) }
        #expect("\(error)".hasPrefix("stations: the model predicts chains of 2 stations, the configuration has 3"))
    }
}

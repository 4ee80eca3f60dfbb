// A surrogate of chains of one length (issue #14, step 1): trained on a small seeded
// sweep of simulated three-station chains, it predicts every station's targets, keeps
// the exact time-scaling invariance of the tandem, and refuses a chain of another
// length by naming both lengths. Two-station model files keep their layout.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// A dataset of `points` simulated chains of `stations` stations (batching at station 2),
/// as `duet sweep` writes one.
func simulatedChains(stations count: Int, points: Int, seed: UInt64, jobs: Int = 2_000) throws -> SurrogateDataset {
    var random = RandomStream(seed: 14, substream: seed)
    func draw(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.nextOpenUnit() }
    var lines = [DatasetFile.header(stations: count).joined(separator: ",")]
    for point in 0..<points {
        let rate = [0.5, 1, 2][point % 3]
        let batch = BatchSizeSpec.geometric(mean: draw(1, 3))
        let jobRate = rate * batch.mean
        let stations = (0..<count).map { k in
            let servers = 1 + (point + k) % 3
            let load = draw(0.1, 0.7)
            return StationConfig(servers: servers, service: MomentSpec(mean: load * Double(servers) / jobRate),
                                 maxBatch: k == 1 ? 1 + point % 4 : 1, timeout: k == 1 ? 0.5 / rate : 0)
        }
        let config = TandemConfig(arrivalRate: rate, arrivalScv: draw(0.5, 2), batch: batch, stations: stations,
                                  run: RunSettings(jobs: jobs, replications: 2, seed: UInt64(100 + point), threads: 1))
        lines.append(DatasetFile.row(point: point, config: config, report: Simulator.simulate(config)).joined(separator: ","))
    }
    return try SurrogateDataset.parse(bytes: Array((lines.joined(separator: "\n") + "\n").utf8),
                                      source: "chains of \(count)")
}

/// A three-station dataset simulated in the test, and a small model trained on it (a
/// few epochs: the checks here are about shapes and exact invariances, not accuracy).
struct TrainedChainModel: Sendable {
    static let shared = Result { try TrainedChainModel() }
    let dataset: SurrogateDataset
    let model: SurrogateModel

    init() throws {
        dataset = try simulatedChains(stations: 3, points: 48, seed: 3)
        let trained = try tinyModelFile(dataset, split: dataset.split(validation: 0.2, test: 0.1, seed: 1))
        // Through the file's bytes, as `duet predict` reads it.
        let file = try ModelFile.decode(try trained.encoded(), file: "chain-model.json")
        model = try SurrogateModel(file: file)
    }
}

@Suite("Chain surrogate")
struct ChainSurrogateTests {
    @Test("a model trained on three-station chains records its length and predicts every station's targets")
    func predictsItsLength() throws {
        let trained = try TrainedChainModel.shared.get()
        #expect(trained.dataset.stations == 3)
        #expect(trained.dataset.examples.count >= 40, "most simulated points are stable")
        #expect(trained.model.stations == 3)
        #expect(trained.model.file.metrics["info"]?["stations"] == 3)
        #expect(trained.model.targetNames == [
            "meanResponse", "p50Response", "p95Response", "p99Response",
            "stations.1.meanResponse", "stations.2.meanResponse", "stations.3.meanResponse",
            "stations.1.instanceSecondsPerJob", "stations.2.instanceSecondsPerJob", "stations.3.instanceSecondsPerJob",
        ])
        #expect(trained.model.file.features.names.contains("stations.3.logServers"))
        for example in trained.dataset.examples.prefix(5) {
            let predicted = trained.model.predict(example.config)
            #expect(predicted.count == trained.model.targetNames.count)
            #expect(predicted.allSatisfy { $0 > 0 && $0.isFinite })
            #expect(trained.model.domainWarnings(example.config).isEmpty)
        }
    }

    @Test("a chain of another length is refused, naming both lengths", arguments: [1, 2, 4])
    func otherLengthIsRefused(stations: Int) throws {
        let trained = try TrainedChainModel.shared.get()
        var config = trained.dataset.examples[0].config
        config.stations = (0..<stations).map { config.stations[min($0, 2)] }
        let error = try #require(throws: ChainLengthError.self) { try trained.model.checkStations(config) }
        #expect(error == ChainLengthError(modelStations: 3, configStations: stations))
        #expect("\(error)".hasPrefix("stations: the model predicts chains of 3 stations, the configuration has \(stations) station"))
        try trained.model.checkStations(trained.dataset.examples[0].config)
    }

    @Test("a chain model predicts c times as long for the twin with every time times c", arguments: [0.01, 3.7, 1000])
    func timeScaling(c: Double) throws {
        let trained = try TrainedChainModel.shared.get()
        for example in trained.dataset.examples.prefix(8) {
            let base = trained.model.predict(example.config)
            let twin = trained.model.predict(timeScaled(example.config, by: c))
            // Every target is a time or a time per job; 1e-5 leaves room for the Float
            // network amplifying the rounding of the division by the time unit.
            #expect(zip(twin, base).allSatisfy { abs($0 - $1 * c) <= 1e-5 * abs($1 * c) }, "c = \(c): \(twin) vs \(base)")
        }
    }

    @Test("the two-station layout is the one model files were written with before chains")
    func tandemLayoutUnchanged() {
        #expect(SurrogateTargets.names(stations: 2) == [
            "meanResponse", "p50Response", "p95Response", "p99Response",
            "stations.1.meanResponse", "stations.2.meanResponse",
            "stations.1.instanceSecondsPerJob", "stations.2.instanceSecondsPerJob",
        ])
        // Version 3's (the files of that version load against it) ...
        let version3 = SurrogateFeatures.names(version: 3, stations: 2)
        #expect(version3.count == 7 + 2 * 12)
        #expect(version3.first == "logArrivalScv" && version3.last == "stations.2.logAnalyticResponseOverService")
        // ... version 4's, each station's block ending with its two cold-start features ...
        let version4 = SurrogateFeatures.names(version: 4, stations: 2)
        #expect(version4.count == 7 + 2 * 14)
        #expect(version4.first == "logArrivalScv" && version4.last == "stations.2.logColdDelayOverAnalytic")
        // ... version 5's, each block ending with its burst feature ...
        let version5 = SurrogateFeatures.names(version: 5, stations: 2)
        #expect(version5.count == 7 + 2 * 15)
        #expect(version5.first == "logArrivalScv" && version5.last == "stations.2.logBurstWaitOverAnalytic")
        // ... and version 6's, each block ending with its light-traffic walk.
        let names = SurrogateFeatures.names(stations: 2)
        #expect(names == SurrogateFeatures.names)
        #expect(names.count == 7 + 2 * 16)
        #expect(names.first == "logArrivalScv" && names.last == "stations.2.logIsolatedOverAnalytic")
        #expect(SurrogateFeatures.stations(featureNames: names) == 2)
        #expect(SurrogateFeatures.stations(featureNames: version3) == 2)
        #expect(SurrogateFeatures.stations(featureNames: SurrogateFeatures.names(version: 1)) == 2)
    }
}

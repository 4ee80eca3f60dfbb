// Distillation (`SurrogateDataset.addingTeacherRows`): configurations labelled by a
// teacher model join the training rows only, carry the teacher's predictions as
// their targets, and never reach validation or test.

import Foundation
import Simulation
import Testing

@testable import Surrogate

@Suite("Distillation")
struct DistillationTests {
    /// The invariance tests' dataset at other arrival rates: configurations nobody simulated.
    static func unsimulated(_ count: Int) throws -> [TandemConfig] {
        let trained = try TrainedModel.shared.get()
        return trained.dataset.examples.prefix(count).enumerated().map { i, example in
            var config = example.config
            config.interArrival.mean /= 1.5 + Double(i % 3)  // the loads change, the chain stays two stations
            config.stations = config.stations.map { station in
                var station = station
                station.service.mean /= 3 + Double(i % 3)
                return station
            }
            return config
        }
    }

    @Test("teacher rows are appended to training only, with the teacher's predictions as targets")
    func teacherRowsTrainOnly() throws {
        let trained = try TrainedModel.shared.get()
        let configs = try Self.unsimulated(12)
        let (dataset, split) = try trained.dataset.addingTeacherRows(configs, teacher: trained.model, teacherName: "t.json",
                                                                     split: trained.split, threads: 1)
        let before = trained.dataset.examples.count
        #expect(dataset.examples.count == before + 12)
        #expect(split.validation == trained.split.validation && split.test == trained.split.test)
        #expect(split.train == trained.split.train + Array(before..<(before + 12)))
        #expect(dataset.sha256 != trained.dataset.sha256 && dataset.source.contains("12 rows labelled by t.json"))
        for (i, config) in configs.enumerated() {
            let example = dataset.examples[before + i]
            #expect(example.point == -1 - i)
            // One configuration at a time through the model: the same values as its bulk
            // prediction to float rounding.
            let expected = trained.model.predict(config)
            for (got, want) in zip(example.targets, expected) {
                #expect(abs(got - want) <= 1e-5 * want, "row \(i): \(got) against \(want)")
            }
            #expect(example.features == trained.model.features(config))
        }
        // The simulated rows are untouched.
        #expect(dataset.examples[..<before].map(\.targets) == trained.dataset.examples.map(\.targets))
    }

    @Test("a chain longer than the dataset's is refused, naming the configuration and both lengths")
    func longerChainRefused() throws {
        let trained = try TrainedModel.shared.get()
        var config = try Self.unsimulated(1)[0]
        config.stations.append(config.stations[1])
        #expect(throws: TeacherRowError.self) {
            try trained.dataset.addingTeacherRows([config], teacher: trained.model, teacherName: "t.json", split: trained.split)
        }
        do {
            _ = try trained.dataset.addingTeacherRows([config], teacher: trained.model, teacherName: "t.json", split: trained.split)
        } catch {
            #expect("\(error)" == "teacher configuration 1: a chain of 3 stations, longer than the dataset's 2")
        }
    }

    @Test("the shipped fast model is one network distilled from the shipped ensemble, and agrees with it within its bands")
    func shippedFastModel() throws {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models")
        let fast = try SurrogateModel.load(path: models.appendingPathComponent("duet-tandem-v1-fast.json").path)
        let ensemble = try SurrogateModel.load(path: models.appendingPathComponent("duet-tandem-v1.json").path)
        #expect(fast.predictor.memberCount == 1 && ensemble.predictor.memberCount > 1)
        #expect(fast.documentedDomain?.name == "duet-tandem-v1" && fast.stationRange == 2...2)
        #expect((fast.file.metrics["info"]?["teacherRows"] ?? 0) > 10_000)
        // Textbook tandems and serverless ones across the domain: the two models answer
        // the same question, so each prediction lies in the other's 90% band.
        var configs: [TandemConfig] = []
        for (servers, load) in [(1, 0.5), (2, 0.7), (4, 0.8), (8, 0.3)] {
            let service = MomentSpec(mean: load * Double(servers) / 4)  // 4 jobs per second
            configs.append(TandemConfig(arrivalRate: 1, batch: .geometric(mean: 4),
                                        stations: [StationConfig(servers: servers, service: service),
                                                   StationConfig(servers: servers, service: service, maxBatch: 4, timeout: 0.1,
                                                                 coldStart: MomentSpec(mean: 0.5), keepAlive: 10)]))
        }
        for config in configs {
            let mean = try #require(fast.targetNames.firstIndex(of: "meanResponse"))
            let fastValue = fast.predict(config)[mean]
            let ensembleValue = ensemble.predict(config)[mean]
            let band = try #require(ensemble.bands(config, predicted: ensemble.predict(config))[mean])
            #expect(band.contains(fastValue), "fast \(fastValue) outside the ensemble's band \(band) for \(config.stations)")
            let fastBand = try #require(fast.bands(config, predicted: fast.predict(config))[mean])
            #expect(fastBand.contains(ensembleValue), "ensemble \(ensembleValue) outside the fast model's band \(fastBand)")
        }
    }
}


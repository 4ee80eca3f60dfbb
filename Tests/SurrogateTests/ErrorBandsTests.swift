// Conformal error bands (ErrorBands): the quantile rule, coverage on new draws from
// the calibration distribution, and wider bands where the errors are larger.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// An example whose only meaningful fields are its targets and bottleneck load.
private func example(_ target: Double, load: Double) -> SurrogateExample {
    let config = TandemConfig(arrivalRate: 1, stations: [StationConfig(service: MomentSpec(mean: 0.1)),
                                                         StationConfig(service: MomentSpec(mean: 0.1))])
    return SurrogateExample(point: 0, config: config, features: [], targets: [target], timeUnit: 1,
                            bottleneckLoad: load, inputs: [:], domainInputs: [:])
}

@Suite("Error bands")
struct ErrorBandsTests {
    @Test("the half-width is the ceil((n + 1) level)-th smallest error")
    func quantileRule() {
        #expect(ErrorBands.quantile((1...99).map(Double.init).shuffled(), level: 0.9) == 90)
        // Too few values for the level: no finite band.
        #expect(ErrorBands.quantile([1, 2, 3], level: 0.9) == .infinity)
    }

    @Test("new draws from the calibration distribution fall in their band about `level` of the time; heavy traffic gets wider bands")
    func coverage() {
        var rng = RandomStream(seed: 5, substream: 1)
        // Log errors uniform in [-0.05, 0.05] below load 0.5 and in [-0.3, 0.3] above 0.8.
        func draw() -> (SurrogateExample, Double) {
            let load = [0.3, 0.6, 0.9][Int(rng.nextOpenUnit() * 3)]
            let spread = load < 0.5 ? 0.05 : load < 0.8 ? 0.1 : 0.3
            let error = (2 * rng.nextOpenUnit() - 1) * spread
            return (example(2, load: load), 2 * exp(error))
        }
        let calibration = (0..<600).map { _ in draw() }
        let predictions = Dictionary(uniqueKeysWithValues: calibration.enumerated().map { ($0.offset, $0.element.1) })
        var i = 0
        let bands = ErrorBands(names: ["meanResponse"], examples: calibration.map(\.0)) { _ in
            defer { i += 1 }
            return SpreadPrediction(values: [predictions[i]!])
        }
        let widths = bands.halfWidths["meanResponse"]!
        #expect(bands.rows.reduce(0, +) == 600)
        #expect(widths[0] < 0.05 && widths[1] < 0.1 && widths[2] < 0.3 && widths[0] < widths[1] && widths[1] < widths[2])

        let fresh = (0..<3000).map { _ in draw() }
        var j = 0
        let share = bands.coverage(names: ["meanResponse"], examples: fresh.map(\.0)) { _ in
            defer { j += 1 }
            return SpreadPrediction(values: [fresh[j].1])
        }["meanResponse"]!.share
        // About 200 calibration rows per band: the conformal coverage of a band has a
        // standard deviation near sqrt(0.9 x 0.1 / 200) = 0.021; 0.06 is about 3 of them.
        #expect(abs(share - 0.9) < 0.06, "coverage \(share)")
    }
}

@Suite("Error bands of a trained model")
struct TrainedBandsTests {
    @Test("training records bands and their test coverage; a band holds its prediction and scales with the unit of time")
    func trainedModelBands() throws {
        let trained = try TrainedModel.shared.get()
        let bands = try #require(trained.model.file.errorBands)
        #expect(bands.level == 0.9)
        #expect(bands.rows.reduce(0, +) == trained.split.validation.count)
        for name in SurrogateTargets.names {
            let share = try #require(trained.model.file.metrics["test"]?[name + ".bandCoverage"], "\(name)")
            #expect((0...1).contains(share))
        }
        let config = trained.dataset.examples[trained.split.test[0]].config
        let predicted = trained.model.predict(config)
        let twin = timeScaled(config, by: 7)
        let twinBands = trained.model.bands(twin, predicted: trained.model.predict(twin))
        for (j, band) in trained.model.bands(config, predicted: predicted).enumerated() {
            let band = try #require(band)
            #expect(band.contains(predicted[j]) && band.lowerBound < band.upperBound)
            // Relative bands: the twin's is 7 times as wide, up to the prediction's rounding (1e-5 as above).
            let other = try #require(twinBands[j])
            #expect(abs(other.upperBound / band.upperBound / 7 - 1) < 1e-5)
        }
    }
}

// A surrogate trained on a sweep over a trace replayed 0.5 to 2 times as fast judges a
// replay of that trace at 1.5 times as inside its domain (the dataset rows it trained
// on record the replayed rate and rebuild with the multiplier folded into it), and one
// at 4 times as outside; the same for Markov-modulated sources run faster.

import Foundation
import Testing

@testable import Simulation
@testable import Surrogate

@Suite("The domain of a surrogate trained on a trace")
struct TraceDomainTests {
    /// Batches at irregular times, some of several jobs: 12 rows over 20 s.
    static let traceText = "t\n0\n0\n1.5\n2\n2\n2\n5\n8.5\n9\n13\n17\n17\n"

    static func trace() throws -> ArrivalTrace {
        try ArrivalTrace.parse(
            traceText, settings: TraceSettings(path: "trace.csv", timeColumn: "t", timeUnit: .s, workColumn: nil,
                                               workScale: 1, batchWindow: 0))
    }

    static func config(_ trace: ArrivalTrace, multiplier: Double, servers: Int, service: Double) -> TandemConfig {
        TandemConfig(
            trace: trace, rateMultiplier: multiplier,
            stations: [StationConfig(servers: 1, service: MomentSpec(mean: 0.1)),
                       StationConfig(servers: servers, service: MomentSpec(mean: service))])
    }

    @Test func aReplayInsideTheSweptMultipliersIsInsideTheDomain() throws {
        let trace = try Self.trace()
        var lines = [(ConfigColumns.names + SurrogateTargets.names + ["point", "stable"]).joined(separator: ",")]
        for point in 0..<60 {
            let multiplier = 0.5 + 1.5 * Double(point) / 59
            let config = Self.config(trace, multiplier: multiplier, servers: 1 + point % 3, service: 0.2 + 0.01 * Double(point % 7))
            // A sweep records the replayed stream as its rate, scv and batch sizes.
            let row = try ConfigColumns.datasetView(config)
            let targets = (0..<SurrogateTargets.names.count).map { 1 + Double($0) + 0.1 * Double(point % 5) }
            lines.append((ConfigColumns.cells(of: config) + targets.map { "\($0)" } + [String(point), "true"])
                .joined(separator: ","))
            #expect(row.trace == nil)
        }
        let dataset = try SurrogateDataset.parse(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), source: "synthetic")
        let model = try SurrogateModel(file: tinyModelFile(dataset, split: dataset.split(validation: 0.2, test: 0.1, seed: 1)))
        let inside = Self.config(trace, multiplier: 1.5, servers: 2, service: 0.23)
        #expect(model.domainWarnings(inside).isEmpty, "\(model.domainWarnings(inside))")
        // Four times as fast: every time in units of the gap between batches is longer
        // than any the model saw.
        let faster = Self.config(trace, multiplier: 4, servers: 2, service: 0.23)
        let warnings = model.domainWarnings(faster)
        #expect(warnings.contains { $0.hasPrefix("stations.2.service.mean*arrival.rate = ") }, "\(warnings)")
        #expect(!warnings.contains { $0.contains("rateMultiplier") }, "the multiplier is folded into the rate: \(warnings)")
    }

    @Test("Markov-modulated sources run 0.5 to 2 times as fast: 1.5 is inside the domain, 4 outside")
    func modulatedSourcesRunFaster() throws {
        let source = MMPPSource(rates: [0, 2, 8], meanHolds: [4, 1, 0.5], next: [[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]])
        func config(_ multiplier: Double, servers: Int, service: Double) -> TandemConfig {
            TandemConfig(mmpp: MMPPSpec(sources: [source]), rateMultiplier: multiplier,
                         batch: .empirical(values: [1, 2, 5], weights: [5, 3, 1]),
                         stations: [StationConfig(servers: 1, service: MomentSpec(mean: 0.1)),
                                    StationConfig(servers: servers, service: MomentSpec(mean: service))])
        }
        var lines = [(ConfigColumns.names + SurrogateTargets.names + ["point", "stable"]).joined(separator: ",")]
        for point in 0..<60 {
            let sample = config(0.5 + 1.5 * Double(point) / 59, servers: 1 + point % 3, service: 0.2 + 0.01 * Double(point % 7))
            let targets = (0..<SurrogateTargets.names.count).map { 1 + Double($0) + 0.1 * Double(point % 5) }
            lines.append((ConfigColumns.cells(of: sample) + targets.map { "\($0)" } + [String(point), "true"])
                .joined(separator: ","))
        }
        let dataset = try SurrogateDataset.parse(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), source: "synthetic")
        let model = try SurrogateModel(file: tinyModelFile(dataset, split: dataset.split(validation: 0.2, test: 0.1, seed: 1)))
        let inside = config(1.5, servers: 2, service: 0.23)
        #expect(model.domainWarnings(inside).isEmpty, "\(model.domainWarnings(inside))")
        let warnings = model.domainWarnings(config(4, servers: 2, service: 0.23))
        #expect(warnings.contains { $0.hasPrefix("stations.2.service.mean*arrival.rate = ") }, "\(warnings)")
        #expect(!warnings.contains { $0.contains("rateMultiplier") || $0.contains("batch.scv") }, "\(warnings)")
    }
}

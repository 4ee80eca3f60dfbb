// `SurrogateModel.predict(_ configs:)`, the bulk path `duet serve` uses for lists,
// against one configuration at a time (`predict(_ config:)`): the same values to
// float rounding (the network runs as sgemm blocks instead of a hand loop).

import Foundation
import Simulation
import Testing
@testable import Surrogate

@Suite("Bulk prediction")
struct BulkPredictionTests {
    /// A feature-version-3 model with random weights: scaling, canonical forms and
    /// units of time are all exercised.
    static func model(activation: Activation) throws -> SurrogateModel {
        let names = SurrogateFeatures.names
        let architecture = NetworkArchitecture(inputs: names.count, hidden: [32, 32], outputs: SurrogateTargets.names.count,
                                               activation: activation)
        let file = ModelFile(
            network: Network(architecture: architecture, seed: 11),
            features: FeatureScaler(names: names, means: names.map { _ in 0.5 }, stds: names.map { _ in 2 }),
            targets: TargetTransform(targets: SurrogateTargets.names.map { .init(name: $0, log: true, mean: 0.1, std: 0.5) }),
            inputDomain: InputDomain(), settings: TrainingSettings(), metrics: ["info": ["featureVersion": Double(SurrogateFeatures.version)]],
            datasetSHA256: String(repeating: "0", count: 64), created: CreationInfo(createdAt: "2026-01-01T00:00:00Z"))
        return try SurrogateModel(file: file)
    }

    /// Stable configurations over three decades of arrival rate (so units of time
    /// differ): station k's per-job mean is load x servers / job rate, loads 0.2 to 0.8.
    static func configs(_ count: Int) throws -> [TandemConfig] {
        try (0..<count).map { i in
            let rate = 0.05 * Double(1 + i % 200), batchMean = Double(1 + i % 7)
            let servers1 = 1 + i % 3, servers2 = 1 + i % 31, jobs = rate * batchMean
            let mean1 = (0.2 + 0.1 * Double(i % 7)) * Double(servers1) / jobs
            let mean2 = (0.2 + 0.1 * Double(i % 5)) * Double(servers2) / jobs
            return try ConfigLoader.parse("""
                {"arrival": {"rate": \(rate), "scv": \(0.5 + Double(i % 5) / 2)}, "batch": {"dist": "geometric", "mean": \(batchMean)},
                 "stations": [{"servers": \(servers1), "service": {"mean": \(mean1), "scv": 1}},
                              {"servers": \(servers2), "service": {"mean": \(mean2), "scv": 0.5}, "maxBatch": \(1 + i % 8),
                               "timeout": \(0.1 / rate)}]}
                """)
        }
    }

    @Test(arguments: Activation.allCases)
    func agreesWithOneAtATime(_ activation: Activation) throws {
        let model = try Self.model(activation: activation)
        // More than two 512-row blocks: with two threads each takes a share of 550
        // configurations through features, network and mapping back.
        let configs = try Self.configs(1100)
        let serial = model.predict(configs, threads: 1)
        let parallel = model.predict(configs, threads: 2)
        #expect(serial.count == configs.count && parallel.count == configs.count)
        for (r, config) in configs.enumerated() {
            let one = model.predict(config)
            #expect(serial[r].count == one.count)
            for j in one.indices {
                #expect(abs(serial[r][j] - one[j]) <= 1e-4 * abs(one[j]), "row \(r), \(model.targetNames[j])")
                // Other blocks of rows: the same sums, perhaps in another order.
                #expect(abs(parallel[r][j] - serial[r][j]) <= 1e-5 * abs(serial[r][j]))
            }
        }
        #expect(model.predict([], threads: 2).isEmpty)
    }

    /// Configurations the shipped model's domain rejects, each for one reason a user
    /// would hit: very bursty arrivals, too many servers, overload, long cold starts.
    static let outsideTheDocumentedDomain = [
        #"{"arrival": {"rate": 1, "scv": 40}, "stations": [{"servers": 2, "service": {"mean": 1}}, {"servers": 2, "service": {"mean": 1}}]}"#,
        #"{"arrival": {"rate": 1}, "stations": [{"servers": 200, "service": {"mean": 100}}, {"servers": 2, "service": {"mean": 1}}]}"#,
        #"{"arrival": {"rate": 1}, "stations": [{"servers": 1, "service": {"mean": 0.99}}, {"servers": 2, "service": {"mean": 1}}]}"#,
        #"{"arrival": {"rate": 2}, "stations": [{"servers": 2, "service": {"mean": 0.5}, "coldStart": {"mean": 100}, "keepAlive": 1}, {"servers": 2, "service": {"mean": 0.5}}]}"#,
    ]

    @Test("bulk prediction with domain warnings gives each configuration's own warnings and predictions")
    func withDomainWarnings() throws {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models")
        let shipped = try SurrogateModel.load(path: models.appendingPathComponent("duet-tandem-v1-fast.json").path)
        let outside = try Self.outsideTheDocumentedDomain.map { try ConfigLoader.parse($0) }
        // Both kinds of domain: the shipped model's documented one and a trained range
        // (the random model's is empty, so its own check passes everything).
        for model in [shipped, try Self.model(activation: .silu)] {
            let configs = try Self.configs(40) + outside
            let (values, warnings) = model.predictWithDomainWarnings(configs, threads: 1)
            let expected = configs.map { model.domainWarnings($0) }
            #expect(warnings == expected)
            let one = model.predict(configs, threads: 1)
            for r in configs.indices {
                let agree = zip(values[r], one[r]).allSatisfy { abs($0 - $1) <= 1e-9 * abs($1) }
                #expect(values[r].count == one[r].count && agree, "row \(r)")
            }
        }
        // Two threads, each with a share of the rows, give each row its own answer too.
        let many = try Self.configs(1100) + outside
        let serial = shipped.predictWithDomainWarnings(many, threads: 1)
        let parallel = shipped.predictWithDomainWarnings(many, threads: 2)
        #expect(parallel.warnings == serial.warnings)
        let close = zip(parallel.values, serial.values).allSatisfy { pair in
            pair.0.count == pair.1.count && zip(pair.0, pair.1).allSatisfy { abs($0 - $1) <= 1e-5 * abs($1) }
        }
        #expect(parallel.values.count == many.count && close)
        // The shipped model warns about each configuration outside, naming the key at fault.
        let shippedWarnings = shipped.predictWithDomainWarnings(outside, threads: 1).warnings
        let keys = ["arrival.scv", "stations.1.servers", "stations.1.load", "stations.1.coldStart.mean"]
        for (warnings, key) in zip(shippedWarnings, keys) {
            #expect(warnings.contains { $0.hasPrefix(key) }, "\(key): \(warnings)")
        }
    }
}

// Synthetic report data, shaped like a real `duet run`: seeded, so every run of the
// tests renders the same page.

import DuetSupport
import Foundation
@testable import Pipeline

/// A small deterministic generator (SplitMix64), enough for test data.
struct SampleRandom {
    private var mixer: SplitMix64

    init(seed: UInt64) { mixer = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { mixer.next() }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { mixer.unit() }

    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Log-uniform in [lo, hi].
    mutating func logUniform(_ lo: Double, _ hi: Double) -> Double { exp(uniform(log(lo), log(hi))) }

    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300)
        return sqrt(-2 * log(u)) * cos(2 * .pi * uniform())
    }
}

enum ReportSample {
    static let created = Date(timeIntervalSince1970: 1_767_225_600) // 2026-01-01 00:00 UTC

    static let targetNames = [
        "meanResponse", "p50Response", "p95Response", "p99Response",
        "stations.1.meanResponse", "stations.2.meanResponse",
        "stations.1.instanceSecondsPerJob", "stations.2.instanceSecondsPerJob",
    ]

    /// A full report: every section filled in.
    static func full(rows: Int = 600, trials: Int = 24, seed: UInt64 = 7) -> ReportData {
        var random = SampleRandom(seed: seed)
        // The test split: a scale per row (service times over three decades), a load.
        let scales = (0..<rows).map { _ in random.logUniform(0.01, 20) }
        let loads = (0..<rows).map { _ in min(0.985, random.uniform(0.03, 1.02)) }
        var targets: [ReportData.Target] = []
        for (t, name) in targetNames.enumerated() {
            let factor = [1.0, 0.8, 2.2, 3.5, 0.45, 0.55, 0.3, 0.35][t]
            var simulated: [Double] = []
            var predicted: [Double] = []
            var baseline: [Double?] = []
            let hasBaseline = name.hasSuffix("meanResponse")
            for i in 0..<rows {
                let congestion = name.contains("instanceSeconds") ? 1 : 1 / (1 - 0.9 * loads[i])
                let value = scales[i] * factor * congestion * exp(0.15 * random.normal())
                let spread = 0.012 + 0.05 * pow(loads[i], 4) + (t == 3 ? 0.02 : 0)
                simulated.append(value)
                predicted.append(value * (1 + spread * random.normal()))
                if hasBaseline {
                    baseline.append(value * (1 + 0.04 + 0.25 * pow(loads[i], 2) * random.normal() + 0.1 * loads[i]))
                }
            }
            func errors(_ p: [Double?]) -> [Double] {
                zip(simulated, p).compactMap { s, p in p.map { abs($0 - s) / s * 100 } }
            }
            targets.append(ReportData.Target(
                name: name, unit: "s", simulated: simulated, predicted: predicted, bottleneckLoad: loads,
                baseline: hasBaseline ? baseline : nil,
                surrogateErrors: .init(errors: errors(predicted.map { Optional($0) })),
                baselineErrors: hasBaseline ? .init(errors: errors(baseline)) : nil))
        }
        // The search: ASHA-like rungs at 3, 9 and 27 epochs, then to 60.
        var trialList: [ReportData.Trial] = []
        for k in 0..<trials {
            let floor = random.logUniform(1.2, 9)
            let start = random.uniform(25, 70)
            let tau = random.uniform(3, 14)
            let lastEpoch = k % 7 == 3 ? 2 : [3, 9, 27, 60][min(3, Int(floor < 2.2 ? 3 : floor < 3.5 ? 2 : floor < 6 ? 1 : 0))]
            var points: [ReportData.CurvePoint] = []
            for epoch in 1...lastEpoch {
                let mape = floor + (start - floor) * exp(-Double(epoch - 1) / tau)
                points.append(.init(epoch: epoch, validationMAPE: mape * exp(0.03 * random.normal())))
            }
            let state = k % 7 == 3 ? "failed" : lastEpoch == 60 ? "completed" : "stopped"
            let hyper = [
                "learningRate": String(format: "%.1e", random.logUniform(1e-4, 3e-2)),
                "layers": String(Int(random.uniform(2, 5))),
                "width": String([32, 64, 128, 256][Int(random.uniform(0, 4))]),
                "batchSize": String([64, 128, 256][Int(random.uniform(0, 3))]),
                "weightDecay": String(format: "%.0e", random.logUniform(1e-6, 1e-3)),
            ]
            trialList.append(.init(id: String(k + 1), hyperparameters: hyper, points: points, state: state))
        }
        let best = trialList.filter { $0.state == "completed" }.min { ($0.bestMAPE ?? .infinity) < ($1.bestMAPE ?? .infinity) }
        // The sweep's sampled inputs.
        let n = 2000
        let load1 = (0..<n).map { _ in random.uniform(0.05, 0.97) }
        let load2 = (0..<n).map { _ in random.uniform(0.05, 0.97) }
        let batchMean = (0..<n).map { _ in random.logUniform(1, 32) }
        let maxBatch = (0..<n).map { _ in Double(Int(random.logUniform(1, 65))) }
        let rate = (0..<n).map { _ in random.logUniform(0.05, 200) }
        let service = (0..<n).map { _ in random.logUniform(0.005, 5) }
        let unstable = (0..<n).map { max(load1[$0], load2[$0]) > 0.93 && random.uniform() < 0.5 }
        return ReportData(
            title: "Duet report: serverless tandem",
            created: created,
            source: "examples/pipeline.yaml",
            phases: [.init(name: "sweep (simulate)", seconds: 412.5), .init(name: "search", seconds: 1830),
                     .init(name: "train", seconds: 261.2), .init(name: "evaluate", seconds: 3.2),
                     .init(name: "report", seconds: 0.08)],
            dataset: .init(rows: n, unstableRows: unstable.filter { $0 }.count, columns: [
                .init(name: "arrival.rate", min: 0.05, max: 200),
                .init(name: "batch.mean", min: 1, max: 32),
                .init(name: "stations.1.load", min: 0.05, max: 0.97),
                .init(name: "stations.1.service.mean", min: 0.005, max: 5),
                .init(name: "stations.2.load", min: 0.05, max: 0.97),
                .init(name: "stations.2.maxBatch", min: 1, max: 64),
            ]),
            targets: targets,
            search: .init(metric: "meanResponse", trials: trialList, bestTrialID: best?.id),
            coverage: [
                .init(xName: "stations.1.load", yName: "stations.2.load", x: load1, y: load2, unstable: unstable),
                .init(xName: "batch.mean", yName: "stations.2.maxBatch", x: batchMean, y: maxBatch),
                .init(xName: "arrival.rate", yName: "stations.1.service.mean", x: rate, y: service),
            ])
    }

    /// Edge cases: each must render without NaN, infinities or broken markup.
    static let degenerate: [(String, ReportData)] = {
        let nan = Double.nan
        let inf = Double.infinity
        let stats = ReportData.ErrorStats(errors: [])
        func target(_ s: [Double], _ p: [Double], _ l: [Double], baseline: [Double?]? = nil) -> ReportData.Target {
            .init(name: "meanResponse", unit: "s", simulated: s, predicted: p, bottleneckLoad: l, baseline: baseline,
                  surrogateErrors: stats, baselineErrors: baseline == nil ? nil : stats)
        }
        func trial(_ id: String, _ points: [(Int, Double)], _ state: String = "completed") -> ReportData.Trial {
            .init(id: id, hyperparameters: [:], points: points.map { .init(epoch: $0.0, validationMAPE: $0.1) }, state: state)
        }
        return [
            ("empty", ReportData(title: "empty", created: created)),
            ("one point", ReportData(
                title: "one point", created: created, phases: [.init(name: "simulate", seconds: 0)],
                dataset: .init(rows: 1, unstableRows: 0, columns: []),
                targets: [target([1.5], [1.5], [0.5], baseline: [nil])],
                search: .init(trials: [trial("a", [(1, 3.0)])], bestTrialID: "a"),
                coverage: [.init(xName: "x", yName: "y", x: [0.3], y: [7])])),
            ("identical values", ReportData(
                title: "identical", created: created, phases: [.init(name: "a", seconds: 1), .init(name: "b", seconds: 1)],
                targets: [target([2, 2, 2], [2, 2, 2], [0.9, 0.9, 0.9], baseline: [2, 2, 2])],
                search: .init(trials: [trial("a", [(1, 5), (2, 5), (3, 5)]), trial("b", [(1, 5)])], bestTrialID: "b"),
                coverage: [.init(xName: "x", yName: "y", x: [1, 1, 1], y: [0, 0, 0])])),
            ("zeros and negatives", ReportData(
                title: "zeros", created: created,
                targets: [target([0, -1, 0], [0, 1, -2], [0, 0, 0])],
                search: .init(trials: [trial("a", [(0, 0), (1, 0)])], bestTrialID: "a"),
                coverage: [.init(xName: "x", yName: "y", x: [-5, 0, 5], y: [0, 0, 0])])),
            ("not finite", ReportData(
                title: "nan", created: created, phases: [.init(name: "x", seconds: nan), .init(name: "y", seconds: inf)],
                dataset: .init(rows: 0, unstableRows: 0, columns: [.init(name: "c", min: nan, max: inf)]),
                targets: [ReportData.Target(
                    name: "t", simulated: [nan, inf, 1, 2], predicted: [1, 2, nan, -inf], bottleneckLoad: [nan, 0.5, inf, 2],
                    baseline: [nil, nan, inf, 1],
                    surrogateErrors: .init(count: 0, mape: nan, median: nan, p90: inf, p99: nan, max: inf))],
                search: .init(trials: [trial("a", [(1, nan), (2, inf)], "failed"), trial("b", [])], bestTrialID: "zz"),
                coverage: [.init(xName: "x", yName: "y", x: [nan, inf], y: [1, 2], unstable: [true])])),
            ("mismatched lengths", ReportData(
                title: "lengths", created: created,
                targets: [target([1, 2, 3, 4], [1.1, 2.2], [0.1, 0.6, 0.9], baseline: [1])],
                search: .init(trials: [trial("a", [(5, 4), (1, 40), (3, 9)], "stopped")], bestTrialID: nil),
                coverage: [.init(xName: "x", yName: "y", x: [1, 2, 3], y: [4], unstable: [false, true, true, true])])),
            ("huge range", ReportData(
                title: "huge", created: created,
                targets: [target([1e-9, 1e9], [2e-9, 0.5e9], [0.2, 0.99])],
                search: .init(trials: [trial("a", [(1, 1e-6), (1000, 1e6)])], bestTrialID: "a"),
                coverage: [.init(xName: "x", yName: "y", x: [1e-12, 1e12], y: [1e-300, 1e300])])),
        ]
    }()
}

// Chains of any length from a model of one station (docs/chain-surrogate.md, "Per-station
// blocks composed along the chain"), the way QNA composes them: each station is seen
// as a one-station system fed by the stream that reaches it, the stations' mean
// responses add up to the chain's (hand-overs take no time), and the stream a station
// sends on is the next one's input. The streams are QNA's (renewal groups: rate, scv
// and mean size of the invocations leaving the station before), so the network learns
// a correction to a textbook hand-over; a learnt description passed from block to
// block is the design's second step, not built.
//
// Training rows come from simulated chains: a chain of N stations gives N rows, each a
// one-station view with that station's simulated response and instance-seconds per
// job. A station's percentiles are not simulated, so a view's end-to-end targets are
// its mean response, never read back: a composed chain has no percentiles.

import Analytic
import DuetSupport
import Foundation
import Simulation

public enum StationComposition {
    /// Each station of `config` as a one-station configuration fed by the stream that
    /// reaches it: station 1 by the chain's own arrivals, station k > 1 by renewal
    /// groups at QNA's rate and scv of station k - 1's departures, holding QNA's mean
    /// invocation size of station k - 1 (the two whole numbers around it, so the mean
    /// is exact). Nil when QNA finds a station overloaded.
    public static func stationViews(_ config: TandemConfig) -> [TandemConfig]? {
        guard let inputs = QueueingNetworkAnalyzer.stationInputs(config) else { return nil }
        return config.stations.indices.map { k in
            if k == 0 {
                var view = config
                view.stations = [config.stations[0]]
                return view
            }
            let input = inputs[k]
            return TandemConfig(arrivalRate: input.rate, arrivalScv: input.scv, batch: groups(of: input.groupMean),
                                stations: [config.stations[k]], run: config.run)
        }
    }

    /// Groups of mean size `mean`: that many jobs when it is whole, else the two whole
    /// numbers around it.
    static func groups(of mean: Double) -> BatchSizeSpec {
        let low = max(1, Int(mean.rounded(.down)))
        let share = mean - Double(low)
        guard share > 1e-9 else { return .deterministic(low) }
        return .empirical(values: [low, low + 1], weights: [1 - share, share])
    }

    /// The targets of a view of station `k` (1-based) of `example`'s chain, in the
    /// one-station layout: its simulated mean response for the end-to-end metrics (a
    /// station's percentiles are not simulated) and for the station's response, then its
    /// instance-seconds per job. Nil when the chain has no such station.
    static func viewTargets(_ example: SurrogateExample, station k: Int) -> [Double]? {
        guard let response = example.target("stations.\(k).meanResponse"),
              let cost = example.target("stations.\(k).instanceSecondsPerJob") else { return nil }
        return SurrogateTargets.names(stations: 1).map { $0.hasSuffix("instanceSecondsPerJob") ? cost : response }
    }

    /// A chain's metrics from a one-station model: each station's mean response and
    /// instance-seconds per job, and the chain's mean response as their sum. Nil when
    /// QNA finds a station overloaded.
    public static func predict(_ model: SurrogateModel, _ config: TandemConfig) -> ComposedPrediction? {
        guard let views = stationViews(config) else { return nil }
        let response = model.targetNames.firstIndex(of: "stations.1.meanResponse")!
        let cost = model.targetNames.firstIndex(of: "stations.1.instanceSecondsPerJob")!
        let stations = views.map { view in
            let values = model.predict(view)
            return (meanResponse: values[response], instanceSecondsPerJob: values[cost])
        }
        return ComposedPrediction(meanResponse: stations.reduce(0) { $0 + $1.meanResponse }, stations: stations)
    }
}

extension StationComposition {
    /// The model's input-domain warnings about each station's view, named as the chain's
    /// keys: `stations.1.` of station k's view is `stations.k.`, and the arrival keys of
    /// a later station's view describe the stream QNA says reaches it.
    public static func domainWarnings(_ model: SurrogateModel, _ config: TandemConfig) -> [String] {
        guard let views = stationViews(config) else { return [] }
        return views.enumerated().flatMap { k, view in
            model.domainWarnings(view).map { warning in
                let named = warning.replacingOccurrences(of: "stations.1.", with: "stations.\(k + 1).")
                return k == 0 || named.contains("stations.\(k + 1).") ? named
                    : "the stream into station \(k + 1) (QNA's): " + named
            }
        }
    }

    /// `predict` as metric values by name (`SurrogateTargets.names` of the chain), the
    /// percentiles left out; empty when QNA finds a station overloaded.
    public static func values(_ model: SurrogateModel, _ config: TandemConfig) -> [String: Double] {
        guard let composed = predict(model, config) else { return [:] }
        return Dictionary(uniqueKeysWithValues: SurrogateTargets.names(stations: config.stations.count).compactMap { name in
            composed.value(name).map { (name, $0) }
        })
    }
}

/// What a model of one station predicts for a chain (`StationComposition.predict`).
public struct ComposedPrediction: Sendable {
    public var meanResponse: Double
    public var stations: [(meanResponse: Double, instanceSecondsPerJob: Double)]

    /// The value of target `name` of the chain's layout (`SurrogateTargets.names`), nil
    /// for the percentiles, which a composed chain does not have.
    public func value(_ name: String) -> Double? {
        if name == "meanResponse" { return meanResponse }
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[0] == "stations", let k = Int(parts[1]), stations.indices.contains(k - 1)
        else { return nil }
        switch parts[2] {
        case "meanResponse": return stations[k - 1].meanResponse
        case "instanceSecondsPerJob": return stations[k - 1].instanceSecondsPerJob
        default: return nil
        }
    }
}

extension SurrogateDataset {
    /// One row per station of every chain of `datasets` (`StationComposition.stationViews`),
    /// as a dataset of one-station chains: what a model composed along chains learns.
    /// Rows whose chain QNA finds overloaded are skipped, and said so.
    public init(stationsOf datasets: [SurrogateDataset]) {
        stations = 1
        minStations = 1
        source = "stations of " + datasets.map(\.source).joined(separator: " + ")
        sha256 = SHA256Hasher.hex(datasets.map(\.sha256).joined(separator: "\n") + "\nstations")
        examples = []
        skipped = []
        for dataset in datasets {
            skipped += dataset.skipped.map { (row: $0.row, reason: "\(dataset.source): \($0.reason)") }
            for example in dataset.examples {
                guard let views = StationComposition.stationViews(example.config) else {
                    skipped.append((example.point, "\(dataset.source): point \(example.point): QNA finds a station overloaded"))
                    continue
                }
                for (k, view) in views.enumerated() {
                    guard let targets = StationComposition.viewTargets(example, station: k + 1) else { continue }
                    let form = EstimatedForm(view)
                    examples.append(SurrogateExample(
                        point: example.point, config: view, features: SurrogateFeatures.vector(estimated: form),
                        targets: targets, timeUnit: form.timeUnit, bottleneckLoad: view.offeredLoads.max() ?? 0,
                        inputs: Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names(of: view), ConfigColumns.cells(of: view))),
                        domainInputs: form.form.domainCells(batchDist: nil)))
                }
            }
        }
    }
}

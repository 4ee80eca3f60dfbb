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
    /// Each station of `config` as a short chain ending at it, fed by the stream that
    /// reaches the chain's first station: the station and up to `upstream` stations
    /// before it. A view starting at station 1 is fed by the chain's own arrivals; one
    /// starting at station j > 1 by renewal groups at QNA's rate and scv of station
    /// j - 1's departures, holding QNA's mean invocation size of station j - 1 (the two
    /// whole numbers around it, so the mean is exact). Nil when QNA finds a station
    /// overloaded.
    public static func stationViews(_ config: TandemConfig, upstream: Int = 0) -> [TandemConfig]? {
        guard let inputs = QueueingNetworkAnalyzer.stationInputs(config) else { return nil }
        return config.stations.indices.map { k in
            let first = max(0, k - upstream)
            let stations = Array(config.stations[first...k])
            if first == 0 {
                var view = config
                view.stations = stations
                return view
            }
            let input = inputs[first]
            return TandemConfig(arrivalRate: input.rate, arrivalScv: input.scv, batch: groups(of: input.groupMean),
                                stations: stations, run: config.run)
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

    /// The targets of the view of stations `first` to `last` (1-based) of `example`'s
    /// chain, in the layout of a chain of their number: each station's simulated mean
    /// response and instance-seconds per job, and their responses' sum end to end (the
    /// means add; the percentiles are not simulated for part of a chain, so they are
    /// the sum too, learnt and never read back). Nil when the chain lacks a station.
    static func viewTargets(_ example: SurrogateExample, stations first: Int, _ last: Int) -> [Double]? {
        let count = last - first + 1
        var values: [String: Double] = [:]
        var sum = 0.0
        for (j, k) in (first...last).enumerated() {
            guard let response = example.target("stations.\(k).meanResponse"),
                  let cost = example.target("stations.\(k).instanceSecondsPerJob") else { return nil }
            values["stations.\(j + 1).meanResponse"] = response
            values["stations.\(j + 1).instanceSecondsPerJob"] = cost
            sum += response
        }
        return SurrogateTargets.names(stations: count).map { values[$0] ?? sum }
    }

    /// A chain's metrics from a model of views (`duet train --per-station`): each
    /// station's mean response and instance-seconds per job, read off its view's last
    /// station, and the chain's mean response as their sum. Nil when QNA finds a
    /// station overloaded.
    public static func predict(_ model: SurrogateModel, _ config: TandemConfig) -> ComposedPrediction? {
        guard let views = stationViews(config, upstream: model.compositionUpstream) else { return nil }
        let index = Dictionary(uniqueKeysWithValues: model.targetNames.enumerated().map { ($1, $0) })
        let stations = views.map { view in
            let values = model.predict(view)
            let last = view.stations.count
            return (meanResponse: values[index["stations.\(last).meanResponse"]!],
                    instanceSecondsPerJob: values[index["stations.\(last).instanceSecondsPerJob"]!])
        }
        return ComposedPrediction(meanResponse: stations.reduce(0) { $0 + $1.meanResponse }, stations: stations)
    }
}

extension StationComposition {
    /// The model's input-domain warnings about each station's view, named as the chain's
    /// keys: `stations.1.` of station k's view is `stations.k.`, and the arrival keys of
    /// a later station's view describe the stream QNA says reaches it.
    public static func domainWarnings(_ model: SurrogateModel, _ config: TandemConfig) -> [String] {
        guard let views = stationViews(config, upstream: model.compositionUpstream) else { return [] }
        var seen = Set<String>()
        return views.enumerated().flatMap { k, view in
            let first = k + 1 - view.stations.count    // 0-based chain index of the view's station 1
            return model.domainWarnings(view).compactMap { warning -> String? in
                var named = warning
                // Highest first, so that stations.1 does not turn into a later station's name twice.
                for j in stride(from: view.stations.count, through: 1, by: -1) {
                    named = named.replacingOccurrences(of: "stations.\(j).", with: "stations.@\(first + j).")
                }
                named = named.replacingOccurrences(of: "stations.@", with: "stations.")
                if first > 0 && !named.contains("stations.") {
                    named = "the stream into station \(first + 1) (QNA's): " + named
                }
                return seen.insert(named).inserted ? named : nil
            }
        }
    }
}

extension SurrogateModel {
    /// The targets `predictChain` gives for a chain of `stations` stations: the model's
    /// own, or for a model composed along chains the chain's mean response and each
    /// station's response and instance-seconds per job (no percentiles).
    public func chainTargetNames(stations: Int) -> [String] {
        guard composesStations else { return targetNames }
        return SurrogateTargets.names(stations: stations).filter { $0 == "meanResponse" || $0.hasPrefix("stations.") }
    }

    /// Predictions for `config` in `chainTargetNames` order: `predict` for a chain of a
    /// length the model predicts (`checkStations`), composed along the chain for a
    /// model that composes (NaN where QNA finds a station overloaded).
    public func predictChain(_ config: TandemConfig) -> [Double] {
        guard composesStations else { return predict(config) }
        let names = chainTargetNames(stations: config.stations.count)
        guard let composed = StationComposition.predict(self, config) else { return names.map { _ in .nan } }
        return names.map { composed.value($0) ?? .nan }
    }

    /// Where `config` lies outside what the model saw (`domainWarnings`), station by
    /// station for a model composed along chains.
    public func chainDomainWarnings(_ config: TandemConfig) -> [String] {
        composesStations ? StationComposition.domainWarnings(self, config) : domainWarnings(config)
    }
}

/// What a model of one station predicts for a chain (`StationComposition.predict`).
public struct ComposedPrediction: Sendable {
    public var meanResponse: Double
    public var stations: [(meanResponse: Double, instanceSecondsPerJob: Double)]

    /// The value of target `name` of the chain's layout (`SurrogateTargets.names`), nil
    /// for the percentiles, which a composed chain does not have.
    public func value(_ name: String) -> Double? {
        let target = SurrogateTargets.Parsed(name)
        guard let k = target.station else { return target.metric == "meanResponse" ? meanResponse : nil }
        guard stations.indices.contains(k - 1) else { return nil }
        switch target.metric {
        case "meanResponse": return stations[k - 1].meanResponse
        case "instanceSecondsPerJob": return stations[k - 1].instanceSecondsPerJob
        default: return nil
        }
    }
}

extension SurrogateDataset {
    /// One row per station of every chain of `datasets`: its view with up to `upstream`
    /// stations before it (`StationComposition.stationViews`), as a dataset of chains of
    /// 1 to `upstream` + 1 stations laid out for the longest: what a model composed
    /// along chains learns. Rows whose chain QNA finds overloaded are skipped, and said so.
    public init(stationsOf datasets: [SurrogateDataset], upstream: Int = 0) {
        stations = upstream + 1
        minStations = 1
        source = "stations of " + datasets.map(\.source).joined(separator: " + ")
        sha256 = SHA256Hasher.hex(datasets.map(\.sha256).joined(separator: "\n") + "\nstations")
        examples = []
        skipped = []
        for dataset in datasets {
            skipped += dataset.skipped.map { (row: $0.row, reason: "\(dataset.source): \($0.reason)") }
            for example in dataset.examples {
                guard let views = StationComposition.stationViews(example.config, upstream: upstream) else {
                    skipped.append((example.point, "\(dataset.source): point \(example.point): QNA finds a station overloaded"))
                    continue
                }
                for (k, view) in views.enumerated() {
                    guard let targets = StationComposition.viewTargets(
                        example, stations: k + 2 - view.stations.count, k + 1) else { continue }
                    let form = EstimatedForm(view)
                    examples.append(SurrogateExample(
                        point: example.point, config: view,
                        features: SurrogateFeatures.padded(SurrogateFeatures.vector(estimated: form), stations: stations),
                        targets: targets, timeUnit: form.timeUnit, bottleneckLoad: view.offeredLoads.max() ?? 0,
                        inputs: Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names(of: view), ConfigColumns.cells(of: view))),
                        domainInputs: form.form.domainCells(batchDist: nil)))
                }
            }
        }
    }
}

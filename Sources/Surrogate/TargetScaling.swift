// What theory says about a target's size, divided out before the network learns it
// (issue #13, part 5). Responses grow like 1 / (1 - load) near saturation: learnt
// raw, their logs span several units at heavy traffic and the network spends its
// capacity on a shape that theory already knows. Dividing each dimensionless target
// by a reference of that shape leaves a smooth residual of order 1 to learn.
//
// The reference is a function of the configuration's canonical twin alone, so the
// invariances of `CanonicalForm` hold for every scaling.

import Analytic
import Foundation
import Simulation

public enum TargetScaling: String, Codable, Sendable, CaseIterable {
    /// The twin's dimensionless targets as they are (every model file before
    /// format version 2).
    case none
    /// Responses times (1 - load): the end-to-end response and its percentiles by the
    /// bottleneck's load, a station's response by its own. Instance-seconds per job
    /// do not grow with load and are left as they are.
    case heavyTraffic = "heavy-traffic"
    /// Every target over the analytical baseline's (QNA) estimate of it, percentiles
    /// over the mean response: the network learns log(simulated / QNA), which carries
    /// QNA's heavy-traffic shape and falls back to it. Where QNA has no estimate (its
    /// approximate load reaches 1), the heavy-traffic reference stands in.
    case analytic
    /// As `analytic`, with the delays QNA leaves out added to its responses
    /// (`SurrogateFeatures.unmodelledDelays`: a fluid model's wait for on/off bursts
    /// that outrun a station, and the cold start paid after a gap longer than
    /// keepAlive): a station's response by its own, the end-to-end response and its
    /// percentiles by their sum. Instance-seconds per job are `analytic`'s.
    case analyticDelays = "analytic-delays"
    /// As `analyticDelays`, with each station's wait behind the jobs of its own arriving
    /// group added too (`SurrogateFeatures.groupWaits`): jobs that arrive together
    /// queue behind each other even in light traffic, which QNA's two moments spread
    /// over every load (for M^X/G/1 it is exactly what they leave out).
    case analyticGroupDelays = "analytic-group-delays"

    /// What `duet train` uses unless told otherwise. `analytic` was measured best of
    /// the first three on the documented domain's first 3,667 rows (docs/domain.md,
    /// "Measured"); `analyticGroupDelays` since: on the quickstart pipeline's 2,998 rows,
    /// three seeds of the defaults, validation meanResponse MAPE 3.04 to 3.43% against
    /// 3.63 to 3.74% and test 3.68 to 4.02% against 3.97 to 4.37% (docs/domain.md,
    /// "Group waits in the reference").
    public static let trainingDefault = TargetScaling.analyticGroupDelays

    /// Per target, in `names` order, the divisor of the twin's dimensionless value.
    public func references(twin: TandemConfig, names: [String]) -> [Double] {
        references(twin, names: names, estimate: { QueueingNetworkAnalyzer.estimate(twin) })
    }

    /// The same for the twin of `form`, with the QNA estimate it holds.
    public func references(form: EstimatedForm, names: [String]) -> [Double] {
        references(form.twin, names: names, estimate: { form.analytic })
    }

    private func references(_ twin: TandemConfig, names: [String], estimate: () -> AnalyticEstimate?) -> [Double] {
        references(twin, targets: SurrogateTargets.parsed(names), estimate: estimate)
    }

    private func references(_ twin: TandemConfig, targets: [SurrogateTargets.Parsed],
                            estimate: () -> AnalyticEstimate?) -> [Double] {
        switch self {
        case .none:
            return targets.map { _ in 1 }
        case .heavyTraffic:
            return Self.heavyTraffic(twin, targets: targets)
        case .analytic, .analyticDelays, .analyticGroupDelays:
            guard let estimate = estimate() else { return Self.heavyTraffic(twin, targets: targets) }
            let delays: [Double]? = switch self {
            case .analyticDelays: SurrogateFeatures.unmodelledDelays(twin)
            case .analyticGroupDelays: SurrogateFeatures.unmodelledDelays(twin, groupsOf: estimate)
            default: nil
            }
            var fallback: [Double]?  // only when some target has no estimate
            return targets.indices.map { j in
                let target = targets[j]
                let value = target.isEndToEndResponse ? estimate.meanResponse
                    : target.analytic.flatMap { estimate.value($0, station: target.station) }
                if let value, value > 0, value.isFinite {
                    return value + (delays.map { Self.delay($0, for: target) } ?? 0)
                }
                if fallback == nil { fallback = Self.heavyTraffic(twin, targets: targets) }
                return fallback![j]
            }
        }
    }

    /// What `delays` (one per station) add to `target`'s reference: their sum to an
    /// end-to-end response, a station's own to its response, nothing to other metrics.
    private static func delay(_ delays: [Double], for target: SurrogateTargets.Parsed) -> Double {
        if target.isEndToEndResponse { return delays.reduce(0, +) }
        guard target.isStationResponse, let k = target.station, delays.indices.contains(k - 1) else { return 0 }
        return delays[k - 1]
    }

    /// Metric values (twin units, `names` order) divided by their references.
    public func scaled(_ values: [Double], twin: TandemConfig, names: [String]) -> [Double] {
        guard self != .none else { return values }
        return zip(values, references(twin: twin, names: names)).map { $0 / $1 }
    }

    /// Network outputs times their references: the twin's dimensionless metric values.
    public func unscaled(_ values: [Double], twin: TandemConfig, names: [String]) -> [Double] {
        guard self != .none else { return values }
        return zip(values, references(twin: twin, names: names)).map { $0 * $1 }
    }

    /// 1 / (1 - load) for responses (see `heavyTraffic`), 1 for other targets. A load
    /// at or above 1 (outside any domain) is taken as 0.999, so the reference stays finite.
    static func heavyTraffic(_ twin: TandemConfig, names: [String]) -> [Double] {
        heavyTraffic(twin, targets: SurrogateTargets.parsed(names))
    }

    static func heavyTraffic(_ twin: TandemConfig, targets: [SurrogateTargets.Parsed]) -> [Double] {
        let loads = twin.offeredLoads
        func factor(_ load: Double) -> Double { 1 / max(1e-3, 1 - load) }
        return targets.map { target in
            if target.isEndToEndResponse { return factor(loads.max() ?? 0) }
            guard target.isStationResponse, let k = target.station, loads.indices.contains(k - 1) else { return 1 }
            return factor(loads[k - 1])
        }
    }
}

extension TargetScaling {
    /// The metric values, seconds, of the chain whose canonical form is `form`, from the
    /// outputs of a network with this scaling laid out for chains of `layout` stations
    /// (`SurrogateTargets.names(stations: layout)` order): the chain's own targets
    /// unscaled, and 0 for the stations it does not have, which take no time and no
    /// instance-seconds.
    public func metrics(_ outputs: [Double], form: EstimatedForm, layout: Int) -> [Double] {
        rowScale(form: form, layout: layout).metrics(outputs)
    }

    /// What maps the outputs of the configuration whose form is `form` back to metric
    /// values (`metrics`), worked out before the network runs: bulk prediction keeps
    /// this for each row of a block instead of the row's whole form.
    public func rowScale(form: EstimatedForm, layout: Int) -> RowScale {
        let stations = form.twin.stations.count
        let targets = SurrogateTargets.parsed(stations: stations)
        let references = self == .none ? nil : references(form.twin, targets: targets, estimate: { form.analytic })
        return RowScale(stations: stations, layout: layout, references: references, timeUnit: form.timeUnit)
    }
}

/// One configuration's way back from network outputs to metric values (`TargetScaling.rowScale`).
/// It runs for every predicted row: the chain's targets come parsed from a table and
/// the values are worked on in one array.
public struct RowScale: Sendable {
    /// The chain's stations, and the stations the network's outputs are laid out for.
    let stations: Int
    let layout: Int
    /// The chain's targets' references (nil: unscaled outputs).
    let references: [Double]?
    /// Seconds per unit of the canonical twin's time.
    let timeUnit: Double

    /// The metric values, seconds, in the layout's order (0 for stations the chain lacks).
    public func metrics(_ outputs: [Double]) -> [Double] {
        let targets = SurrogateTargets.parsed(stations: stations)
        var values = SurrogateTargets.selected(outputs, from: layout, to: stations)
        if let references {
            for j in values.indices { values[j] *= references[j] }
        }
        SurrogateTargets.makeDimensional(&values, targets: targets, timeUnit: timeUnit)
        return SurrogateTargets.padded(values, from: stations, to: layout, fill: 0)
    }
}

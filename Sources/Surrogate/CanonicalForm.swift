// The exact invariances of the tandem model (MODEL.md), which feature version 3 builds
// into every model instead of hoping the network learns them.
//
// 1. The unit of time. Multiplying every time of a configuration by c (the mean gap
//    between batches, i.e. 1 / arrival.rate, service means, setup, timeouts, cold
//    starts, keep-alive, on/off meanOn) multiplies every time the system produces by
//    c: responses, percentiles, instance-seconds per job. So the surrogate works on the
//    configuration's dimensionless twin, whose time unit is the mean gap between
//    batches (its arrival.rate is 1), and scales the time-valued predictions back.
// 2. Parameters that have no effect on what the surrogate predicts take one canonical
//    value, so that two configurations that differ only there look alike to the
//    network and to the domain check (the list is in `canonical(_:)`).

import Analytic
import Foundation
import Simulation

/// A configuration's canonical dimensionless twin and the time unit that maps it back.
public struct CanonicalForm: Sendable, Equatable {
    /// The twin: every time divided by `timeUnit` (its arrival rate is 1), with the
    /// parameters that have no effect in their canonical values.
    public var config: TandemConfig
    /// Seconds per unit of the twin's time: the mean gap between batches, 1 / arrival.rate.
    public var timeUnit: Double

    /// The canonical form of `config`. Exact by MODEL.md's rules; every change below
    /// leaves the distribution of every surrogate target unchanged:
    ///
    /// - Times are divided by the mean gap between batches (arrival rate 1).
    /// - Scvs are the ones the simulator realises (an scv in (0, 1) is Erlang-k with
    ///   k = round(1/scv), so 0.4 is 1/3).
    /// - On/off arrivals with onFraction 1 are a Poisson process: renewal, scv 1.
    /// - A batch size that is always 1 (mean 1, whatever the family) is deterministic 1.
    /// - A station with no cold-start delay (coldStart.mean 0): its coldStart.scv is 1
    ///   and keepAlive infinite. Reclaiming an idle instance then only means the next
    ///   invocation starts a new one at no cost, which changes `coldStartFraction` (not
    ///   a surrogate target) but no time: an invocation waits exactly when all
    ///   `servers` instances are busy, with or without reclaiming.
    /// - maxBatch 1: every job is released at once, so timeout is 0.
    /// - Station 1 with timeout 0: each arriving batch is released at once, in
    ///   invocations of maxBatch jobs, and batches never arrive at the same instant
    ///   (inter-batch times are positive). A maxBatch at or above the largest batch
    ///   size therefore acts as the largest batch size.
    ///
    /// Setup is never dropped: it is added to every invocation, also with maxBatch 1.
    /// Nothing is assumed about station 2's arrivals (station-1 completions may
    /// coincide), so its maxBatch is kept. A replayed trace is kept as it is: the
    /// features read only its work mean (its rate and moments are in `interArrival`
    /// and `batch`). Station names and run settings are kept and read by nothing.
    public init(_ config: TandemConfig) {
        let unit = config.interArrival.mean
        var twin = config
        twin.interArrival = MomentSpec(mean: 1, scv: Self.realisedScv(config.interArrival))
        if let onOff = config.onOff {
            if onOff.onFraction >= 1 {
                twin.onOff = nil
                twin.interArrival.scv = 1
            } else {
                twin.onOff = OnOffSpec(onFraction: onOff.onFraction, meanOn: onOff.meanOn / unit)
            }
        }
        if let mmpp = config.mmpp {
            twin.mmpp = mmpp.timeScaled(by: unit)
            // The sources are stored with their multipliers applied (the rate's absorbed
            // by the twin's unit of time): records only, which the twin drops.
            twin.restoreMultipliers(rate: 1)
        }
        if config.batch.mean == 1 { twin.batch = .deterministic(1) }
        for k in twin.stations.indices {
            var station = config.stations[k]
            station.service = MomentSpec(mean: station.service.mean / unit, scv: Self.realisedScv(station.service))
            station.setup /= unit
            station.timeout /= unit
            station.keepAlive /= unit
            if station.coldStart.mean == 0 {
                station.coldStart = MomentSpec(mean: 0, scv: 1)
                station.keepAlive = .infinity
            } else {
                station.coldStart = MomentSpec(mean: station.coldStart.mean / unit, scv: Self.realisedScv(station.coldStart))
            }
            if station.maxBatch == 1 { station.timeout = 0 }
            if k == 0, station.timeout == 0, let largest = twin.batch.largest {
                station.maxBatch = min(station.maxBatch, largest)
            }
            twin.stations[k] = station
        }
        self.config = twin
        timeUnit = unit
    }

    /// 1/k for an scv in (0, 1) (Erlang-k, k = round(1/scv)); other scvs are drawn as
    /// given (0 deterministic, 1 exponential, > 1 balanced hyperexponential).
    static func realisedScv(_ spec: MomentSpec) -> Double {
        spec.scv > 0 && spec.scv < 1 ? 1 / Double(MomentSampler.erlangStages(scv: spec.scv)) : spec.scv
    }

    /// Column names of the twin's input columns as the domain check sees them: a time
    /// in units of the mean gap between batches is named `key*arrival.rate`;
    /// `arrival.rate` itself (always 1) is left out.
    public static func domainNames(stations: Int = 2) -> [String] {
        ConfigColumns.names(stations: stations).compactMap { name in
            name == "arrival.rate" ? nil : isTime(name) ? name + "*arrival.rate" : name
        }
    }

    /// The relative slack of the domain check on twins: a value within it of a range's
    /// nearer end counts as in, which absorbs the rounding of the division by the time
    /// unit.
    static let domainSlack = 1e-9

    /// The station fields whose values are times (seconds).
    static let stationTimeFields: Set<String> = ["service.mean", "setup", "timeout", "coldStart.mean", "keepAlive"]

    /// Whether input column `name` holds a time (seconds): `arrival.meanOn` or a
    /// station's `stations.K.<time field>`, for a chain of any length.
    static func isTime(_ name: String) -> Bool {
        if name == "arrival.meanOn" { return true }
        let parts = name.split(separator: ".", maxSplits: 2)
        return parts.count == 3 && parts[0] == "stations" && Int(parts[1]) != nil
            && stationTimeFields.contains(String(parts[2]))
    }

    /// The twin's input cells by `domainNames` name, without the parameters that have
    /// no effect (keepAlive and coldStart.scv without cold starts, timeout with
    /// maxBatch 1): those are not judged, and a training row where they had no effect
    /// does not widen their range. `batchDist` overrides the distribution's name unless
    /// the batch size is always 1 (a dataset row's own `batch.dist`: an empirical row
    /// is rebuilt as geometric).
    public func domainCells(batchDist: String? = nil) -> [String: String] {
        domainValues(batchDist: batchDist).mapValues(\.description)
    }

    /// `domainCells(batchDist:)` as typed values: what the domain check reads for every
    /// configuration it judges (`duet serve` included), with no number written as text
    /// and parsed back.
    public func domainValues(batchDist: String? = nil) -> [String: ConfigValue] {
        let count = config.stations.count
        let columns = count < Self.domainColumnsByLength.count ? Self.domainColumnsByLength[count]
            : Self.domainColumns(stations: count)
        var values: [String: ConfigValue] = [:]
        values.reserveCapacity(columns.names.count)
        for (name, value) in zip(columns.names, ConfigColumns.values(of: config)) {
            if let name { values[name] = value }
        }
        for (station, names) in zip(config.stations, columns.ineffective) {
            for name in Self.withoutEffect(station, names) { values[name] = nil }
        }
        if let batchDist, config.batch != .deterministic(1) { values["batch.dist"] = .name(batchDist) }
        return values
    }

    /// The domain check's column names, aligned with `ConfigColumns.values(of:)` (nil for
    /// `arrival.rate`, which is not judged), and each station's names of the parameters
    /// that may have no effect.
    struct DomainColumns: Sendable {
        var names: [String?]
        var ineffective: [(keepAlive: String, coldStartScv: String, timeout: String)]
    }

    /// Which of a station's possibly ineffective parameters (their domain names) have
    /// no effect in `station`: keepAlive and coldStart.scv without cold starts, timeout
    /// with maxBatch 1. The domain check does not judge them.
    static func withoutEffect(_ station: StationConfig,
                              _ names: (keepAlive: String, coldStartScv: String, timeout: String)) -> [String] {
        (station.coldStart.mean == 0 ? [names.keepAlive, names.coldStartScv] : [])
            + (station.maxBatch == 1 ? [names.timeout] : [])
    }

    static func domainColumns(stations: Int) -> DomainColumns {
        DomainColumns(
            names: ConfigColumns.names(stations: stations).map { name in
                name == "arrival.rate" ? nil : isTime(name) ? name + "*arrival.rate" : name
            },
            ineffective: (0..<stations).map { k in
                let prefix = "stations.\(k + 1)."
                return (prefix + "keepAlive*arrival.rate", prefix + "coldStart.scv", prefix + "timeout*arrival.rate")
            })
    }

    /// `domainColumns(stations:)` for every chain length a configuration may have, built
    /// once.
    static let domainColumnsByLength = (0...ConfigLoader.stationCounts.upperBound).map { domainColumns(stations: $0) }
}

/// A canonical form with the analytical baseline's (QNA) estimate of its twin, which
/// the features and the analytic target scaling both read: one QNA run per predicted
/// configuration. The domain check reads the form alone and does not pay for it.
public struct EstimatedForm: Sendable {
    public let form: CanonicalForm
    public let analytic: AnalyticEstimate?

    public init(_ config: TandemConfig) {
        form = CanonicalForm(config)
        analytic = QueueingNetworkAnalyzer.estimate(form.config)
    }

    /// The twin (`CanonicalForm.config`).
    public var twin: TandemConfig { form.config }
    public var timeUnit: Double { form.timeUnit }
}

extension BatchSizeSpec {
    /// The largest batch size that can occur, or nil when unbounded (geometric).
    var largest: Int? {
        switch self {
        case .deterministic(let size): return size
        case .geometric(let mean): return mean <= 1 ? 1 : nil
        case .uniform(let mean): return max(1, Int((2 * mean - 1).rounded()))
        case .empirical(let values, let weights): return zip(values, weights).filter { $0.1 > 0 }.map(\.0).max()
        }
    }
}

// What the network sees of a configuration, and what it predicts.
//
// Inputs are dimensionless and log-scaled so that one network covers light and heavy
// traffic, short and long services: since version 3 they are computed on the
// configuration's canonical twin (CanonicalForm: times in units of the mean gap
// between batches, parameters without effect in one canonical value), and the network
// predicts the twin's metrics in that unit. Within the twin, times are taken relative
// to the station's service mean or the mean gap between jobs, and the offered load enters
// also as -log(1 - load), the factor by which queueing blows up near saturation.
// Cold starts, which the baseline below ignores, enter through the chance that an
// instance idles longer than keepAlive between two batches (version 4). Bursts of
// on/off arrivals that outrun a station, which the baseline's mean rates cannot see,
// enter through the backlog a fluid model of the burst builds (version 5). A station
// fed by the train of one batch's jobs, which QNA takes for a trickle at the long-run
// rate, enters through the response of a batch that meets an empty chain
// (`IsolatedBatch`, version 6).
// The analytical baseline (Whitt's QNA, module Analytic) is an input too: the
// network then learns a correction to a textbook estimate rather than the whole
// shape of the response surface, which needs less data for the same error.

import Analytic
import Foundation
import Simulation

public enum SurrogateFeatures {
    /// Bump when the feature definitions change: model files record it.
    /// Version 2 added the on/off arrival features; version 3 computes them on the
    /// configuration's canonical dimensionless twin (`CanonicalForm`), so that the unit
    /// of time and parameters without effect cannot change a prediction. Model files of
    /// versions 1 and 2 still load and predict from their own features
    /// (`vector(_:version:)`). Version 4 adds two features per station on cold starts
    /// (`addedInVersion4`); version-3 model files predict from version 3's. Version 5
    /// adds one per station on on/off bursts (`addedInVersion5`), version 6 one on the
    /// light-traffic walk of a batch (`addedInVersion6`).
    public static let version = 6

    /// The feature versions this build can compute for a model file.
    public static let supportedVersions = 1...version

    /// Features that version 1 did not have.
    static let addedInVersion2 = ["logOnFraction", "logBatchesPerOnPeriod"]

    /// Each station's features up to version 3.
    static let stationFeaturesVersion3 = [
        "logServers", "logServiceMean", "logServiceScv", "logSetupOverService", "logMaxBatch",
        "logTimeoutArrivals", "logColdStartOverService", "coldStartScv", "reclaimRate", "load",
        "logSaturation", "logAnalyticResponseOverService",
    ]

    /// Station features that version 3 did not have, at the end of each station's block.
    static let addedInVersion4 = ["coldGapProbability", "logColdDelayOverAnalytic"]

    /// Station features that version 4 did not have, at the end of each station's block.
    static let addedInVersion5 = ["logBurstWaitOverAnalytic"]

    /// Station features that version 5 did not have, at the end of each station's block.
    static let addedInVersion6 = ["logIsolatedOverAnalytic"]

    /// Each station's features in version 4.
    static let stationFeaturesVersion4 = stationFeaturesVersion3 + addedInVersion4

    /// Each station's features in version 5.
    static let stationFeaturesVersion5 = stationFeaturesVersion4 + addedInVersion5

    /// Each station's features, in the current version.
    static let stationFeatures = stationFeaturesVersion5 + addedInVersion6

    /// Each station's features in `version` (from version 3 on, where chains are laid out
    /// station block by station block). Built once: every prediction asks (`padded`).
    static func stationFeatures(version: Int) -> [String] {
        switch version {
        case 6...: return stationFeatures
        case 5: return stationFeaturesVersion5
        case 4: return stationFeaturesVersion4
        default: return stationFeaturesVersion3
        }
    }

    /// Version 2's feature names for chains of `stations` stations, in network input
    /// order: the configuration-wide ones, then each station's block (`block`, named
    /// `stations.K.` per station).
    static func namesVersion2(stations: Int = 2, block: [String] = stationFeaturesVersion3) -> [String] {
        ["logArrivalRate", "logArrivalScv", "logOnFraction", "logBatchesPerOnPeriod", "logBatchMean", "batchScv",
         "batchDeterministic", "logAnalyticResponseTimesRate"]
        + (1...max(1, stations)).flatMap { k in block.map { "stations.\(k).\($0)" } }
    }

    /// Feature names of a chain of `stations` stations, in network input order (the
    /// current version): version 3's, each station's block ending with `addedInVersion4`.
    public static func names(stations: Int) -> [String] {
        namesVersion3(stations: stations, block: stationFeatures)
    }

    /// Version 3's names: version 2's on the twin, whose arrival rate is always 1 (so
    /// logArrivalRate is left out) and whose service means are in units of the mean gap
    /// between batches (logServiceOverGap). Every other version-2 feature was already
    /// dimensionless.
    static func namesVersion3(stations: Int, block: [String] = stationFeaturesVersion3) -> [String] {
        namesVersion2(stations: stations, block: block).dropFirst().map {
            $0.replacingOccurrences(of: "logServiceMean", with: "logServiceOverGap")
        }
    }

    /// The feature names of the two-station tandem in the current version (version 3's
    /// are the layout of every model file written before chains were learnt).
    public static let names: [String] = names(stations: 2)

    /// Feature names of an older (supported) version. Versions 1 and 2 knew only the
    /// two-station tandem.
    public static func names(version: Int, stations: Int = 2) -> [String] {
        switch version {
        case 6...: return names(stations: stations)
        case 5: return namesVersion3(stations: stations, block: stationFeaturesVersion5)
        case 4: return namesVersion3(stations: stations, block: stationFeaturesVersion4)
        case 3: return namesVersion3(stations: stations)
        case 2: return namesVersion2()
        default: return namesVersion2().filter { !addedInVersion2.contains($0) }
        }
    }

    /// The chain length a list of feature names describes: its highest `stations.K.` block.
    public static func stations(featureNames: [String]) -> Int {
        featureNames.compactMap { name -> Int? in
            let parts = name.split(separator: ".")
            return parts.count == 3 && parts[0] == "stations" ? Int(parts[1]) : nil
        }.max() ?? 0
    }

    /// The feature vector of a configuration (in `names(version:)` order). For
    /// renewal arrivals version 1 is exactly what version-1 builds computed, and
    /// version 2 what version-2 builds computed.
    public static func vector(_ config: TandemConfig, version: Int = version) -> [Double] {
        if version >= 3 { return vector(estimated: EstimatedForm(config), version: version) }
        let all = vector(config)
        guard version < 2 else { return all }
        return zip(namesVersion2(), all).filter { !addedInVersion2.contains($0.0) }.map(\.1)
    }

    /// The feature vector of version 3 or later: version 2's of the twin, without its
    /// arrival rate, from version 4 each station's cold-start features, from version 5
    /// its burst feature and from version 6 its light-traffic walk.
    public static func vector(estimated form: EstimatedForm, version: Int = version) -> [Double] {
        vector(form.twin, analytic: form.analytic, arrivalRate: false, coldStarts: version >= 4, bursts: version >= 5,
               isolated: version >= 6)
    }

    /// How many features describe the chain as a whole (the rest come per station),
    /// from version 3 on: computed once, as `padded` runs for every predicted row and
    /// `names` builds strings.
    static let globalFeatureCount = namesVersion3(stations: 1).count - stationFeaturesVersion3.count

    /// A vector (version 3 or later) of a chain of N stations laid out for chains of
    /// `stations` stations: the N blocks, then for stations N + 1 to `stations` blocks
    /// of zeros, so `load` 0, which no station of a chain has (a station's load is its
    /// arrival rate times its service mean, both positive). The layout of a chain of
    /// one length is that length's (`names(stations:)`), so a model of chains of 1 to K
    /// stations has the feature names of chains of K.
    public static func padded(_ vector: [Double], stations: Int, version: Int = version) -> [Double] {
        let block = stationFeatures(version: version).count
        let have = (vector.count - globalFeatureCount) / block
        precondition(have <= stations, "SurrogateFeatures.padded: \(have) stations do not fit in \(stations)")
        guard have < stations else { return vector }
        return vector + [Double](repeating: 0, count: (stations - have) * block)
    }

    /// Version 2's features (also version 1's, with the on/off ones).
    static func vector(_ config: TandemConfig) -> [Double] {
        vector(config, analytic: QueueingNetworkAnalyzer.estimate(config))
    }

    /// Version 2's features given QNA's estimate of `config` (`analytic`); with
    /// `coldStarts`, each station's block goes on with the features of `addedInVersion4`,
    /// with `bursts` (version 5, which has version 4's too) those of `addedInVersion5`,
    /// and with `isolated` (version 6, which has both) ends with those of `addedInVersion6`.
    /// Without `arrivalRate` the first feature (logArrivalRate) is left out, as from
    /// version 3. Every predicted row runs this: the values go straight into one array
    /// of the right size, with no array per station.
    static func vector(_ config: TandemConfig, analytic: AnalyticEstimate?, arrivalRate: Bool = true,
                       coldStarts: Bool = false, bursts: Bool = false, isolated: Bool = false) -> [Double] {
        let jobRate = config.jobRate
        // On/off arrivals: the scv above says how bursty, these say how the bursts
        // are shaped. The share of time on sets the rate during a burst (rate /
        // onFraction); batches per on period (also the on/off cycle in mean gaps)
        // sets how long a burst lasts against the queue's drain time. Renewal
        // arrivals are 0 in both, as a Poisson source that never switches off.
        let onFraction = config.onOff?.onFraction ?? 1
        let batchesPerOnPeriod = config.onOff.map { config.arrivalRate * $0.meanOn / $0.onFraction } ?? 0
        var values: [Double] = []
        values.reserveCapacity(8 + config.stations.count * stationFeatures.count)
        if arrivalRate { values.append(log(config.arrivalRate)) }
        values.append(log(config.arrivalScv + 0.01))
        values.append(log(onFraction))
        values.append(log1p(batchesPerOnPeriod))
        values.append(log(config.batch.mean))
        values.append(config.batch.scv)
        values.append(config.batch.distName == "deterministic" ? 1 : 0)
        // The baseline's end-to-end response in units of the mean gap between
        // jobs; a large value where the baseline sees overload.
        values.append(log((analytic?.meanResponse ?? 1e3 / jobRate) * jobRate))
        let loads = config.offeredLoads
        // The gaps between arriving batches, as the simulator draws them (on/off
        // arrivals as their exact renewal equivalent), for the cold-start features.
        let gaps = coldStarts ? MomentSampler(interArrivalOf: config) : nil
        let burstWaits = bursts ? fluidBurstWaits(config, loads: loads) : []
        let isolatedResponses = isolated ? IsolatedBatch.stationResponses(config) : []
        for (k, station) in config.stations.enumerated() {
            let service = station.service.mean
            let load = loads[k]
            let analyticResponse = analytic?.stations[k].meanResponse ?? 1e3 * service
            values.append(log(Double(station.servers)))
            values.append(log(service))
            values.append(log(MomentSampler(station.service).realisedScv + 0.01))
            values.append(log1p(station.setup / service))
            values.append(log(Double(station.maxBatch)))
            values.append(log1p(station.timeout * jobRate))
            values.append(log1p(station.coldStart.mean / service))
            values.append(MomentSampler(station.coldStart).realisedScv)
            // How often an idle instance would be reclaimed relative to arrivals:
            // 0 with keepAlive infinite, near 1 when it is short.
            values.append(station.keepAlive.isFinite ? 1 / (1 + station.keepAlive * jobRate / Double(station.servers)) : 0)
            values.append(load)
            values.append(-log(max(1e-6, 1 - load)))
            values.append(log(analyticResponse / service))
            if let gaps {
                // In light traffic an instance serves a batch's jobs and then idles until
                // the next batch: it goes cold when that gap outlasts keepAlive. The chance
                // of such a gap, and the cold start it would add against the baseline's
                // response (which has none), tell the network where cold starts matter.
                let coldGap = coldGapProbability(station, gaps: gaps)
                values.append(coldGap)
                values.append(log1p(coldGap * station.coldStart.mean / analyticResponse))
            }
            if bursts {
                values.append(log1p(burstWaits[k] / analyticResponse))
            }
            if isolated {
                // Where QNA's trickle misses a batch's train: below 0 when the batch
                // passes faster than QNA says, above when it waits behind itself longer.
                values.append(log(isolatedResponses[k] / analyticResponse))
            }
        }
        return values
    }

    /// The chance that a batch arrives after a gap longer than the station's keepAlive
    /// (`gaps`: the gaps between batches, `MomentSampler(interArrivalOf:)`), when an
    /// instance that served the last batch has been reclaimed: 0 with keepAlive infinite.
    static func coldGapProbability(_ station: StationConfig, gaps: MomentSampler) -> Double {
        station.keepAlive.isFinite ? gaps.survival(station.keepAlive) : 0
    }

    /// Each station's delays that QNA leaves out, in `config`'s unit of time: the wait
    /// of an on/off burst that outruns it (`fluidBurstWaits`) plus the cold start a
    /// batch pays after a gap longer than keepAlive (`coldGapProbability` times the cold
    /// start's mean). Rough, light-traffic estimates: `TargetScaling.analyticDelays`
    /// adds them to QNA's responses, and the network learns what they miss.
    /// With `groupsOf` (QNA's estimate of `config`), each station's `groupWaits` too.
    static func unmodelledDelays(_ config: TandemConfig, groupsOf analytic: AnalyticEstimate? = nil) -> [Double] {
        var delays = fluidBurstWaits(config)
        if let analytic {
            for k in delays.indices { delays[k] += groupWait(config, station: k, analytic: analytic) }
        }
        var gaps: MomentSampler?  // only where an instance can go cold and start slowly
        for (k, station) in config.stations.enumerated() where station.keepAlive.isFinite && station.coldStart.mean > 0 {
            if gaps == nil { gaps = MomentSampler(interArrivalOf: config) }
            delays[k] += coldGapProbability(station, gaps: gaps!) * station.coldStart.mean
        }
        return delays
    }

    /// Each station's mean wait, in light traffic, behind the jobs of its own arriving
    /// group, in `config`'s unit of time. A group of X jobs that arrives at once at a
    /// station of c servers and maxBatch K is released as n = floor(X / K) full
    /// invocations (a job alone when K = 1) of setup + K x service each; with every
    /// server free the j-th of them waits for (j - c) of those ahead to finish, c at a
    /// time. Per job that is (setup + K service) / c x K E[sum over j > c of (j - c)] / E[X].
    /// For M^X/G/1 it is exactly what QNA's two moments leave out at every load: their
    /// wait holds only a fraction rho of it. Station 1's groups are the arriving batches;
    /// a later station's are the invocations of the station before it (QNA's
    /// `meanBatchSize`), whose jobs complete together.
    static func groupWaits(_ config: TandemConfig, analytic: AnalyticEstimate) -> [Double] {
        config.stations.indices.map { k in groupWait(config, station: k, analytic: analytic) }
    }

    /// `groupWaits` of station `k` (0-based).
    static func groupWait(_ config: TandemConfig, station k: Int, analytic: AnalyticEstimate) -> Double {
        let station = config.stations[k]
        let group = k == 0 ? GroupSizes(config.batch) : GroupSizes(fixedMean: analytic.stations[k - 1].meanBatchSize)
        let invocation = station.setup + Double(station.maxBatch) * station.service.mean
        let pairs = group.excessPairs(maxBatch: station.maxBatch, servers: station.servers)
        return invocation / Double(station.servers) * Double(station.maxBatch) * pairs / group.mean
    }

    /// Each station's mean wait in a fluid model of on/off bursts (0 for renewal
    /// arrivals), in `config`'s unit of time. While the source is on, work arrives at
    /// 1 / onFraction times the long-run rate; a station whose load at that rate
    /// exceeds 1 builds a backlog that grows linearly through the on period, and a job
    /// arriving a time t into it waits (load during the burst - 1) t. On periods are
    /// exponential, so the on period a job arrives in has lasted meanOn on average:
    /// the wait is (load during the burst - 1) meanOn. A stable station drains the
    /// backlog before the next burst (the fluid backlog outlasts the off period only at
    /// a long-run load of 1). The station passes work on at its capacity at most: the
    /// next station sees a burst of a lower rate that lasts longer (the same work).
    /// `loads` are `config.offeredLoads`, when the caller has them already.
    static func fluidBurstWaits(_ config: TandemConfig, loads: [Double]? = nil) -> [Double] {
        guard let onOff = config.onOff, onOff.onFraction < 1 else {
            return [Double](repeating: 0, count: config.stations.count)
        }
        let loads = loads ?? config.offeredLoads
        var rateMultiplier = 1 / onOff.onFraction  // the burst's rate over the long-run rate
        var burstLength = onOff.meanOn
        return loads.map { load in
            let burstLoad = rateMultiplier * load
            let wait = max(0, burstLoad - 1) * burstLength
            if burstLoad > 1 {
                // Passed on at capacity (rate multiplier 1 / load): the same work, longer.
                burstLength *= burstLoad
                rateMultiplier = 1 / load
            }
            return wait
        }
    }
}

/// The metrics the surrogate predicts. All are positive, so they are learnt as logs.
public enum SurrogateTargets {
    /// End-to-end metrics every model predicts.
    static let systemNames = ["meanResponse", "p50Response", "p95Response", "p99Response"]
    /// Metrics predicted for every station of the chain.
    static let stationNames = ["meanResponse", "instanceSecondsPerJob"]

    /// The targets of a chain of `stations` stations: the end-to-end ones, then each
    /// station's response, then each station's instance-seconds per job.
    public static func names(stations: Int) -> [String] {
        stations < namesByLength.count ? namesByLength[stations] : makeNames(stations: stations)
    }

    private static func makeNames(stations: Int) -> [String] {
        systemNames + stationNames.flatMap { metric in (1...max(1, stations)).map { "stations.\($0).\(metric)" } }
    }

    /// `names(stations:)` for every chain length a configuration may have, built once:
    /// every prediction reads them.
    private static let namesByLength = (0...ConfigLoader.stationCounts.upperBound).map { makeNames(stations: $0) }

    /// A target name taken apart: a station's metric (`stations.2.meanResponse`: 2,
    /// `meanResponse`) or an end-to-end one (`station` nil).
    struct Parsed: Sendable {
        let station: Int?
        let metric: String
        /// `timePower[metric]`, looked up once here rather than on every prediction.
        let timePower: Int?
        /// The end-to-end response or one of its percentiles.
        let isEndToEndResponse: Bool
        /// A station's mean response.
        let isStationResponse: Bool
        /// The metric as QNA's estimate names it (nil: one it does not estimate).
        let analytic: AnalyticMetric?

        init(_ name: String) {
            let parts = name.split(separator: ".")
            if parts.count == 3, parts[0] == "stations", let k = Int(parts[1]) {
                station = k
                metric = String(parts[2])
            } else {
                station = nil
                metric = name
            }
            timePower = SurrogateTargets.timePower[metric]
            isEndToEndResponse = station == nil && metric.hasSuffix("Response")
            isStationResponse = station != nil && metric == "meanResponse"
            analytic = AnalyticMetric(rawValue: metric)
        }
    }

    /// `names` taken apart, from a table built once when they are a chain's own
    /// targets (`names(stations:)`).
    static func parsed(_ names: [String]) -> [Parsed] {
        let k = (names.count - systemNames.count) / stationNames.count
        if (0..<namesByLength.count).contains(k), names == namesByLength[k] { return parsedByLength[k] }
        return names.map(Parsed.init)
    }

    /// `names(stations:)` taken apart, without comparing names: every prediction reads them.
    static func parsed(stations: Int) -> [Parsed] {
        stations < parsedByLength.count ? parsedByLength[stations] : names(stations: stations).map(Parsed.init)
    }

    private static let parsedByLength = namesByLength.map { $0.map(Parsed.init) }

    /// Each chain length's target names by position (`index(of:stations:)`).
    private static let indexByLength = namesByLength.map { names in
        Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    }

    /// The targets of the two-station tandem.
    public static let names = names(stations: 2)

    /// The index of target `name` in `names(stations:)` of a chain of `stations`
    /// stations, nil when that chain has no such target (a station beyond its length).
    public static func index(of name: String, stations: Int) -> Int? {
        // A chain's own target names from a table: training and evaluation ask for every
        // target of every row.
        if stations >= 1, stations < indexByLength.count, let index = indexByLength[stations][name] { return index }
        if let system = systemNames.firstIndex(of: name) { return system }
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[0] == "stations", let k = Int(parts[1]), (1...stations).contains(k),
              let metric = stationNames.firstIndex(of: String(parts[2])) else { return nil }
        return systemNames.count + metric * stations + k - 1
    }

    /// The chain length whose targets are `names` (`names(stations:)`).
    static func stations(targetNames names: [String]) -> Int {
        (names.count - systemNames.count) / stationNames.count
    }

    /// Values laid out for chains of `from` stations (`padded`), cut to those of a chain
    /// of `to` <= `from` stations, in its `names(stations:)` order.
    public static func selected(_ values: [Double], from: Int, to: Int) -> [Double] {
        guard from != to else { return values }
        return names(stations: to).map { values[index(of: $0, stations: from)!] }
    }

    /// Values of a chain of `from` stations (in its `names(stations:)` order) laid out
    /// for chains of `to` stations: the targets of stations beyond `from` are `fill`.
    public static func padded(_ values: [Double], from: Int, to: Int, fill: Double) -> [Double] {
        guard from != to else { return values }
        return names(stations: to).map { index(of: $0, stations: from).map { values[$0] } ?? fill }
    }

    /// How a target scales when every time of a configuration is multiplied by c: by
    /// c to this power. Responses and their percentiles are seconds (end to end, or at
    /// one station); instance-seconds per job are busy seconds over a count of jobs.
    static let timePower: [String: Int] = [
        "meanResponse": 1, "p50Response": 1, "p95Response": 1, "p99Response": 1, "instanceSecondsPerJob": 1,
    ]

    /// The power of time of target `name` (every surrogate target has one); a
    /// station's metric `stations.K.metric` scales as `metric`.
    static func power(_ name: String) -> Int { power(Parsed(name)) }

    static func power(_ target: Parsed) -> Int {
        guard let power = target.timePower else {
            preconditionFailure("SurrogateTargets: no time power for \(target.metric)")
        }
        return power
    }

    /// Metric values (in `names` order) in units of `timeUnit` seconds.
    public static func dimensionless(_ values: [Double], names: [String] = names, timeUnit: Double) -> [Double] {
        zip(parsed(names), values).map { target, value in value / unitPower(timeUnit, power(target)) }
    }

    /// Metric values in seconds from values in units of `timeUnit` seconds.
    public static func dimensional(_ values: [Double], names: [String] = names, timeUnit: Double) -> [Double] {
        var values = values
        makeDimensional(&values, targets: parsed(names), timeUnit: timeUnit)
        return values
    }

    /// `dimensional` in place, for `targets` (`parsed`).
    static func makeDimensional(_ values: inout [Double], targets: [Parsed], timeUnit: Double) {
        for j in values.indices { values[j] *= unitPower(timeUnit, power(targets[j])) }
    }

    /// `pow(unit, power)`, without libm's call for the power every target has today
    /// (1, where pow is exact: the same value).
    @inline(__always)
    private static func unitPower(_ unit: Double, _ power: Int) -> Double {
        power == 1 ? unit : pow(unit, Double(power))
    }
}

/// The sizes of groups of jobs that reach a station at one instant (`groupWaits`):
/// arriving batches, or an upstream station's invocations of a (possibly fractional)
/// mean size, taken as the two whole sizes around it.
struct GroupSizes {
    let batch: BatchSizeSpec
    let mean: Double
    /// An upstream station's invocations (`init(fixedMean:)`) of two sizes, `low` and
    /// `low + 1`, the larger with probability `share`: kept as two numbers rather than
    /// an empirical spec, whose arrays each predicted row would allocate.
    private let twoSizes: (low: Int, share: Double)?

    init(_ batch: BatchSizeSpec) {
        self.batch = batch
        mean = batch.mean
        twoSizes = nil
    }

    init(fixedMean: Double) {
        let low = max(1, fixedMean.rounded(.down)), share = fixedMean - low  // of the larger size
        batch = .deterministic(Int(low))
        twoSizes = share > 1e-9 ? (Int(low), share) : nil
        mean = max(1, fixedMean)
    }

    /// E[sum over m > c of (m - c) P(n >= m)] with n = floor(X / K): the sum, over a
    /// group's invocations beyond the first c, of how many of them wait behind others.
    func excessPairs(maxBatch k: Int, servers c: Int) -> Double {
        func pairs(_ size: Int) -> Double {
            let beyond = Double(max(0, size / k - c))
            return beyond * (beyond + 1) / 2
        }
        if let (low, share) = twoSizes {
            // The empirical case's sum and total, term by term in the same order.
            return (pairs(low) * (1 - share) + pairs(low + 1) * share) / ((1 - share) + share)
        }
        switch batch {
        case .deterministic(let size):
            return pairs(size)
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            return zip(values, weights).reduce(0) { $0 + pairs($1.0) * $1.1 } / total
        case .uniform:
            // Equally likely sizes 1 ... upper, as the simulator draws them.
            let upper = batch.largest ?? 1
            return (1...upper).reduce(0) { $0 + pairs($1) } / Double(upper)
        case .geometric:
            // P(X >= x) = q^(x - 1), q = 1 - 1 / mean: the sum over i >= 1 of
            // i q^((c + i) K - 1) is q^(c K - 1) r / (1 - r)^2 with r = q^K.
            guard mean > 1 else { return pairs(1) }
            let q = 1 - 1 / mean, r = pow(q, Double(k))
            return pow(q, Double(c * k - 1)) * r / ((1 - r) * (1 - r))
        }
    }
}

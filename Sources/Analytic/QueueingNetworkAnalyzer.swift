// The analytical baseline: a textbook two-moment decomposition of the chain.
//
// Each station is reduced to a GI/G/c queue of invocations, described by the rate
// and squared coefficient of variation (scv) of its arrivals and of its service,
// and stations are linked through the scv of departures along the whole chain
// (station k's departure scv is station k + 1's arrival scv), as in Whitt's
// Queueing Network Analyzer:
//   - W. Whitt, "The Queueing Network Analyzer", Bell System Technical Journal
//     62(9), 1983: the linking equation for departures,
//     c_d^2 = 1 + (1 - rho^2)(c_a^2 - 1) + rho^2 (c_s^2 - 1) / sqrt(c).
//   - The Allen-Cunneen approximation for GI/G/c waiting time (A. O. Allen,
//     Probability, Statistics and Queueing Theory, 2nd ed., 1990):
//     Wq = ErlangC(c, a) E[S] / (c - a) x (c_a^2 + c_s^2) / 2,
//     which is Kingman's formula for c = 1 and exact for M/M/c.
//   - Batch (group) arrivals folded into the first two moments of the job stream
//     by the asymptotic method: a renewal stream of groups with scv c_g^2 whose
//     sizes have mean g and scv c_G^2 has index of dispersion g (c_g^2 + c_G^2).
// Invocation batching is folded in crudely: an invocation gathers the jobs that
// arrive within `timeout` of its first job, up to `maxBatch`. Cold starts are
// ignored (instances are assumed warm). It is a baseline, not a model: Duet's
// surrogate is meant to beat it on batch tandems, and `duet evaluate` shows both.

import Foundation
import Simulation

/// What the baseline predicts for one station.
public struct AnalyticStation: Sendable, Equatable {
    public var meanResponse: Double
    public var meanBufferWait: Double
    public var meanQueueWait: Double
    public var utilization: Double
    public var meanBatchSize: Double
    public var instanceSecondsPerJob: Double
}

/// The metrics the baseline estimates, by their names in `MetricCatalog`: end to end
/// (response, throughput, jobs in system) or at a station (response, waits,
/// utilization, batch size, instance-seconds per job).
public enum AnalyticMetric: String, Sendable {
    case meanResponse, throughput, meanJobsInSystem
    case meanBufferWait, meanQueueWait, utilization, meanBatchSize, instanceSecondsPerJob
}

/// What the baseline predicts for the chain (means only: no percentiles).
public struct AnalyticEstimate: Sendable, Equatable {
    public var meanResponse: Double
    public var throughput: Double
    public var meanJobsInSystem: Double
    public var stations: [AnalyticStation]

    /// The value of a metric by its flat name (`stations.2.meanQueueWait`), or nil
    /// for metrics the baseline does not estimate (percentiles, cold starts).
    public func value(_ name: String) -> Double? {
        if let (metric, station) = Self.parsedNames[name] { return metric.flatMap { value($0, station: station) } }
        let parts = name.split(separator: ".")
        if parts.count == 3, parts[0] == "stations" {
            guard let k = Int(parts[1]) else { return nil }
            return value(String(parts[2]), station: k)
        }
        return value(name, station: nil)
    }

    /// The metric names of chains of every length a configuration may have, taken apart
    /// once: evaluation asks for each target of each row by name.
    private static let parsedNames: [String: (metric: AnalyticMetric?, station: Int?)] = {
        var parsed: [String: (metric: AnalyticMetric?, station: Int?)] = [:]
        for name in MetricCatalog.systemMetrics { parsed[name] = (AnalyticMetric(rawValue: name), nil) }
        for station in 1...ConfigLoader.stationCounts.upperBound {
            for metric in MetricCatalog.stationMetrics {
                parsed["stations.\(station).\(metric)"] = (AnalyticMetric(rawValue: metric), station)
            }
        }
        return parsed
    }()

    /// The value of `metric` at 1-based `station`, or end to end for a nil station; nil
    /// for metrics the baseline does not estimate.
    public func value(_ metric: String, station k: Int?) -> Double? {
        AnalyticMetric(rawValue: metric).flatMap { value($0, station: k) }
    }

    /// `value(_:station:)` for a metric already looked up (a model's targets, parsed once).
    public func value(_ metric: AnalyticMetric, station k: Int?) -> Double? {
        guard let k else {
            switch metric {
            case .meanResponse: return meanResponse
            case .throughput: return throughput
            case .meanJobsInSystem: return meanJobsInSystem
            default: return nil
            }
        }
        guard (1...stations.count).contains(k) else { return nil }
        let station = stations[k - 1]
        switch metric {
        case .meanResponse: return station.meanResponse
        case .meanBufferWait: return station.meanBufferWait
        case .meanQueueWait: return station.meanQueueWait
        case .utilization: return station.utilization
        case .meanBatchSize: return station.meanBatchSize
        case .instanceSecondsPerJob: return station.instanceSecondsPerJob
        case .throughput, .meanJobsInSystem: return nil
        }
    }
}

public enum QueueingNetworkAnalyzer {
    /// The baseline's estimate for a chain of any length, or nil when a station's
    /// approximate load is 1 or more. Station k's departures, as a stream of groups
    /// (one per invocation), are station k + 1's arrivals.
    public static func estimate(_ config: TandemConfig) -> AnalyticEstimate? {
        guard let walked = walk(config) else { return nil }
        let stations = walked.map(\.station)
        let response = stations.reduce(0) { $0 + $1.meanResponse }
        return AnalyticEstimate(meanResponse: response, throughput: config.jobRate,
                                meanJobsInSystem: config.jobRate * response, stations: stations)
    }

    /// The stream reaching each station of the chain as the baseline sees it (station
    /// 1's is the chain's own arrivals), or nil when a station's approximate load is 1
    /// or more.
    public static func stationInputs(_ config: TandemConfig) -> [GroupStream]? {
        walk(config)?.map(\.input)
    }

    /// Each station's input stream and estimate, down the chain: station k's
    /// departures, as a stream of groups (one per invocation), are station k + 1's
    /// arrivals. Nil when a station's approximate load is 1 or more.
    static func walk(_ config: TandemConfig) -> [(input: GroupStream, station: AnalyticStation)]? {
        // Station 1's input: groups (arriving batches) at the batch rate.
        // On/off arrivals are a renewal (H2) process, so QNA's two moments apply as to
        // any renewal stream: the long-run rate and the true inter-arrival scv.
        var input = GroupStream(rate: config.arrivalRate, scv: config.arrivalScv,
                                groupMean: config.batch.mean, groupScv: config.batch.scv)
        var walked: [(input: GroupStream, station: AnalyticStation)] = []
        for station in config.stations {
            guard let (result, output) = analyze(station, input: input, jobRate: config.jobRate) else { return nil }
            walked.append((input, result))
            input = output
        }
        return walked
    }

    /// A renewal stream of groups of simultaneous jobs: groups arrive at `rate` per
    /// second with inter-arrival scv `scv`, and hold `groupMean` jobs with scv `groupScv`.
    public struct GroupStream: Sendable, Equatable {
        public var rate: Double
        public var scv: Double
        public var groupMean: Double
        public var groupScv: Double

        /// Index of dispersion of the job counting process (asymptotic method).
        var jobScv: Double { groupMean * (scv + groupScv) }
    }

    static func analyze(_ station: StationConfig, input: GroupStream, jobRate lambda: Double)
        -> (AnalyticStation, GroupStream)?
    {
        let k = Double(station.maxBatch)
        let s = station.service.mean
        let serviceScv = MomentSampler(station.service).realisedScv
        // Invocation size: the first group plus the jobs arriving within the
        // timeout, capped at maxBatch (K = 1: every job alone).
        let batchSize: Double
        let bufferWait: Double
        if station.maxBatch == 1 {
            batchSize = 1
            bufferWait = 0
        } else {
            let fillTime = min(station.timeout, max(0, (k - input.groupMean) / lambda))
            let gathered = input.groupMean + lambda * fillTime
            batchSize = max(1, min(k, gathered))
            // Jobs arrive uniformly over the fill time; the first group waits all of it.
            bufferWait = gathered > 0 ? fillTime * (input.groupMean + lambda * fillTime / 2) / gathered : 0
        }
        // Invocations: rate, arrival scv (aggregating b arrivals smooths the stream).
        let invocationRate = lambda / batchSize
        let arrivalScv = station.maxBatch == 1 ? input.jobScv : input.jobScv / batchSize
        let serviceMean = station.setup + batchSize * s
        let serviceVariance = batchSize * s * s * serviceScv
        let invocationServiceScv = serviceVariance / (serviceMean * serviceMean)
        let servers = Double(station.servers)
        let offered = invocationRate * serviceMean
        let rho = offered / servers
        guard rho < 1 else { return nil }
        let queueWait = erlangC(servers: station.servers, offered: offered) * serviceMean / (servers - offered)
            * (arrivalScv + invocationServiceScv) / 2
        let departureScv = 1 + (1 - rho * rho) * (arrivalScv - 1)
            + rho * rho * (invocationServiceScv - 1) / servers.squareRoot()
        let result = AnalyticStation(
            meanResponse: bufferWait + queueWait + serviceMean, meanBufferWait: bufferWait, meanQueueWait: queueWait,
            utilization: rho, meanBatchSize: batchSize, instanceSecondsPerJob: serviceMean / batchSize)
        // Jobs leave in groups of one invocation.
        let output = GroupStream(rate: invocationRate, scv: max(0, departureScv), groupMean: batchSize, groupScv: 0)
        return (result, output)
    }

    /// Erlang's C formula: the probability of waiting in M/M/c with offered load a
    /// (in servers), by the numerically stable Erlang B recursion.
    public static func erlangC(servers c: Int, offered a: Double) -> Double {
        var erlangB = 1.0
        for n in 1...max(1, c) { erlangB = a * erlangB / (Double(n) + a * erlangB) }
        let rho = a / Double(c)
        return erlangB / (1 - rho + rho * erlangB)
    }
}

// Where to simulate next (issue #16: spend simulation where the surrogate needs it).
// A sweep's Sobol (or random) design continues past its own points; of the next
// `pool` of them, the `add` where an ensemble's members disagree most on the mean
// response are simulated. A point keeps its index, so its row (configuration and
// simulation seed) is the one the continued sweep would write for it: an adaptive
// file and a plain sweep of the same spec can be trained on together. With the
// expected cost of each point (`PointCost`), the ranking is by disagreement per
// simulated job: the squared spread (a variance the point's row would remove) over
// the jobs it is expected to take.

import Simulation
import Surrogate

/// The chosen points of one adaptive step.
public struct AdaptiveChoice: Sendable, Equatable {
    /// Design indices to simulate, ascending: all in `first..<(first + pool)`.
    public var indices: [Int]
    /// The first index considered (the points before it are the sweep's own).
    public var first: Int
    /// Points considered; those that cannot be realised are left out and counted.
    public var considered: Int
    public var leftOut: Int
    /// The smallest spread among the chosen and the median spread of the pool
    /// (learnt units: the members' standard deviation of the log target).
    public var chosenMinimumSpread: Double
    public var poolMedianSpread: Double
    /// With costs: the chosen points' expected jobs, summed, and what as many points of
    /// the pool would take at its mean (nil without costs).
    public var chosenExpectedJobs: Double?
    public var poolExpectedJobs: Double?
}

public struct AdaptiveDesignError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

public enum AdaptiveDesign {
    /// The target whose members' spread ranks the points.
    public static let target = "meanResponse"

    /// Of the points `first..<(first + pool)` of `spec`'s design continued, the `add`
    /// where `model`'s members disagree most on `target`; with `costs`, the `add` of
    /// the largest squared spread per expected simulated job.
    public static func choose(spec: SweepSpec, model: SurrogateModel, first: Int, pool: Int, add: Int,
                              costs: PointCost? = nil) throws -> AdaptiveChoice
    {
        guard spec.design.method != .lhs else {
            throw AdaptiveDesignError(description: "a Latin hypercube does not continue past its points; "
                                          + "use design.method sobol or random for adaptive points")
        }
        guard model.predictor.memberCount > 1 else {
            throw AdaptiveDesignError(description: "the model is one network; adaptive points need an ensemble's "
                                          + "disagreement (duet train --ensemble 5)")
        }
        guard !model.composesStations, model.stationRange.contains(spec.base.stations.count) else {
            throw AdaptiveDesignError(description: "the model predicts chains of \(model.stationRange) stations "
                                          + "station by station or of another length; the spec has \(spec.base.stations.count)")
        }
        guard let column = model.targetNames.firstIndex(of: target) else {
            throw AdaptiveDesignError(description: "the model does not predict \(target)")
        }
        guard pool >= add, add >= 1 else {
            throw AdaptiveDesignError(description: "the pool (\(pool)) must hold at least the points to add (\(add) >= 1)")
        }
        let design = try spec.makeDesign(points: first + pool)
        var indices: [Int] = []
        var configs: [TandemConfig] = []
        var expectedJobs: [Double] = []
        for index in first..<(first + pool) {
            let coordinates = design.point(index)
            let point = spec.point(index, coordinates: coordinates)
            guard point.problem == nil else { continue }
            indices.append(index)
            configs.append(point.config)
            if let costs { expectedJobs.append(costs.expectedJobs(at: coordinates)) }
        }
        let spreads = model.predictWithSpread(configs).map { $0.spread?[column] ?? 0 }
        let scores = costs == nil ? spreads : zip(spreads, expectedJobs).map { $0 * $0 / $1 }
        let chosen = largest(scores, count: add)
        let sortedSpreads = spreads.sorted()
        let poolMean = expectedJobs.isEmpty ? 0 : expectedJobs.reduce(0, +) / Double(expectedJobs.count)
        return AdaptiveChoice(
            indices: chosen.map { indices[$0] }, first: first, considered: pool, leftOut: pool - indices.count,
            chosenMinimumSpread: chosen.map { spreads[$0] }.min() ?? 0,
            poolMedianSpread: sortedSpreads.isEmpty ? 0 : sortedSpreads[sortedSpreads.count / 2],
            chosenExpectedJobs: costs == nil ? nil : chosen.map { expectedJobs[$0] }.reduce(0, +),
            poolExpectedJobs: costs == nil ? nil : poolMean * Double(chosen.count))
    }

    /// Positions of the `count` largest values, ascending; of equal values the earlier
    /// positions, so that the choice does not depend on how sorting breaks ties.
    static func largest(_ values: [Double], count: Int) -> [Int] {
        let ranked = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        return ranked.prefix(count).sorted()
    }
}

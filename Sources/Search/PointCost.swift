// What a design point will cost to simulate, learnt from the points of the same
// design already simulated (issue #16: weigh an adaptive point's worth against its
// cost). A sweep with a precision target spends far more jobs on a point that
// reaches `maxJobs` than on one that meets the target at once (25 times in the
// quickstart pipeline's sweep), and which is which
// follows mostly from a few of the design's coordinates (the loads, the batch size).
// So the estimate is the geometric mean of the jobs of the nearest simulated points
// in the design's unit cube, each coordinate weighted by how strongly it goes with
// the cost: no model of the simulator, and nothing a spec must say.

import Foundation
import Simulation

public struct PointCostError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Expected simulated jobs at a point of one sweep's design.
public struct PointCost: Sendable {
    /// Nearest neighbours averaged.
    public static let neighbours = 8

    /// The known points: design coordinates and log(jobs).
    let coordinates: [[Double]]
    let logJobs: [Double]
    /// Per coordinate, |Pearson correlation| between it and log(jobs) over the known
    /// points: the weight of its squared difference in the distance.
    public let weights: [Double]

    /// Learns from `points` (design index, jobs simulated over every replication) of
    /// `design`; points that simulated nothing (not realisable) are left out.
    public init(design: Design, points: [(index: Int, jobs: Double)]) throws {
        let known = points.filter { $0.jobs > 0 }
        guard known.count > Self.neighbours else {
            throw PointCostError(description: "\(known.count) simulated points; the cost of a point is learnt from "
                                     + "at least \(Self.neighbours + 1)")
        }
        let coordinates = known.map { design.point($0.index) }, logJobs = known.map { log($0.jobs) }
        self.coordinates = coordinates
        self.logJobs = logJobs
        weights = (0..<design.dimensions).map { dimension in
            abs(Self.correlation(coordinates.map { $0[dimension] }, logJobs))
        }
    }

    /// The rows of a dataset that `spec`'s sweep wrote (its `point`, `seed` and `jobs`
    /// columns), checked to be points of this spec's design: each row's seed must be
    /// the one the design gives its point.
    public init(spec: SweepSpec, dataset path: String) throws {
        guard spec.design.method != .lhs else {
            throw PointCostError(description: "a Latin hypercube's points depend on their count; costs are learnt "
                                     + "on a design that continues (sobol or random)")
        }
        let table = try DatasetTable.read(path: path)
        try table.requireColumns(["point", "seed", "jobs"])
        var points: [(index: Int, jobs: Double)] = []
        for row in table.rows {
            let index = try row.int("point")
            guard index >= 0 else {
                throw DataFileError(source: path, row: row.number, column: "point",
                                    message: "expected a design index >= 0, got \(index)")
            }
            let seed = try row.string("seed")
            let expected = SweepSpec.pointSeed(designSeed: spec.design.seed, index: index)
            guard seed == String(expected) else {
                throw DataFileError(source: path, row: row.number, column: "seed",
                                    message: "point \(index) was simulated with seed \(seed), but this spec's "
                                        + "design gives it \(expected): the costs must come from this spec's own "
                                        + "sweep (the same design seed)")
            }
            points.append((index, try row.double("jobs")))
        }
        // Sobol and random designs give the same first points at every count.
        let design = try spec.makeDesign(points: max(spec.design.points, (points.map(\.index).max() ?? 0) + 1))
        do {
            try self.init(design: design, points: points)
        } catch let error as PointCostError {
            throw PointCostError(description: "\(path): \(error.description)")
        }
    }

    /// The expected jobs at a point with these design coordinates: the geometric mean
    /// of the `neighbours` nearest known points' jobs.
    public func expectedJobs(at point: [Double]) -> Double {
        precondition(point.count == weights.count, "PointCost: \(point.count) coordinates, the design has \(weights.count)")
        // The k smallest distances, kept sorted (k is small: insertion beats a heap).
        var nearest: [(distance: Double, logJobs: Double)] = []
        nearest.reserveCapacity(Self.neighbours + 1)
        for (known, value) in zip(coordinates, logJobs) {
            var distance = 0.0
            for d in 0..<point.count {
                let difference = point[d] - known[d]
                distance += weights[d] * difference * difference
            }
            if nearest.count == Self.neighbours, distance >= nearest[nearest.count - 1].distance { continue }
            let position = nearest.firstIndex { distance < $0.distance } ?? nearest.count
            nearest.insert((distance, value), at: position)
            if nearest.count > Self.neighbours { nearest.removeLast() }
        }
        return exp(nearest.map(\.logJobs).reduce(0, +) / Double(nearest.count))
    }

    /// Pearson's correlation; 0 when either side does not vary.
    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return 0 }
        return sxy / (sxx * syy).squareRoot()
    }
}

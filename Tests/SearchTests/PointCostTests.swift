// The cost of a design point learnt from simulated ones (`PointCost`): it follows the
// coordinate the cost depends on and ignores the one it does not, and it refuses
// rows that are not the spec's own points.

import Foundation
import Testing

@testable import Search

@Suite("Point cost")
struct PointCostTests {
    /// Jobs that grow as exp(10 u0) along the first coordinate and ignore the second.
    static func known(_ design: Design, count: Int) -> [(index: Int, jobs: Double)] {
        (0..<count).map { ($0, exp(10 * design.point($0)[0])) }
    }

    @Test("the expected jobs follow the coordinate that sets the cost, whatever the other one")
    func followsTheCost() throws {
        let design = try Design(method: .sobol, dimensions: 2, points: 256, seed: 3)
        let cost = try PointCost(design: design, points: Self.known(design, count: 128))
        // The weights are |correlation| with log(jobs): 1 for u0, near 0 for u1.
        #expect(cost.weights[0] > 0.99)
        #expect(cost.weights[1] < 0.2)
        // At u0 = 0.3 and 0.8, whatever u1: log(jobs) 3 and 8, within the neighbours' reach
        // along u0 (8 of 128 points: about +-0.03, so +-0.3 in log(jobs), mostly cancelling).
        for u0 in [0.3, 0.8] {
            for u1 in [0.05, 0.5, 0.95] {
                let expected = cost.expectedJobs(at: [u0, u1])
                #expect(abs(log(expected) - 10 * u0) < 0.3, "u0 \(u0), u1 \(u1): \(expected)")
            }
        }
        // Unrealisable points (no jobs) teach nothing: the same estimate without them.
        let withEmpty = try PointCost(design: design, points: Self.known(design, count: 128) + [(200, 0), (201, 0)])
        #expect(withEmpty.expectedJobs(at: [0.3, 0.5]) == cost.expectedJobs(at: [0.3, 0.5]))
    }

    @Test("fewer simulated points than neighbours plus one are refused, saying how many it needs")
    func tooFew() throws {
        let design = try Design(method: .sobol, dimensions: 2, points: 16, seed: 1)
        #expect(throws: PointCostError.self) {
            try PointCost(design: design, points: Self.known(design, count: PointCost.neighbours))
        }
        let error = #expect(throws: PointCostError.self) {
            try PointCost(design: design, points: Self.known(design, count: 3) + [(3, 0), (4, 0)])
        }
        #expect(error?.description == "3 simulated points; the cost of a point is learnt from at least \(PointCost.neighbours + 1)")
        _ = try PointCost(design: design, points: Self.known(design, count: PointCost.neighbours + 1))
    }
}

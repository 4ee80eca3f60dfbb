// The index of dispersion for counts (what `duet fit-trace` prints scale by scale):
// hand-counted windows, and the closed forms of compound Poisson and renewal streams.

import Testing
@testable import Simulation

@Suite("Index of dispersion for counts")
struct CountDispersionTests {
    @Test("Hand-counted windows: counts 3, 1, 0, 3 three times over give var/mean 20.25/11/1.75")
    func handCounted() throws {
        // Batches (time, jobs) in each 4 s block: (0.2, 1), (0.7, 2), (1.5, 1), (3.1, 3):
        // windows of 1 s count 3, 1, 0, 3; over 12 s the mean is 1.75, the squared
        // deviations sum to 3 x (1.5625 + 0.5625 + 3.0625 + 1.5625) = 20.25, so the
        // sample variance is 20.25 / 11 and the index 20.25 / 11 / 1.75 = 1.0519.
        let block: [(time: Double, jobs: Int)] = [(0.2, 1), (0.7, 2), (1.5, 1), (3.1, 3)]
        let batches = (0..<3).flatMap { k in block.map { (time: $0.time + 4 * Double(k), jobs: $0.jobs) } }
        let curve = DispersionCurve(batches: batches, end: 12, scales: [1, 4])
        let atOne = try #require(curve.values[0])
        #expect(abs(atOne - 20.25 / 11 / 1.75) < 1e-12)
        // Windows of 4 s each count 7: no variance, but only 3 windows, too few to say.
        #expect(curve.values[1] == nil)
    }

    @Test("A long empty stretch counts as many empty windows: 1, 98 x 0, 1 gives 1.96/99/0.02")
    func emptyWindowsMerge() throws {
        // Windows of 1 s over 100 s: jobs at 0.5 s and 99.5 s. Mean 0.02; squared
        // deviations 2 x 0.98^2 + 98 x 0.02^2 = 1.96; variance 1.96 / 99.
        let curve = DispersionCurve(batches: [(time: 0.5, jobs: 1), (time: 99.5, jobs: 1)], end: 100, scales: [1])
        let value = try #require(curve.values[0])
        #expect(abs(value - 1.96 / 99 / 0.02) < 1e-12)
    }

    @Test("A partial last window is dropped: 10.5 s at 1 s widths is 10 windows")
    func partialWindowDropped() throws {
        // One job per second at 0, 1, ..., 10: windows [0,1) ... [9,10) count 1 each
        // (variance 0); the job at 10 falls in the partial window [10, 10.5).
        let batches = (0...10).map { (time: Double($0), jobs: 1) }
        let curve = DispersionCurve(batches: batches, end: 10.5, scales: [1])
        #expect(curve.values[0] == 0)
    }

    @Test("Compound Poisson: var/mean = E[B^2]/E[B] = 2m - 1 = 7 for geometric batches of mean 4, at every scale")
    func compoundPoisson() throws {
        let config = TandemConfig(arrivalRate: 2, arrivalScv: 1, batch: .geometric(mean: 4), stations: [])
        let curve = DispersionCurve(arrivalsOf: config, horizon: 200_000, seed: 7, scales: [0.1, 1, 10])
        for (scale, value) in zip(curve.scales, curve.values) {
            let index = try #require(value)
            // At least 20,000 windows each: the estimate's relative standard error is a
            // few percent at most.
            #expect(abs(index - 7) < 0.35, "scale \(scale) s: \(index)")
        }
    }

    @Test("Renewal single jobs: var/mean tends to the gap scv (Erlang-4: 0.25; balanced H2: 4)")
    func renewalLimit() throws {
        // Over windows of 100 mean gaps and more, IDC(t) = scv + O(mean / t).
        let erlang = TandemConfig(arrivalRate: 1, arrivalScv: 0.25, stations: [])
        let smooth = try #require(DispersionCurve(arrivalsOf: erlang, horizon: 400_000, seed: 3, scales: [100]).values[0])
        #expect(abs(smooth - 0.25) < 0.04, "\(smooth)")
        let hyper = TandemConfig(arrivalRate: 1, arrivalScv: 4, stations: [])
        let bursty = try #require(DispersionCurve(arrivalsOf: hyper, horizon: 2_000_000, seed: 3, scales: [1000]).values[0])
        #expect(abs(bursty - 4) < 0.4, "\(bursty)")
    }

    @Test("Poisson arrivals of single jobs: var/mean 1 at every scale")
    func poisson() throws {
        let config = TandemConfig(arrivalRate: 5, stations: [])
        let curve = DispersionCurve(arrivalsOf: config, horizon: 100_000, seed: 11, scales: [0.1, 1, 10, 100])
        for (scale, value) in zip(curve.scales, curve.values) {
            let index = try #require(value)
            // Four standard errors of a normal sample's variance over 100,000 / scale windows.
            let windows = 100_000 / scale
            #expect(abs(index - 1) < 4 * (2 / (windows - 1)).squareRoot(), "scale \(scale) s: \(index)")
        }
    }
}

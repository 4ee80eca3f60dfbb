// Control variates (`run.controlVariates`) where the answer is known: a Jackson
// tandem (Poisson arrivals, exponential single servers), whose mean response and
// its sensitivities have closed forms.

import Foundation
import Testing
import Simulation
@testable import Analytic

@Suite("Control variates")
struct ControlVariatesTests {
    /// M/M/1 -> M/M/1 at loads 0.8 and 0.5, one job a second: E[T] = 0.8 / 0.2 + 0.5 / 0.5 = 5 s.
    static func jackson(run: RunSettings) -> TandemConfig {
        let stations = [0.8, 0.5].map { StationConfig(servers: 1, service: MomentSpec(mean: $0, scv: 1)) }
        return TandemConfig(arrivalRate: 1, stations: stations, run: run)
    }

    @Test("The coefficients are the closed form's sensitivities where the baseline is exact")
    func coefficients() throws {
        let config = Self.jackson(run: RunSettings(controlVariates: true))
        let controls = try #require(ControlVariates.coefficients(for: config))
        // T = s1 a / (a - s1) + s2 a / (a - s2) with mean gap a = 1: dT/da = -s1^2 / (a - s1)^2
        // - s2^2 / (a - s2)^2 = -16 - 1, dT/ds1 = a^2 / (a - s1)^2 = 25, dT/ds2 = 4; batches of one do not vary.
        #expect(controls.means == [1, 1, 0.8, 0.5])
        let expected: [(computed: Double, exact: Double)] = [
            (controls.response[0], -17), (controls.response[2], 25), (controls.response[3], 4),
            (controls.stations[0][0], -16), (controls.stations[0][2], 25), (controls.stations[1][0], -1),
            (controls.stations[1][3], 4),
        ]
        for (computed, exact) in expected { #expect(abs(computed / exact - 1) < 0.005, "\(computed) against \(exact)") }
        #expect(controls.response[1] == 0 && controls.stations[0][3] == 0 && controls.stations[1][2] == 0)
        // Off unless the run asks; geometric batches are a control, Markov-modulated gaps are not.
        #expect(ControlVariates.coefficients(for: Self.jackson(run: RunSettings())) == nil)
        var batched = config
        batched.batch = .geometric(mean: 1.1)  // station 1 at a load of 0.88
        #expect(try #require(ControlVariates.coefficients(for: batched)).response[1] > 0)
    }

    /// Twenty independent runs of four replications each, with and without the
    /// correction. Run seeds differ, so the runs are independent draws of both estimators.
    @Test("Corrected estimates cover the closed form at the stated rate, with narrower half-widths")
    func coverage() throws {
        let truth = 5.0
        var covered = 0, plainWidth = 0.0, controlledWidth = 0.0, estimates: [Double] = []
        let runs = 24
        for seed in 1...runs {
            let config = Self.jackson(run: RunSettings(jobs: 10_000, replications: 4, seed: UInt64(seed),
                                                       controlVariates: true))
            let controls = try #require(ControlVariates.coefficients(for: config))
            let controlled = Simulator.simulate(config, controls: controls).estimates[0]
            let plain = Simulator.simulate(config).estimates[0]
            let half = try #require(controlled.ci95)
            if abs(controlled.mean - truth) <= half { covered += 1 }
            controlledWidth += half
            plainWidth += try #require(plain.ci95)
            estimates.append(controlled.mean)
        }
        // 95% intervals: 22.8 of 24 expected; 19 or fewer has a chance of about 0.3%.
        #expect(covered >= 20, "\(covered) of \(runs) intervals hold 5 s")
        // Measured: about 0.75 of the plain half-width on average (variance about 0.55).
        #expect(controlledWidth < 0.88 * plainWidth, "half-widths \(controlledWidth / Double(runs)) against \(plainWidth / Double(runs))")
        // Unbiased: the runs' mean within four of its standard errors of the truth.
        let mean = estimates.reduce(0, +) / Double(runs)
        let sd = (estimates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(runs - 1)).squareRoot()
        #expect(abs(mean - truth) < 4 * sd / Double(runs).squareRoot(), "mean \(mean), sd \(sd)")
    }
}

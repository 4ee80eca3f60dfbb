// Markov-modulated Poisson arrivals (`arrival.mmpp`): the simulated stream against
// the MMPP-2 closed forms of Fischer and Meier-Hellstern's cookbook (mean rate and
// index of dispersion of counts), sources adding up, the configuration keys and
// their errors, and the fit: a known on/off source recovered from its trace, a
// Poisson trace fitted as (nearly) Poisson.

import Foundation
import Testing
@testable import Simulation

@Suite("MMPP arrivals")
struct MMPPTests {
    /// The cookbook's IDC of an MMPP-2 (rates l1, l2; r1 leaving state 1, r2 leaving state 2),
    /// written out as published rather than through MMPPSpec.
    static func cookbookIDC(l1: Double, l2: Double, r1: Double, r2: Double, t: Double) -> Double {
        let mean = (l1 * r2 + l2 * r1) / (r1 + r2)
        let s = r1 + r2
        return 1 + 2 * (l1 - l2) * (l1 - l2) * r1 * r2 / (s * s * s * mean) * (1 - (1 - exp(-s * t)) / (s * t))
    }

    static let mmpp2 = MMPPSpec(sources: [MMPPSource(rates: [1, 6], meanHolds: [4, 1])])

    @Test("MMPPSpec's closed forms are the cookbook's for one source")
    func closedForms() {
        #expect(abs(Self.mmpp2.meanRate - 2) < 1e-12)  // (1 x 4 + 6 x 1) / 5
        for t in [0.01, 0.1, 1, 10, 100] {
            let cookbook = Self.cookbookIDC(l1: 1, l2: 6, r1: 0.25, r2: 1, t: t)
            #expect(abs(Self.mmpp2.batchDispersion(t) - cookbook) < 1e-9 * cookbook, "t \(t)")
        }
        // Long windows: 1 + 2 (l1 - l2)^2 r1 r2 / ((r1 + r2)^3 mean) = 1 + 2 x 25 x 0.25 / (1.953125 x 2) = 4.2.
        #expect(abs(Self.mmpp2.asymptoticDispersion - 4.2) < 1e-12)
    }

    @Test("A simulated MMPP-2 has the cookbook's mean rate and index of dispersion at 0.1 s to 100 s")
    func simulatedAgainstCookbook() throws {
        let config = TandemConfig(mmpp: Self.mmpp2, stations: [])
        // 400,000 batches: at 100 s windows 4,000 windows, whose counts are nearly
        // independent (correlation time 0.8 s), so the sample IDC's relative standard
        // error is about sqrt(2 / 4,000) = 2.2%; 4 of them is the tolerance.
        let horizon = 400_000.0
        let curve = DispersionCurve(arrivalsOf: config, horizon: horizon, seed: 3, scales: [0.1, 1, 10, 100])
        for (t, value) in zip(curve.scales, curve.values) {
            let idc = try #require(value)
            let cookbook = Self.cookbookIDC(l1: 1, l2: 6, r1: 0.25, r2: 1, t: t)
            let tolerance = 4 * (2 / (horizon / max(t, 1))).squareRoot()
            #expect(abs(idc / cookbook - 1) < tolerance, "t \(t): simulated \(idc), cookbook \(cookbook)")
        }
        // The mean rate: batches over the horizon, with the counts' own standard error
        // sqrt(IDC(inf) x mean x horizon).
        var stream = RandomStream(seed: 3, replication: 0, purpose: .interArrival)
        var sampler = MMPPSampler(Self.mmpp2, stream: &stream)
        var clock = 0.0, batches = 0
        while true {
            clock = sampler.next(after: clock, &stream)
            guard clock < horizon else { break }
            batches += 1
        }
        let error = (4.2 * 2 * horizon).squareRoot() / horizon
        #expect(abs(Double(batches) / horizon - 2) < 4 * error, "rate \(Double(batches) / horizon)")
    }

    @Test("Two sources add their dispersion; the engine runs them, seeded and reproducible")
    func sourcesAddAndTheEngineRuns() throws {
        let a = MMPPSource(rates: [0, 3], meanHolds: [2, 1]), b = MMPPSource(rates: [0.5, 0.5], meanHolds: [5, 5])
        let spec = MMPPSpec(sources: [a, b])
        // b is a Poisson stream: it adds rate, no covariance.
        #expect(abs(spec.meanRate - 1.5) < 1e-12)
        let alone = MMPPSpec(sources: [a])
        for t in [0.1, 1, 10] {
            let excess = (alone.batchDispersion(t) - 1) * alone.meanRate / spec.meanRate
            #expect(abs(spec.batchDispersion(t) - 1 - excess) < 1e-12)
        }
        let config = TandemConfig(mmpp: spec, stations: [StationConfig(service: MomentSpec(mean: 0.2))],
                                  run: RunSettings(jobs: 50_000, replications: 2, seed: 4))
        let first = Simulator.simulate(config), second = Simulator.simulate(config)
        #expect(first.stable)
        let throughput = try #require(first.estimate("throughput"))
        #expect(abs(throughput.mean - 1.5) < 0.1, "throughput \(throughput.mean)")
        #expect(first.estimate("meanResponse")?.mean == second.estimate("meanResponse")?.mean)
        // A bursty stream queues more than a Poisson one at the same rate.
        let poisson = Simulator.simulate(TandemConfig(arrivalRate: 1.5, stations: config.stations, run: config.run))
        let bursty = try #require(first.estimate("meanResponse")).mean
        let smooth = try #require(poisson.estimate("meanResponse")).mean
        #expect(bursty > smooth)
    }

    // MARK: Configuration

    @Test("arrival.mmpp in a file: sources, the derived rate, and loads")
    func configuration() throws {
        let config = try ConfigLoader.parse("""
            arrival:
              mmpp:
                - { rates: [1, 6], meanHolds: [4, 1] }
            batch: { dist: deterministic, mean: 2 }
            stations:
              - service: { mean: 0.1 }
            """)
        #expect(config.mmpp == Self.mmpp2)
        #expect(abs(config.arrivalRate - 2) < 1e-12)
        #expect(abs(config.offeredLoads[0] - 0.4) < 1e-12)
        #expect(abs(config.arrivalScv - 4.2) < 1e-12)
    }

    static let badFiles: [(arrival: String, path: String, message: String)] = [
        ("{ mmpp: [] }", "arrival.mmpp", "expected 1 to 8 sources"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1] }] }", "arrival.mmpp.1.rates", "expected two numbers"),
        ("{ mmpp: [{ rates: [-1, 2], meanHolds: [1, 1] }] }", "arrival.mmpp.1.rates.1", "must be >= 0"),
        ("{ mmpp: [{ rates: [1, 2], meanHolds: [0, 1] }] }", "arrival.mmpp.1.meanHolds.1", "must be > 0"),
        ("{ mmpp: [{ rates: [1, 2] }] }", "arrival.mmpp.1.meanHolds", "required"),
        ("{ mmpp: [{ rates: [0, 0], meanHolds: [1, 1] }] }", "arrival.mmpp", "every rate is 0"),
        ("{ rate: 1, mmpp: [{ rates: [1, 2], meanHolds: [1, 1] }] }", "arrival.rate", "not used with arrival.mmpp"),
    ]

    @Test("Bad MMPP keys are errors naming the key", arguments: badFiles)
    func badFile(_ bad: (arrival: String, path: String, message: String)) {
        do {
            _ = try ConfigLoader.parse("arrival: \(bad.arrival)\nstations:\n  - service: { mean: 0.1 }\n")
            Issue.record("expected an error for \(bad.arrival)")
        } catch let error as ConfigError {
            #expect(error.path == bad.path, "\(error)")
            #expect(error.message.contains(bad.message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // MARK: Fitting

    /// A trace of single jobs drawn from `spec` over `horizon` seconds.
    static func trace(of spec: MMPPSpec, horizon: Double, seed: UInt64) throws -> ArrivalTrace {
        var stream = RandomStream(seed: seed, substream: 11)
        var sampler = MMPPSampler(spec, stream: &stream)
        var clock = 0.0
        var text = "TIMESTAMP\n"
        while true {
            clock = sampler.next(after: clock, &stream)
            guard clock < horizon else { break }
            text += "\(clock)\n"
        }
        return try ArrivalTrace.parse(text, settings: TraceSettings(path: "mmpp.csv"))
    }

    @Test("A known on/off MMPP-2 is recovered from its trace")
    func recoversAnOnOffSource() throws {
        // On a quarter of the time at 8 batches a second in 2 s bursts: mean rate 2,
        // switching rate 2/3, intensity variance 64 x 3/16 = 12.
        let truth = MMPPSource(rates: [0, 8], meanHolds: [6, 2])
        let trace = try Self.trace(of: MMPPSpec(sources: [truth]), horizon: 40_000, seed: 5)
        let fit = TraceFit(trace).mmpp
        #expect(fit.spec.sources.count == 1, "\(fit.spec)")
        let source = try #require(fit.spec.sources.first)
        // About 20,000 bursts: the rates and holds within 20%, the mean rate within 3%.
        #expect(abs(fit.spec.meanRate / 2 - 1) < 0.03, "\(fit.spec)")
        #expect(source.rates[0] == 0)
        #expect(abs(source.rates[1] / 8 - 1) < 0.2, "\(fit.spec)")
        #expect(abs(source.meanHolds[0] / 6 - 1) < 0.2, "\(fit.spec)")
        #expect(abs(source.meanHolds[1] / 2 - 1) < 0.2, "\(fit.spec)")
        // Its closed-form dispersion follows the trace's at every fitted scale.
        for (fitted, observed) in zip(fit.fittedDispersion, fit.traceDispersion) {
            #expect(abs(fitted / observed - 1) < 0.15, "fitted \(fit.fittedDispersion), trace \(fit.traceDispersion)")
        }
    }

    @Test("A Poisson trace is fitted as (nearly) a Poisson process")
    func poissonTraceStaysPoisson() throws {
        let poisson = MMPPSpec(sources: [MMPPSource(rates: [2, 2], meanHolds: [1, 1])])
        let trace = try Self.trace(of: poisson, horizon: 40_000, seed: 6)
        let fit = TraceFit(trace).mmpp
        #expect(abs(fit.spec.meanRate / 2 - 1) < 0.03, "\(fit.spec)")
        // Dispersion 1 at every scale, within the sampling noise of 400 windows of 100 s
        // (a relative standard error of 7%), and not much more beyond them.
        #expect(fit.spec.asymptoticDispersion < 1.3, "\(fit.spec)")
        for t in MMPPFit.fitScales { #expect(abs(fit.spec.batchDispersion(t) - 1) < 0.15) }
    }
}

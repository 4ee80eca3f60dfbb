// Markov-modulated Poisson arrivals (`arrival.mmpp`): the simulated stream against
// the MMPP-2 closed forms of Fischer and Meier-Hellstern's cookbook (mean rate and
// index of dispersion of counts), sources adding up, sources of more than two
// levels (their generator's closed forms against the two-level ones and against
// simulated counts), the configuration keys and their errors, and the fit: a known
// three-level source recovered from its trace, a Poisson trace fitted as Poisson.

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

    // MARK: Sources of more levels

    @Test("The generator's closed forms give the cookbook's for two levels written as a chain")
    func generalFormsAgreeWithTwoLevels() {
        // Level 1 (rate 1, hold 4) hands over to level 2 or 3, both of rate 6 and hold
        // 1, which always return to 1: the stream is the MMPP-2 above, levels 2 and 3
        // being its second level under two names.
        let chain = MMPPSource(rates: [1, 6, 6], meanHolds: [4, 1, 1], next: [[0, 0.5, 0.5], [1, 0, 0], [1, 0, 0]])
        let spec = MMPPSpec(sources: [chain])
        #expect(abs(spec.meanRate - 2) < 1e-12)
        for t in [0.01, 0.1, 1, 10, 100] {
            let cookbook = Self.cookbookIDC(l1: 1, l2: 6, r1: 0.25, r2: 1, t: t)
            #expect(abs(spec.batchDispersion(t) / cookbook - 1) < 1e-9, "t \(t): \(spec.batchDispersion(t)) against \(cookbook)")
        }
        #expect(abs(spec.asymptoticDispersion - 4.2) < 1e-9)
    }

    @Test("A simulated three-level source has its closed-form rate and dispersion")
    func threeLevelsSimulated() throws {
        let source = MMPPSource(rates: [0, 2, 8], meanHolds: [4, 1, 0.5], next: [[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]])
        let spec = MMPPSpec(sources: [source])
        // Stationary: visits pi_visit solve the jump chain; times weight them by holds.
        // Visits v = (v1, v2, v3) with v1 = 0.8 v2 + 0.9 v3, v2 = 0.7 v1 + 0.1 v3,
        // v3 = 0.3 v1 + 0.2 v2: v = (1, 0.7368..., 0.4473...) up to scale (by hand:
        // v2 = 0.7 + 0.1 v3, v3 = 0.3 + 0.2 v2 = 0.3 + 0.14 + 0.02 v3 = 0.44 / 0.98).
        let v3 = 0.44 / 0.98, v2 = 0.7 + 0.1 * v3
        let times = [4.0, v2 * 1, v3 * 0.5], total = times.reduce(0, +)
        let rate = (2 * times[1] + 8 * times[2]) / total
        #expect(abs(spec.meanRate - rate) < 1e-9, "\(spec.meanRate) against \(rate)")
        let config = TandemConfig(mmpp: spec, stations: [])
        let horizon = 200_000.0
        let curve = DispersionCurve(arrivalsOf: config, horizon: horizon, seed: 4, scales: [0.1, 1, 10])
        for (t, value) in zip(curve.scales, curve.values) {
            let idc = try #require(value)
            let closed = spec.batchDispersion(t)
            // Windows of 5 s or more are nearly independent (holds of at most 4 s):
            // relative standard error sqrt(2 / windows), shorter windows counted as 5 s; 4 of them.
            let tolerance = 4 * (2 / (horizon / max(t, 5))).squareRoot()
            #expect(abs(idc / closed - 1) < tolerance, "t \(t): simulated \(idc), closed form \(closed)")
        }
    }

    // MARK: Rate multiplier

    @Test("arrival.rateMultiplier 2 runs the sources twice as fast: with half the service, the same system in half the time")
    func rateMultiplierCompressesTime() throws {
        let source = MMPPSource(rates: [0, 2, 8], meanHolds: [4, 1, 0.5], next: [[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]])
        let written = MMPPSpec(sources: [source])
        let run = RunSettings(jobs: 20_000, replications: 2, seed: 9)
        let fast = TandemConfig(mmpp: written, rateMultiplier: 2,
                                stations: [StationConfig(service: MomentSpec(mean: 0.5, scv: 2))], run: run)
        // By hand: rates doubled, holds halved, the jumps as they were.
        let compressed = try #require(fast.mmpp?.sources.first)
        #expect(compressed.rates == [0, 4, 16] && compressed.meanHolds == [2, 0.5, 0.25])
        #expect(compressed.next == source.next)
        #expect(abs(fast.arrivalRate / written.meanRate - 2) < 1e-12)
        // Counts over t at twice the speed are the written counts over 2t: same dispersion there,
        // and the same over long windows.
        for t in [0.1, 1.0, 10.0] {
            #expect(abs(fast.mmpp!.batchDispersion(t) - written.batchDispersion(2 * t)) < 1e-9, "t \(t)")
        }
        #expect(abs(fast.arrivalScv - written.asymptoticDispersion) < 1e-9)
        // Every time halved (powers of two scale exactly): each draw is the written one in half the time.
        var slow = TandemConfig(mmpp: written, stations: [StationConfig(service: MomentSpec(mean: 1, scv: 2))],
                                run: run)
        let fastReport = Simulator.simulate(fast), slowReport = Simulator.simulate(slow)
        #expect(fastReport.stable && slowReport.stable)
        // Percentiles come from a histogram with 0.1% relative error per value: 2e-3 between two runs.
        for (metric, tolerance) in [("meanResponse", 1e-9), ("p95Response", 2e-3)] {
            let a = try #require(fastReport.estimate(metric)).mean, b = try #require(slowReport.estimate(metric)).mean
            #expect(abs(a / (b / 2) - 1) < tolerance, "\(metric): \(a) at 2, \(b) at 1")
        }
        // Setting the multiplier later gives the same process as building with it.
        slow.setRateMultiplier(2)
        #expect(slow.mmpp == fast.mmpp && slow.arrivalRate == fast.arrivalRate && slow.rateMultiplier == 2)
    }

    /// A file with `mmpp2` as its source and one more arrival key (`key: value`).
    static func mmpp2File(_ arrivalKey: String) throws -> TandemConfig {
        try ConfigLoader.parse("""
            arrival:
              mmpp:
                - { rates: [1, 6], meanHolds: [4, 1] }
              \(arrivalKey)
            stations:
              - service: { mean: 0.1 }
            """)
    }

    @Test("arrival.rateMultiplier in a file with arrival.mmpp; trace keys stay errors there")
    func rateMultiplierInAFile() throws {
        let config = try Self.mmpp2File("rateMultiplier: 1.5")
        #expect(config.rateMultiplier == 1.5)
        #expect(config.mmpp == MMPPSpec(sources: [MMPPSource(rates: [1.5, 9], meanHolds: [4 / 1.5, 1 / 1.5])]))
        // MMPP-2 [1, 6] with holds [4, 1]: 2 batches a second written, 3 at 1.5.
        #expect(abs(config.arrivalRate - 3) < 1e-12)
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("arrival: { mmpp: [{ rates: [1, 6], meanHolds: [4, 1] }], time: t }\n"
                                   + "stations: [{ service: { mean: 0.1 } }]")
        }
    }

    @Test("arrival.holdMultiplier lengthens every hold: the same rate, the excess dispersion times the factor")
    func holdMultiplierLengthensBursts() throws {
        let config = try Self.mmpp2File("holdMultiplier: 3")
        #expect(config.holdMultiplier == 3)
        #expect(config.mmpp == MMPPSpec(sources: [MMPPSource(rates: [1, 6], meanHolds: [12, 3])]))
        // The cookbook's rate (l1 r2 + l2 r1) / (r1 + r2) with r1 = 1/12, r2 = 1/3:
        // (1/3 + 6/12) / (5/12) = 2, as with holds 4 and 1 (the same shares of time, 4/5 and 1/5).
        #expect(abs(config.arrivalRate - 2) < 1e-12)
        // IDC over long windows: 1 + 2 (l1 - l2)^2 r1 r2 / ((r1 + r2)^3 mean): 4.2 for holds
        // 4 and 1 (the configuration test above), so 1 + 3 x 3.2 = 10.6 for holds 12 and 3.
        let idc = Self.cookbookIDC(l1: 1, l2: 6, r1: 1.0 / 12, r2: 1.0 / 3, t: 1e9)
        #expect(abs(idc - 10.6) < 1e-6 && abs(config.arrivalScv - 10.6) < 1e-9, "\(idc), \(config.arrivalScv)")
        // With the rate multiplier too: time compressed after the holds are lengthened.
        var both = config
        both.setRateMultiplier(2)
        #expect(abs(both.arrivalRate - 4) < 1e-12 && abs(both.arrivalScv - 10.6) < 1e-9)
        #expect(both.mmpp?.sources[0].meanHolds == [6, 1.5])
        // Not for renewal arrivals or a trace.
        #expect {
            try ConfigLoader.parse("arrival: { rate: 1, holdMultiplier: 2 }\nstations: [{ service: { mean: 0.1 } }]")
        } throws: { error in
            (error as? ConfigError)?.path == "arrival.holdMultiplier"
                && (error as? ConfigError)?.message.hasPrefix("only used with arrival.mmpp") == true
        }
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

    @Test("A source of three levels in a file: jump rows written with a few digits are normalised")
    func threeLevelConfiguration() throws {
        let config = try ConfigLoader.parse("""
            arrival:
              mmpp:
                - rates: [0, 2, 8]
                  meanHolds: [40, 10, 4]
                  next:
                    - [0, 0.6667, 0.3333]
                    - [1, 0, 0]
                    - [1, 0, 0]
            stations:
              - service: { mean: 0.1 }
            """)
        let source = try #require(config.mmpp?.sources.first)
        let next = try #require(source.next)
        #expect(abs(next[0].reduce(0, +) - 1) < 1e-15)
        // Visits 1 : 2/3 : 1/3, times 40 : 20/3 : 4/3; rate (2 x 20/3 + 8 x 4/3) / 48 = 0.5
        // (with the written digits: within 1e-4).
        #expect(abs(config.arrivalRate - 0.5) < 1e-4, "\(config.arrivalRate)")
    }

    static let badFiles: [(arrival: String, path: String, message: String)] = [
        ("{ mmpp: [] }", "arrival.mmpp", "expected 1 to 8 sources"),
        ("{ mmpp: [{ rates: [1], meanHolds: [1] }] }", "arrival.mmpp.1.rates", "expected 2 to 8 numbers"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1] }] }", "arrival.mmpp.1.meanHolds", "expected 3 numbers"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1, 1] }] }", "arrival.mmpp.1.next", "required with more than two levels"),
        ("{ mmpp: [{ rates: [1, 2], meanHolds: [1, 1], next: [[0, 1], [1, 0]] }] }", "arrival.mmpp.1.next", "leave it out"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1, 1], next: [[0, 1, 0], [1, 0, 0]] }] }", "arrival.mmpp.1.next",
         "expected 3 rows"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1, 1], next: [[0, 0.5, 0.4], [1, 0, 0], [1, 0, 0]] }] }",
         "arrival.mmpp.1.next.1", "add up to 1"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1, 1], next: [[0, 1, 0], [0.5, 0.5, 0], [1, 0, 0]] }] }",
         "arrival.mmpp.1.next.2", "staying in level 2 must be 0"),
        ("{ mmpp: [{ rates: [1, 2, 3], meanHolds: [1, 1, 1], next: [[0, 1, 0], [1, 0, 0], [1, 0, 0]] }] }",
         "arrival.mmpp.1.next", "level 3 cannot be reached"),
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

    @Test("A known three-level source is recovered from its trace, levels chosen by BIC")
    func recoversThreeLevels() throws {
        // Silent for 40 s on average, then moderate (2 batches a second for 10 s) or
        // intense bursts (8 a second for 4 s), which mostly fall back to silence.
        let truth = MMPPSource(rates: [0, 2, 8], meanHolds: [40, 10, 4],
                               next: [[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]])
        // 12,500 s: the most a fit cuts into 0.25 s bins (MMPPFit.maxBins).
        let horizon = 12_500.0
        let trace = try Self.trace(of: MMPPSpec(sources: [truth]), horizon: horizon, seed: 5)
        // Bins of a sixteenth of the shortest hold.
        let fit = MMPPFit(trace: trace, batch: .deterministic(1), binWidth: 0.25, maxLevels: 4)
        #expect(fit.levels == 3, "BIC \(fit.candidates)")
        let source = try #require(fit.spec.sources.first)
        #expect(source.levelCount == 3)
        // Visits per level: the jump chain's stationary visits (by hand, see
        // threeLevelsSimulated: 1, 0.7449, 0.4490) over the mean cycle of 49.2 s,
        // so 254, 189 and 114 visits. A mean hold is known to 1 / sqrt(visits)
        // (exponential holds), a jump probability p to sqrt(p (1 - p) / visits);
        // the tolerance is 3 of those plus 5% for the bins (a level change inside
        // a bin is seen a fraction of a bin early or late).
        let visits = [1.0, 0.7449, 0.4490].map { $0 * horizon / 49.2 }
        for l in 0..<3 {
            let tolerance = 3 / visits[l].squareRoot() + 0.05
            #expect(abs(source.meanHolds[l] / truth.meanHolds[l] - 1) < tolerance, "holds \(source.meanHolds)")
            let jumps = try #require(source.next?[l])
            for (fitted, p) in zip(jumps, truth.jumps(from: l)) {
                #expect(abs(fitted - p) < 3 * (p * (1 - p) / visits[l]).squareRoot() + 0.05, "next \(source.next!)")
            }
        }
        // Rates from thousands of batches each: a few percent, the same bin allowance.
        #expect(source.rates[0] < 0.05, "\(source)")
        #expect(abs(source.rates[1] / 2 - 1) < 0.1, "\(source)")
        #expect(abs(source.rates[2] / 8 - 1) < 0.1, "\(source)")
        // EM keeps the trace's own mean rate.
        let traceRate = Double(trace.batchCount) / trace.span
        #expect(abs(fit.spec.meanRate / traceRate - 1) < 0.01, "\(fit.spec.meanRate) against \(traceRate)")
    }

    @Test("Bursts that carry larger batches: each level keeps its job intensity")
    func levelsKeepTheirJobIntensity() throws {
        // Quiet periods of single jobs at 1 batch a second, bursts of 5-job batches at
        // 3 a second: the bursts carry 15 jobs a second, 3 batches of the overall mean
        // size would not.
        var stream = RandomStream(seed: 9, substream: 3)
        var clock = 0.0, level = 0, switchAt = -log(stream.nextOpenUnit()) * 30
        var text = "TIMESTAMP\n"
        while clock < 20_000 {
            let rate = level == 0 ? 1.0 : 3.0
            let next = clock - log(stream.nextOpenUnit()) / rate
            if next > switchAt {
                clock = switchAt
                level = 1 - level
                switchAt = clock - log(stream.nextOpenUnit()) * (level == 0 ? 30 : 10)
                continue
            }
            clock = next
            for _ in 0..<(level == 0 ? 1 : 5) { text += "\(clock)\n" }
        }
        let trace = try ArrivalTrace.parse(text, settings: TraceSettings(path: "bursts.csv"))
        let batch = BatchFit(sizes: trace.batchSizes).spec
        let fit = MMPPFit(trace: trace, batch: batch, maxLevels: 3)
        #expect(fit.levels == 2, "BIC \(fit.candidates)")
        #expect(abs(fit.levelBatchMeans[0] - 1) < 0.05 && abs(fit.levelBatchMeans[1] / 5 - 1) < 0.05,
                "\(fit.levelBatchMeans)")
        let source = try #require(fit.spec.sources.first)
        // Job intensity: 1 and 15 jobs a second, whatever the common batch size.
        let intensities = source.rates.map { $0 * batch.mean }
        #expect(abs(intensities[0] - 1) < 0.1 && abs(intensities[1] / 15 - 1) < 0.1, "\(intensities)")
    }

    @Test("A Poisson trace is fitted as a Poisson process")
    func poissonTraceStaysPoisson() throws {
        let poisson = MMPPSpec(sources: [MMPPSource(rates: [2, 2], meanHolds: [1, 1])])
        let trace = try Self.trace(of: poisson, horizon: 20_000, seed: 6)
        let fit = MMPPFit(trace: trace, batch: .deterministic(1), maxLevels: 3)
        #expect(fit.levels == 1, "BIC \(fit.candidates)")
        #expect(abs(fit.spec.meanRate / 2 - 1) < 0.03, "\(fit.spec)")
        #expect(abs(fit.spec.asymptoticDispersion - 1) < 1e-9)
    }
}

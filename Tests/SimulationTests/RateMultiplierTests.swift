// A trace replayed faster (`arrival.rateMultiplier`): arrival times divided by the
// multiplier, hand-computed; throughput doubled at 2; a Poisson trace replayed at 2
// against the Jackson tandem at twice its rate; bad values named by key.

import Foundation
import Testing
@testable import Simulation

@Suite("Trace rate multiplier")
struct RateMultiplierTests {
    @Test("At multiplier 2 a small trace arrives at half its times; batches and work stay")
    func halfTheTimes() throws {
        // Rows at 0, 1, 1, 3 and 7 s with work 1, 2, 1, 1, 3: batches at 0, 1 (two jobs), 3 and 7.
        let trace = try parseTrace("t,w\n0,1\n1,2\n1,1\n3,1\n7,3\n", work: "w")
        // One server, 0.1 s of work per unit of work: no job waits for another.
        let station = StationConfig(service: MomentSpec(mean: 0.1, scv: 0))
        let config = TandemConfig(trace: trace, rateMultiplier: 2, stations: [station])
        let (outcome, record) = Simulator.trace(config, jobs: trace.jobCount)
        #expect(outcome == .completed)
        #expect(record.arrivals == [0, 0.5, 0.5, 1.5, 3.5])
        // The batch of two at 0.5 is served one after the other: 0.2 s, then 0.1 s.
        let completions = record.visits.map { $0[0]!.completion }
        let expected = [0.1, 0.7, 0.8, 1.6, 3.8]
        for (got, want) in zip(completions, expected) { #expect(abs(got - want) < 1e-12, "\(completions)") }
        // The configuration describes the replayed stream: gaps of 0.5, 1 and 2 s.
        #expect(abs(config.interArrival.mean - 3.5 / 3) < 1e-12)
        #expect(config.batch == .empirical(values: [1, 2], weights: [3, 1]))
    }

    @Test("Setting the multiplier rescales the description of the stream, as building with it does")
    func settingRescales() throws {
        let trace = try parseTrace("t\n0\n1\n3\n7\n")
        var config = TandemConfig(trace: trace, stations: [StationConfig(service: MomentSpec(mean: 0.1))])
        #expect(abs(config.arrivalRate - 3.0 / 7) < 1e-12)
        config.setRateMultiplier(1.5)
        #expect(abs(config.arrivalRate - 1.5 * 3 / 7) < 1e-12)
        ConfigSchema.arrivalRateMultiplier.setValue(.real(0.5), in: &config)
        #expect(abs(config.arrivalRate - 0.5 * 3 / 7) < 1e-12)
        #expect(ConfigSchema.arrivalRateMultiplier.value(in: config) == .real(0.5))
    }

    @Test("Throughput doubles at multiplier 2")
    func throughputDoubles() throws {
        let trace = try ArrivalTrace.parse(TraceTests.poissonTrace(jobs: 5_000, rate: 0.5, seed: 21),
                                           settings: TraceSettings(path: "poisson.csv"))
        let stations = [station(mean: 0.5), station(mean: 0.4)]
        let run = RunSettings(replications: 2, seed: 5)
        let once = Simulator.simulate(TandemConfig(trace: trace, stations: stations, run: run))
        let twice = Simulator.simulate(TandemConfig(trace: trace, rateMultiplier: 2, stations: stations, run: run))
        #expect(once.stable && twice.stable)
        let slow = try #require(once.estimate("throughput")).mean
        let fast = try #require(twice.estimate("throughput")).mean
        // Throughput is kept jobs over the span of their arrivals, which halves.
        #expect(abs(fast / slow - 2) < 1e-9, "throughput \(slow) at 1, \(fast) at 2")
        #expect(abs(slow - 0.5) < 0.05, "a Poisson trace at 0.5 per second gave \(slow)")
    }

    @Test("A Poisson trace at rate 0.25 replayed at multiplier 2 gives the Jackson mean response at rate 0.5")
    func jacksonAtTwice() throws {
        // As TraceTests.jacksonReplay: independent traces, a Student-t interval across them.
        let lambda = 0.5
        let exact = 1 / (1 - lambda) + 1 / (1 / 1.2 - lambda)
        let means = try TraceTests.replayedMeans(rate: lambda / 2, multiplier: 2, seedBase: 300)
        let across = Estimate(replications: means)
        let ci = try #require(across.ci95)
        #expect(ci < 0.05 * exact, "half-width \(ci) too wide to test")
        #expect(abs(across.mean - exact) <= 2 * ci, "replayed \(across.mean) ± \(ci), Jackson \(exact)")
    }

    static let badValues: [(yaml: String, path: String, message: String)] = [
        ("{ trace: t.csv, rateMultiplier: 0 }", "arrival.rateMultiplier", "must be > 0"),
        ("{ trace: t.csv, rateMultiplier: -1.5 }", "arrival.rateMultiplier", "must be > 0"),
        ("{ trace: t.csv, rateMultiplier: fast }", "arrival.rateMultiplier", "expected a number"),
        ("{ rate: 1, rateMultiplier: 2 }", "arrival.rateMultiplier", "only used with arrival.trace"),
    ]

    @Test("A bad multiplier, or one without a trace, is an error naming the key", arguments: badValues)
    func badValue(_ bad: (yaml: String, path: String, message: String)) throws {
        let scratch = try TraceScratch()
        defer { scratch.cleanUp() }
        _ = try scratch.write("t.csv", "TIMESTAMP\n0\n1\n")
        let path = try scratch.write("c.yaml", "arrival: \(bad.yaml)\nstations:\n  - service: { mean: 0.1 }\n")
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected an error for \(bad.yaml)")
        } catch let error as ConfigError {
            #expect(error.path == bad.path)
            #expect(error.message.contains(bad.message), "\(error.message)")
        }
    }
}

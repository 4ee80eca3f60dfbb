// `duet validate`'s engine on a trace whose truth is known: a Poisson trace replayed
// through M/M/c stations. The Jackson tandem's closed form then stands in for a
// perfect surrogate, and QNA is exact there too, so both must agree with the
// trace-driven simulation within its sampling error; a fit or a replay that got the
// rate or the work wrong would not.

import Foundation
@testable import Pipeline
import Search
import Simulation
import Testing

@Suite("Trace validation")
struct TraceValidationTests {
    /// Erlang C: the probability that an arrival waits at an M/M/c queue.
    static func erlangC(servers c: Int, load a: Double) -> Double {
        var sum = 0.0
        var term = 1.0
        for k in 0..<c {
            if k > 0 { term *= a / Double(k) }
            sum += term
        }
        let last = term * a / Double(c) / (1 - a / Double(c))
        return last / (sum + last)
    }

    /// Mean response of an M/M/c station.
    static func mmcResponse(rate: Double, mean: Double, servers: Int) -> Double {
        let a = rate * mean
        return mean + erlangC(servers: servers, load: a) * mean / (Double(servers) - a)
    }

    /// A Poisson trace of `jobs` arrivals at `rate` per second, with a work column of
    /// exponential multipliers of mean 1 when `work` is set.
    static func poissonTrace(jobs: Int, rate: Double, seed: UInt64, work: Bool) throws -> String {
        var stream = RandomStream(seed: seed, replication: 0, purpose: .interArrival)
        var text = work ? "t,w\n" : "t\n"
        var time = 0.0
        for _ in 0..<jobs {
            time += -log(stream.nextOpenUnit()) / rate
            text += String(format: "%.9f", time)
            if work { text += String(format: ",%.9f", -log(stream.nextOpenUnit())) }
            text += "\n"
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("poisson-\(seed)-\(work).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `poissonTrace` without work, loaded (its file removed).
    static func loadedPoissonTrace(jobs: Int, rate: Double, seed: UInt64) throws -> ArrivalTrace {
        let path = try poissonTrace(jobs: jobs, rate: rate, seed: seed, work: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ArrivalTrace.load(TraceSettings(path: path, timeColumn: "t"))
    }

    /// The Jackson tandem's mean response at the configuration's job rate: what a
    /// perfect surrogate says of M/M/c stations fed by a Poisson trace.
    static func jackson(_ config: TandemConfig) -> [Double] {
        [config.stations.reduce(0) { $0 + mmcResponse(rate: config.jobRate, mean: $1.service.mean, servers: $1.servers) }]
    }

    static let grid = """
        base:
          arrival: { rate: 1 }          # not used: the trace replaces it
          stations:
            - { servers: 1, service: { mean: 0.2 } }
            - { servers: 1, service: { mean: 0.3 } }
        vary:
          stations.1.service.mean: { choice: [0.1, 0.2] }
          stations.2.servers: { int: [1, 2] }
        run: { replications: 8 }
        """

    @Test("a Poisson trace through M/M/c stations: the closed form and QNA match the replay")
    func poissonTraceMatchesJackson() throws {
        let rate = 2.0
        let trace = try Self.loadedPoissonTrace(jobs: 40_000, rate: rate, seed: 11)
        let spec = try SweepSpec.parse(Self.grid, needsDesign: false)
        let validation = try TraceValidation.run(
            targets: ["meanResponse"],
            predict: Self.jackson,
            trace: trace, grid: spec, arrival: .onOff, threads: 2)

        #expect(validation.rows.count == 4)
        // The last vary entry changes fastest.
        #expect(validation.rows.map { $0.values.map(\.description) }
                == [["0.1", "1"], ["0.1", "2"], ["0.2", "1"], ["0.2", "2"]])
        // A Poisson trace fits as (nearly) Poisson: rate within 2% and scv near 1.
        #expect(abs(validation.fit.batchRate / rate - 1) < 0.02)
        #expect(abs(validation.fit.arrivalScv - 1) < 0.05, "scv \(validation.fit.arrivalScv)")
        for row in validation.rows {
            let simulated = try #require(row.simulated?[0])
            let expected = row.surrogate[0]
            // One trace of 40,000 jobs: its own sampling error is a few percent at these
            // loads (at most 0.6); the replications' half-width covers service noise only.
            #expect(abs(simulated / expected - 1) < 0.08, "\(row.values): simulated \(simulated), Jackson \(expected)")
            #expect(abs(row.analytic[0]! / expected - 1) < 0.02, "QNA is exact for M/M/c tandems")
        }
        let mape = try #require(validation.mape.first)
        #expect(mape.surrogate < 5, "\(mape)")
        #expect(mape.analytic.map { $0 < 6 } == true, "\(mape)")
    }

    @Test("rate multipliers: the trace replayed faster and its fit run faster match the Jackson tandem at each rate")
    func rateMultipliers() throws {
        let rate = 1.0
        let trace = try Self.loadedPoissonTrace(jobs: 40_000, rate: rate, seed: 12)
        let spec = try SweepSpec.parse(Self.grid, needsDesign: false)
        let validation = try TraceValidation.run(
            targets: ["meanResponse"],
            predict: Self.jackson,
            trace: trace, grid: spec, rateMultipliers: [1, 2], arrival: .renewal, threads: 2)
        #expect(validation.parameterNames == ["arrival.rateMultiplier", "stations.1.service.mean", "stations.2.servers"])
        #expect(validation.rows.map { $0.values.map(\.description) }
                == [["1", "0.1", "1"], ["1", "0.1", "2"], ["1", "0.2", "1"], ["1", "0.2", "2"],
                    ["2", "0.1", "1"], ["2", "0.1", "2"], ["2", "0.2", "1"], ["2", "0.2", "2"]])
        for row in validation.rows {
            let multiplier = row.values[0] == .number(2) ? 2.0 : 1.0
            // The fit runs at the multiplied rate, and the replay at it too (loads up to 0.6 at 2).
            #expect(abs(row.fitted.jobRate / (multiplier * rate) - 1) < 0.02, "\(row.values): \(row.fitted.jobRate)")
            let simulated = try #require(row.simulated?[0])
            #expect(abs(simulated / row.surrogate[0] - 1) < 0.08,
                    "\(row.values): simulated \(simulated), Jackson \(row.surrogate[0])")
        }
        // The other fits run faster as well: on periods and level holds shortened, rates raised.
        let fit = validation.fit
        let stations = [StationConfig(service: MomentSpec(mean: 0.1))]
        for arrival in [FittedArrival.onOff, .mmpp] {
            let once = TraceValidation.fittedConfig(fit, arrival: arrival, stations: stations)
            let faster = TraceValidation.fittedConfig(fit, arrival: arrival, stations: stations, rateMultiplier: 1.5)
            #expect(abs(faster.arrivalRate / once.arrivalRate - 1.5) < 1e-9, "\(arrival)")
            #expect(abs(faster.arrivalScv - once.arrivalScv) < 1e-9 * max(1, once.arrivalScv), "\(arrival)")
        }
        #expect(throws: TraceValidationError.self) {
            try TraceValidation.grid(spec, trace: trace, rateMultipliers: [1, 0])
        }
    }

    @Test("a configuration overloaded under the fit is left out of the MAPEs, and counted")
    func overloadedUnderTheFitIsLeftOut() throws {
        let path = try Self.poissonTrace(jobs: 2_000, rate: 2, seed: 12, work: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fit = TraceFit(try ArrivalTrace.load(TraceSettings(path: path, timeColumn: "t")))
        // One station at the fitted rate (about 2 per second): service 0.25 s is load 0.5,
        // 0.6 s is load 1.2, where the fitted process never empties.
        func row(mean: Double, surrogate: Double, multiplier: Double = 1) -> TraceValidation.Row {
            let fitted = TraceValidation.fittedConfig(fit, arrival: .renewal,
                                                      stations: [StationConfig(service: MomentSpec(mean: mean))],
                                                      rateMultiplier: multiplier)
            return TraceValidation.Row(values: [], simulated: [1], meanResponseCI95: nil, unstableReason: nil,
                                       surrogate: [surrogate], analytic: [nil], fitted: fitted,
                                       rateMultiplier: multiplier, fittedSimulated: nil)
        }
        let validation = TraceValidation(fit: fit, arrival: .renewal, parameterNames: [], targetNames: ["meanResponse"],
                                         rows: [row(mean: 0.25, surrogate: 1.1), row(mean: 0.6, surrogate: 100)],
                                         seconds: 0)
        #expect(validation.stableRows == 2)
        #expect(validation.overloadedUnderFitRows == 1)
        // Only the first row counts: |1.1 - 1| / 1 = 10%.
        let mape = try #require(validation.mape.first)
        #expect(abs(mape.surrogate - 10) < 1e-9, "\(mape)")
        // At twice the rate, 0.3 s is load 1.2: overloaded too; 0.2 s is load 0.8 and counts.
        var faster = validation
        faster.rows += [row(mean: 0.3, surrogate: 0.5, multiplier: 2), row(mean: 0.2, surrogate: 0.8, multiplier: 2)]
        let byMultiplier = faster.mapeByRateMultiplier
        #expect(byMultiplier.map(\.rateMultiplier) == [1, 2] && byMultiplier.map(\.rows) == [1, 1])
        #expect(abs(byMultiplier[0].mape[0].surrogate - 10) < 1e-9 && abs(byMultiplier[1].mape[0].surrogate - 20) < 1e-9)
        #expect(abs(faster.mape[0].surrogate - 15) < 1e-9, "the rows of both multipliers: (10 + 20) / 2")
    }

    @Test("work is folded into the fitted service: mean times the mean multiplier, scv (1+c_w)(1+c_x)-1")
    func workIsFoldedIntoService() throws {
        let path = try Self.poissonTrace(jobs: 20_000, rate: 1, seed: 12, work: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trace = try ArrivalTrace.load(TraceSettings(path: path, timeColumn: "t", workColumn: "w", workScale: 2))
        let fit = TraceFit(trace)
        let work = try #require(fit.work)
        let stations = [StationConfig(servers: 1, service: MomentSpec(mean: 0.1, scv: 0.5)),
                        StationConfig(servers: 3, service: MomentSpec(mean: 0.4, scv: 1))]
        let fitted = TraceValidation.fittedConfig(fit, arrival: .renewal, stations: stations)
        // Exponential multipliers of mean 1, scaled by 2: mean about 2, scv about 1.
        #expect(abs(work.mean / 2 - 1) < 0.03 && abs(work.scv - 1) < 0.06, "\(work)")
        #expect(fitted.stations[0].service.mean == 0.1 * work.mean)
        #expect(fitted.stations[1].service.mean == 0.4 * work.mean)
        #expect(abs(fitted.stations[0].service.scv - ((1 + work.scv) * 1.5 - 1)) < 1e-12)
        #expect(abs(fitted.stations[1].service.scv - ((1 + work.scv) * 2 - 1)) < 1e-12)
        #expect(fitted.onOff == nil && fitted.arrivalRate == fit.batchRate)
    }

    @Test("a grid with a continuous range is refused, naming the entry")
    func continuousRangesAreRefused() throws {
        let path = try Self.poissonTrace(jobs: 100, rate: 1, seed: 13, work: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trace = try ArrivalTrace.load(TraceSettings(path: path, timeColumn: "t"))
        let spec = try SweepSpec.parse(Self.grid.replacingOccurrences(
            of: "{ choice: [0.1, 0.2] }", with: "{ uniform: [0.1, 0.2] }"), needsDesign: false)
        #expect {
            try TraceValidation.grid(spec, trace: trace)
        } throws: { error in
            "\(error)".contains("vary.stations.1.service.mean: the grid needs a list of values")
        }
    }
}

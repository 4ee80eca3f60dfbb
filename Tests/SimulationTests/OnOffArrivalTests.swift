// On/off (interrupted Poisson) batch arrivals: the configuration keys, the arrival
// stream the engine generates against the process's definition, and exact queueing
// results (GI/M/1, since the process is renewal).
//
// Every expected value here comes from the definition of the process (exponential
// on and off periods, Poisson arrivals while on), derived in the test, not from the
// simulator's H2 parameters.

import Foundation
import Testing
@testable import Simulation

/// Records every job's arrival time (jobs are numbered in arrival order).
private struct ArrivalRecorder: TandemObserver {
    var arrivals: [Double]

    mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                             completion: Double) {}
    mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                             cold: Bool, service: Double) {}
    mutating func jobCompleted(job: Int, arrival: Double, completion: Double) { arrivals[job] = arrival }
    mutating func ownMemory() {}
}

/// The process's parameters as the definition names them.
struct OnOffDefinition {
    var rate: Double
    var onFraction: Double
    var meanOn: Double

    var lambdaOn: Double { rate / onFraction }
    var alpha: Double { 1 / meanOn }
    var beta: Double { onFraction / (meanOn * (1 - onFraction)) }

    /// Laplace transform of the time from "on" to the next arrival, by first-step
    /// analysis: the next on-event is an arrival (rate lambda) or a switch off
    /// (rate alpha), after which an exponential off period precedes a fresh start:
    /// A(s) = lambda/(lambda+alpha+s) + alpha/(lambda+alpha+s) * beta/(beta+s) * A(s).
    func transform(_ s: Double) -> Double {
        let leave = lambdaOn + alpha + s
        return (lambdaOn / leave) / (1 - (alpha / leave) * (beta / (beta + s)))
    }

    /// Inter-arrival scv from the same first-step analysis (worked out in the
    /// issue): 1 + 2 lambda alpha / (alpha + beta)^2.
    var scv: Double { 1 + 2 * lambdaOn * alpha / ((alpha + beta) * (alpha + beta)) }
}

/// Gaps between consecutive arrivals of the on/off source run directly: on and off
/// periods alternate, arrivals are Poisson while on. A reference independent of the
/// simulator's sampler (its own seed and stream key).
func referenceGaps(_ process: OnOffDefinition, count: Int, seed: UInt64) -> [Double] {
    var rng = RandomStream(seed: seed, substream: 0x0FF)
    func exponential(_ mean: Double) -> Double { -mean * log(rng.nextOpenUnit()) }
    var gaps: [Double] = []
    gaps.reserveCapacity(count)
    var sinceLast = 0.0
    var on = true
    var periodLeft = exponential(process.meanOn)
    while gaps.count < count {
        if on {
            let next = exponential(1 / process.lambdaOn)
            if next < periodLeft {
                periodLeft -= next
                sinceLast += next
                gaps.append(sinceLast)
                sinceLast = 0
            } else {
                // Memoryless: the pending arrival clock restarts in the next on period.
                sinceLast += periodLeft
                on = false
                periodLeft = exponential(process.meanOn * (1 - process.onFraction) / process.onFraction)
            }
        } else {
            sinceLast += periodLeft
            on = true
            periodLeft = exponential(process.meanOn)
        }
    }
    return gaps
}

/// Two-sided Student-t quantile for 95% with many degrees of freedom is 1.96; the
/// checks below use 4 standard errors (failure probability about 6e-5 each).
private let sigmas = 4.0

@Suite("On/off arrivals")
struct OnOffArrivalTests {
    static let fastStations = [station(servers: 64, mean: 0.001), station(servers: 64, mean: 0.001)]

    static func document(_ arrival: String) -> String {
        """
        arrival: \(arrival)
        stations:
          - { service: { mean: 0.1 } }
          - { service: { mean: 0.1 } }
        """
    }

    static func failure(_ text: String) -> String? {
        do {
            _ = try ConfigLoader.parse(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: Configuration

    @Test("the fit-trace syntax parses into the long-run rate and the on/off spec")
    func parses() throws {
        let config = try ConfigLoader.parse("""
            arrival:
              rate: 2.57          # mean batches per second over time (as for renewal arrivals)
              onOff:
                onFraction: 0.3   # long-run fraction of time the source is on, in (0, 1]
                meanOn: 20        # mean on-period, seconds (exponential)
            batch: { dist: geometric, mean: 2 }
            stations:
              - { service: { mean: 0.05 } }
              - { service: { mean: 0.05 } }
            """)
        #expect(config.onOff == OnOffSpec(onFraction: 0.3, meanOn: 20))
        #expect(config.arrivalRate == 2.57)
        #expect(config.jobRate == 2.57 * 2)
        #expect(abs(config.onOff!.meanOff - 20 * 0.7 / 0.3) < 1e-12)
        let definition = OnOffDefinition(rate: 2.57, onFraction: 0.3, meanOn: 20)
        #expect(abs(config.arrivalScv - definition.scv) < 1e-9 * definition.scv)
        #expect(config.arrivalScv > 150, "the Azure-like burstiness the issue is about")
        // The batch section works as usual, and loads use the long-run rate.
        #expect(config.batch == .geometric(mean: 2))
        #expect(abs(config.offeredLoads[0] - 2.57 * 2 * 0.05) < 1e-12)
        // Without onOff nothing changes.
        #expect(try ConfigLoader.parse(Self.document("{ rate: 2, scv: 4 }")).onOff == nil)
    }

    @Test("errors name the key and what was expected", arguments: [
        ("{ rate: 1, scv: 2, onOff: { onFraction: 0.5, meanOn: 3 } }",
         "arrival.scv: not allowed together with arrival.onOff, whose on and off periods set the inter-arrival "
            + "variability; remove one of them (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0, meanOn: 3 } }", "arrival.onOff.onFraction: must be > 0 and <= 1, got 0 (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 1.5, meanOn: 3 } }",
         "arrival.onOff.onFraction: must be > 0 and <= 1, got 1.5 (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0.5, meanOn: 0 } }", "arrival.onOff.meanOn: must be > 0, got 0 (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0.5 } }", "arrival.onOff.meanOn: required key is missing (line 1)"),
        ("{ rate: 1, onOff: { onFracton: 0.5, meanOn: 3 } }",
         "arrival.onOff.onFracton: unknown key; did you mean onFraction? (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0.5, meanOn: 3, meanOff: 3 } }",
         "arrival.onOff.meanOff: unknown key; the mean off period follows from the others: "
            + "meanOn x (1 - onFraction) / onFraction (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0.5, meanOn: 3, mean: 3 } }",
         "arrival.onOff.mean: unknown key; did you mean meanOn? (line 1)"),
        ("{ rate: 1, onOff: { onFraction: 0.5, meanOn: 3, burst: 3 } }",
         "arrival.onOff.burst: unknown key; expected one of: onFraction, meanOn (line 1)"),
        ("{ rate: 1, onof: { onFraction: 0.5, meanOn: 3 } }", "arrival.onof: unknown key; did you mean onOff? (line 1)"),
        ("{ rate: 1, onOff: 0.5 }", "arrival.onOff: expected a mapping, got \"0.5\" (line 1)"),
    ])
    func errors(arrival: String, message: String) {
        #expect(Self.failure(Self.document(arrival)) == message)
    }

    @Test("stability uses the long-run rate")
    func stability() {
        // 2 batches per second of 0.6 s: load 1.2 however the arrivals are spread.
        let text = """
            arrival: { rate: 2, onOff: { onFraction: 0.25, meanOn: 5 } }
            stations:
              - { service: { mean: 0.6 } }
              - { service: { mean: 0.1 } }
            """
        #expect(Self.failure(text)?.hasPrefix("stations.1: offered load 1.2 >= 1") == true)
    }

    // MARK: The arrival stream

    /// Inter-arrival gaps of one engine replication with single-job batches.
    static func engineGaps(_ process: OnOffDefinition, count: Int, seed: UInt64 = 7) -> [Double] {
        let config = TandemConfig(arrivalRate: process.rate,
                                  onOff: OnOffSpec(onFraction: process.onFraction, meanOn: process.meanOn),
                                  stations: fastStations, run: RunSettings(seed: seed))
        var recorder = ArrivalRecorder(arrivals: Array(repeating: -1, count: count))
        let result = TandemEngine(config: config, replication: 0).run(jobs: count, firstKeptJob: 0,
                                                                      observer: &recorder)
        #expect(result.outcome == .completed)
        var previous = 0.0
        return recorder.arrivals.map { time in
            defer { previous = time }
            return time - previous
        }
    }

    @Test("long-run rate and inter-arrival scv match the formulas", arguments: [
        (1.0, 0.5, 5.0),  // scv 6
        (2.57, 0.3, 20.0),  // the example, scv 169
        (0.8, 0.9, 0.5),  // nearly always on, short periods: scv barely above 1
    ])
    func rateAndScv(rate: Double, onFraction: Double, meanOn: Double) throws {
        let process = OnOffDefinition(rate: rate, onFraction: onFraction, meanOn: meanOn)
        let n = 2_000_000
        let gaps = Self.engineGaps(process, count: n)
        // Batch means over 100 blocks give standard errors without assuming the
        // fourth moment; blocks are long (20000 gaps) next to the process's memory.
        let blocks = 100, size = n / blocks
        var blockMeans: [Double] = [], blockScvs: [Double] = []
        for b in 0..<blocks {
            let block = gaps[(b * size)..<((b + 1) * size)]
            let mean = block.reduce(0, +) / Double(size)
            let variance = block.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(size - 1)
            blockMeans.append(mean)
            blockScvs.append(variance / (mean * mean))
        }
        func meanAndError(_ xs: [Double]) -> (Double, Double) {
            let m = xs.reduce(0, +) / Double(xs.count)
            let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
            return (m, (v / Double(xs.count)).squareRoot())
        }
        let (meanGap, meanError) = meanAndError(blockMeans)
        #expect(abs(meanGap - 1 / rate) <= sigmas * meanError,
                "mean gap \(meanGap) ± \(meanError), expected \(1 / rate)")
        #expect(meanError < 0.02 / rate, "the check has teeth")
        // The scv of the whole sample (a ratio estimator, biased only by O(1/n)),
        // with the standard error of the block scvs' average, to which it is equal
        // to first order.
        let variance = gaps.reduce(0) { $0 + ($1 - meanGap) * ($1 - meanGap) } / Double(n - 1)
        let scv = variance / (meanGap * meanGap)
        let (_, scvError) = meanAndError(blockScvs)
        #expect(abs(scv - process.scv) <= sigmas * scvError, "scv \(scv) ± \(scvError), expected \(process.scv)")
        #expect(scvError < 0.1 * process.scv, "the check has teeth")
        // Renewal: consecutive gaps are uncorrelated (lag-1 correlation ~ N(0, 1/n)).
        let m = meanGap
        var cross = 0.0, square = 0.0
        for i in 1..<n { cross += (gaps[i] - m) * (gaps[i - 1] - m); square += (gaps[i] - m) * (gaps[i] - m) }
        let correlation = cross / square
        #expect(abs(correlation) <= sigmas * (1 / Double(n)).squareRoot() * 3,
                "lag-1 correlation \(correlation)")  // x3: heavy tails widen its spread
    }

    @Test("the gap distribution equals that of the on/off source run directly (two-sample KS)")
    func gapDistribution() {
        let process = OnOffDefinition(rate: 1, onFraction: 0.4, meanOn: 3)
        let n = 200_000
        let simulated = Self.engineGaps(process, count: n).sorted()
        let reference = referenceGaps(process, count: n, seed: 11).sorted()
        var i = 0, j = 0, distance = 0.0
        while i < n && j < n {
            if simulated[i] <= reference[j] { i += 1 } else { j += 1 }
            distance = max(distance, abs(Double(i - j)) / Double(n))
        }
        // Two-sample KS critical value at level 1e-4: sqrt(-ln(0.5e-4) / 2) * sqrt(2 / n).
        let critical = (-log(0.5e-4) / 2).squareRoot() * (2 / Double(n)).squareRoot()
        #expect(distance < critical, "KS distance \(distance), critical \(critical)")
    }

    @Test("the same seed gives the same arrivals")
    func seeded() {
        let process = OnOffDefinition(rate: 1, onFraction: 0.4, meanOn: 3)
        #expect(Self.engineGaps(process, count: 1000, seed: 5) == Self.engineGaps(process, count: 1000, seed: 5))
        #expect(Self.engineGaps(process, count: 1000, seed: 5) != Self.engineGaps(process, count: 1000, seed: 6))
    }

    // MARK: Exact queueing results

    @Test("IPP/M/1 at station 1 matches GI/M/1 theory", arguments: [
        (0.5, 0.5, 4.0, 1.2),  // scv 3, load 0.6
        (0.5, 0.3, 2.0, 1.0),  // scv 4.3, load 0.5
    ])
    func ippM1(rate: Double, onFraction: Double, meanOn: Double, service: Double) throws {
        let process = OnOffDefinition(rate: rate, onFraction: onFraction, meanOn: meanOn)
        let config = TandemConfig(arrivalRate: rate, onOff: OnOffSpec(onFraction: onFraction, meanOn: meanOn),
                                  stations: [station(mean: service), station(servers: 4, mean: 0.1)], run: theoryRun)
        let report = Simulator.simulate(config)
        // GI/M/1: sigma = A*(mu (1 - sigma)) has one root in (0, 1) when the load is
        // below 1; f(sigma) = A*(mu (1 - sigma)) - sigma is positive below it and
        // negative above it, so bisection finds it.
        let mu = 1 / service
        var low = 0.0, high = 1 - 1e-9
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if process.transform(mu * (1 - mid)) > mid { low = mid } else { high = mid }
        }
        let sigma = (low + high) / 2
        let wait = sigma / (mu * (1 - sigma))
        try expectMatches(report, "stations.1.meanQueueWait", wait, maxRelativeHalfWidth: 0.05,
                          "IPP/M/1 wait, scv \(process.scv)")
        try expectMatches(report, "stations.1.meanResponse", wait + service, "IPP/M/1 response")
        try expectMatches(report, "stations.1.utilization", rate * service, "IPP/M/1 utilization")
        try expectMatches(report, "throughput", rate, "long-run rate")
    }

    @Test("onFraction 1 is a Poisson process: M/M/1, and the very numbers of arrival.scv 1")
    func alwaysOnIsPoisson() throws {
        let lambda = 0.5, s = 1.2
        let stations = [station(mean: s), station(servers: 4, mean: 0.1)]
        let onOff = TandemConfig(arrivalRate: lambda, onOff: OnOffSpec(onFraction: 1, meanOn: 7), stations: stations,
                                 run: theoryRun)
        #expect(onOff.arrivalScv == 1)
        let report = Simulator.simulate(onOff)
        let response = 1 / (1 / s - lambda)
        try expectMatches(report, "stations.1.meanResponse", response, "M/M/1 response")
        try expectMatches(report, "stations.1.meanQueueWait", response - s, maxRelativeHalfWidth: 0.05, "M/M/1 wait")
        // Poisson arrivals are drawn the same way either way, from the same stream.
        let small = RunSettings(jobs: 20_000, replications: 2, seed: 9)
        let poisson = TandemConfig(arrivalRate: lambda, stations: stations, run: small)
        var alwaysOn = poisson
        alwaysOn.onOff = OnOffSpec(onFraction: 1, meanOn: 7)
        let a = Simulator.simulate(poisson), b = Simulator.simulate(alwaysOn)
        #expect(a.estimates.map(\.mean) == b.estimates.map(\.mean))
    }

    // MARK: Dataset columns

    @Test("dataset columns carry the on/off process and rebuild it; rows without them are renewal")
    func columns() throws {
        let config = TandemConfig(arrivalRate: 2, onOff: OnOffSpec(onFraction: 0.25, meanOn: 8),
                                  batch: .geometric(mean: 3), stations: [station(mean: 0.05), station(mean: 0.1)])
        let cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names, ConfigColumns.cells(of: config)))
        #expect(cells["arrival.onFraction"] == "0.25")
        #expect(cells["arrival.meanOn"] == "8")
        let scv = try #require(Double(cells["arrival.scv"] ?? ""))
        let expected = OnOffDefinition(rate: 2, onFraction: 0.25, meanOn: 8).scv
        #expect(abs(scv - expected) < 1e-9 * expected, "arrival.scv holds the process's scv")
        let rebuilt = try ConfigColumns.config { cells[$0] }
        #expect(rebuilt.onOff == config.onOff)
        #expect(rebuilt.arrivalRate == 2)

        // A renewal row: onFraction 1, meanOn 0.
        let renewal = TandemConfig(arrivalRate: 2, arrivalScv: 4, stations: [station(mean: 0.05), station(mean: 0.1)])
        var renewalCells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names, ConfigColumns.cells(of: renewal)))
        #expect(renewalCells["arrival.onFraction"] == "1")
        #expect(renewalCells["arrival.meanOn"] == "0")
        #expect(try ConfigColumns.config { renewalCells[$0] }.onOff == nil)
        // An older dataset without the columns, or with empty cells.
        renewalCells["arrival.meanOn"] = ""
        #expect(try ConfigColumns.config { renewalCells[$0] }.interArrival.scv == 4)
        for name in ConfigColumns.optionalNames { renewalCells[name] = nil }
        let old = try ConfigColumns.config { renewalCells[$0] }
        #expect(old.onOff == nil && old.interArrival.scv == 4)
        // A required column missing is named.
        renewalCells["arrival.scv"] = nil
        #expect(throws: ConfigError.self) { try ConfigColumns.config { renewalCells[$0] } }
    }
}

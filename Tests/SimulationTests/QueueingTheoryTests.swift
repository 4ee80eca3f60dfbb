// The simulator against queueing theory's closed forms.
//
// Tolerance: every estimate must lie within two 95% half-widths of the exact value
// (about four standard errors, so a correct simulator fails a given check with
// probability below 1e-4), and the half-width itself must be small (a few percent)
// so that the check has teeth. Seeds are fixed, so the outcome is reproducible.

import Foundation
import Testing
@testable import Simulation

/// Checks a metric of a simulated report against its exact value: the run was
/// stable, the half-width is small enough for the check to have teeth, and the
/// exact value lies within two half-widths.
func expectMatches(_ report: SimulationReport, _ metric: String, _ exact: Double,
                   maxRelativeHalfWidth: Double = 0.03, _ label: String = "") throws {
    #expect(report.stable, "expected a stable run: \(report.unstableReason ?? "")")
    let estimate = try #require(report.estimate(metric))
    let ci = try #require(estimate.ci95)
    #expect(ci <= maxRelativeHalfWidth * abs(estimate.mean), "\(metric): half-width \(ci) too wide to test")
    #expect(abs(estimate.mean - exact) <= 2 * ci,
            "\(metric) \(label): simulated \(estimate.mean) ± \(ci), exact \(exact)")
}

func station(servers: Int = 1, mean: Double, scv: Double = 1) -> StationConfig {
    StationConfig(servers: servers, service: MomentSpec(mean: mean, scv: scv))
}

let theoryRun = RunSettings(jobs: 200_000, replications: 10, warmup: 0.1, seed: 2025)

/// Erlang's C formula: the probability that an arrival waits in M/M/c with offered
/// load a = lambda / mu (in servers).
func erlangC(servers c: Int, offered a: Double) -> Double {
    var term = 1.0
    var sum = 1.0
    for k in 1..<c {
        term *= a / Double(k)
        sum += term
    }
    let last = term * a / Double(c) * Double(c) / (Double(c) - a)
    return last / (sum + last)
}

@Suite("Closed forms of queueing theory")
struct QueueingTheoryTests {
    @Test("M/M/1 -> M/M/1 tandem (Jackson): means, per-station figures and percentiles")
    func jacksonTandem() throws {
        let lambda = 0.5, s1 = 1.0, s2 = 1.2
        let config = TandemConfig(arrivalRate: lambda, stations: [station(mean: s1), station(mean: s2)], run: theoryRun)
        let report = Simulator.simulate(config)
        let r1 = 1 / (1 / s1 - lambda), r2 = 1 / (1 / s2 - lambda)
        try expectMatches(report, "meanResponse", r1 + r2)
        try expectMatches(report, "stations.1.meanResponse", r1)
        try expectMatches(report, "stations.2.meanResponse", r2)
        try expectMatches(report, "stations.1.meanQueueWait", r1 - s1)
        try expectMatches(report, "stations.2.utilization", lambda * s2)
        try expectMatches(report, "throughput", lambda)
        try expectMatches(report, "meanJobsInSystem", lambda * (r1 + r2))
        // Sojourn times at the two stations are independent exponentials (Reich),
        // so the end-to-end response is hypoexponential: solve its CDF for each quantile.
        let a1 = 1 / r1, a2 = 1 / r2
        func cdf(_ t: Double) -> Double { 1 - (a2 * exp(-a1 * t) - a1 * exp(-a2 * t)) / (a2 - a1) }
        for (metric, q) in [("p50Response", 0.5), ("p95Response", 0.95), ("p99Response", 0.99)] {
            var low = 0.0, high = 1000.0
            for _ in 0..<200 { let mid = (low + high) / 2; if cdf(mid) < q { low = mid } else { high = mid } }
            try expectMatches(report, metric, low)
        }
    }

    @Test("M/M/c -> M/M/c: Erlang C waiting time at each station (Burke: Poisson output)")
    func erlangCTandem() throws {
        let lambda = 2.0
        let config = TandemConfig(arrivalRate: lambda,
                                  stations: [station(servers: 3, mean: 1.0), station(servers: 4, mean: 1.5)],
                                  run: theoryRun)
        let report = Simulator.simulate(config)
        for (index, (c, s)) in [(3, 1.0), (4, 1.5)].enumerated() {
            let a = lambda * s
            let wait = erlangC(servers: c, offered: a) * s / (Double(c) - a)
            try expectMatches(report, "stations.\(index + 1).meanQueueWait", wait, maxRelativeHalfWidth: 0.05)
            try expectMatches(report, "stations.\(index + 1).meanResponse", wait + s)
            try expectMatches(report, "stations.\(index + 1).utilization", a / Double(c))
        }
    }

    @Test("M/M/c -> M/M/c with many servers (the heap and stack of slots): Erlang C", arguments: [24, 64])
    func erlangCManyServers(servers c: Int) throws {
        // Station 1 at load 0.9, where waits are a sizeable part of the response;
        // station 2 at 0.6. Both above StationState.scanLimit (8).
        let s1 = 1.0, s2 = 2.0 / 3, lambda = 0.9 * Double(c) / s1
        let config = TandemConfig(arrivalRate: lambda,
                                  stations: [station(servers: c, mean: s1), station(servers: c, mean: s2)],
                                  run: theoryRun)
        let report = Simulator.simulate(config)
        for (index, s) in [s1, s2].enumerated() {
            let a = lambda * s
            let wait = erlangC(servers: c, offered: a) * s / (Double(c) - a)
            if index == 0 {
                try expectMatches(report, "stations.1.meanQueueWait", wait, maxRelativeHalfWidth: 0.1)
            }
            try expectMatches(report, "stations.\(index + 1).meanResponse", wait + s)
            try expectMatches(report, "stations.\(index + 1).utilization", a / Double(c))
        }
    }

    @Test("M/G/1 (Pollaczek-Khinchine) at station 1", arguments: [0.0, 0.5, 1.0, 4.0])
    func pollaczekKhinchine(scv: Double) throws {
        let lambda = 0.5, s = 1.2
        let config = TandemConfig(arrivalRate: lambda,
                                  stations: [station(mean: s, scv: scv), station(servers: 2, mean: 0.1)],
                                  run: theoryRun)
        let report = Simulator.simulate(config)
        // The realised scv of the Erlang family is 1/k (exactly 0.5 here).
        let realised = MomentSampler(MomentSpec(mean: s, scv: scv)).realisedScv
        let rho = lambda * s
        let wait = lambda * (1 + realised) * s * s / (2 * (1 - rho))
        try expectMatches(report, "stations.1.meanQueueWait", wait, maxRelativeHalfWidth: 0.05,
                          "M/G/1 wait, scv \(scv)")
        try expectMatches(report, "stations.1.meanResponse", wait + s, "M/G/1 response, scv \(scv)")
    }

    @Test("M^X/M/1 with geometric and deterministic batches at station 1", arguments: ["geometric", "deterministic"])
    func batchPoisson(dist: String) throws {
        let batchRate = 0.25, mean = 4.0, s = 0.6
        let batch: BatchSizeSpec = dist == "geometric" ? .geometric(mean: mean) : .deterministic(Int(mean))
        // E[X^2]: geometric on 1, 2, ... with p = 1/mean has (2 - p) / p^2.
        let p = 1 / mean
        let secondMoment = dist == "geometric" ? (2 - p) / (p * p) : mean * mean
        let config = TandemConfig(arrivalRate: batchRate, batch: batch,
                                  stations: [station(mean: s), station(servers: 4, mean: 0.1)], run: theoryRun)
        let report = Simulator.simulate(config)
        let rho = batchRate * mean * s
        // Mean wait of a random job in M^X/G/1 (Gross and Harris): the work found
        // ahead from earlier batches plus the jobs ahead within its own batch.
        let wait = (batchRate * mean * 2 * s * s / 2 + s * (secondMoment - mean) / (2 * mean)) / (1 - rho)
        try expectMatches(report, "stations.1.meanQueueWait", wait, maxRelativeHalfWidth: 0.05,
                          "M^X/M/1 wait, \(dist)")
        try expectMatches(report, "throughput", batchRate * mean, "throughput, \(dist)")
    }

    @Test("GI/M/1 with Erlang and hyperexponential arrivals", arguments: [0.5, 4.0])
    func renewalArrivals(scv: Double) throws {
        let lambda = 0.5, s = 1.4
        let config = TandemConfig(arrivalRate: lambda, arrivalScv: scv,
                                  stations: [station(mean: s), station(servers: 4, mean: 0.1)], run: theoryRun)
        let report = Simulator.simulate(config)
        // GI/M/1: W = sigma / (mu (1 - sigma)) where sigma = A*(mu (1 - sigma)) and A*
        // is the Laplace transform of the inter-arrival time.
        let mu = 1 / s
        let sampler = MomentSampler(MomentSpec(mean: 1 / lambda, scv: scv))
        func transform(_ x: Double) -> Double {
            switch sampler.family {
            case .erlang(let k):
                let rate = Double(k) * lambda
                return pow(rate / (rate + x), Double(k))
            case .hyperexponential(let p, let m1, let m2):
                return p / (1 + m1 * x) + (1 - p) / (1 + m2 * x)
            default:
                return 1 / (1 + x / lambda)
            }
        }
        var sigma = 0.5
        for _ in 0..<10_000 { sigma = transform(mu * (1 - sigma)) }
        let wait = sigma / (mu * (1 - sigma))
        try expectMatches(report, "stations.1.meanQueueWait", wait, maxRelativeHalfWidth: 0.05,
                          "GI/M/1 wait, arrival scv \(scv)")
    }
}

@Suite("Distributions")
struct DistributionTests {
    @Test("Samplers reproduce their mean and MODEL.md's realised scv",
          arguments: [0.0, 0.25, 0.4, 0.5, 1.0, 2.0, 9.0])
    func moments(scv: Double) {
        let sampler = MomentSampler(MomentSpec(mean: 2.0, scv: scv))
        var rng = RandomStream(seed: 7, substream: 1)
        let n = 400_000
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<n {
            let x = sampler.sample(&rng)
            sum += x
            sumSquares += x * x
        }
        let mean = sum / Double(n)
        let variance = sumSquares / Double(n) - mean * mean
        let expectedScv = sampler.realisedScv
        // Standard error of the mean is 2 sqrt(scv / n) <= 0.01 here; allow 5 of them.
        #expect(abs(mean - 2.0) <= 5 * 2.0 * (max(expectedScv, 1e-12) / Double(n)).squareRoot() + 1e-12)
        #expect(abs(variance / (mean * mean) - expectedScv) <= 0.05 * max(expectedScv, 0.02))
    }

    @Test("A sampler's survival function matches its draws and hand-computed tails",
          arguments: [0.0, 0.25, 0.4, 1.0, 2.0, 9.0])
    func survival(scv: Double) {
        let sampler = MomentSampler(MomentSpec(mean: 2.0, scv: scv))
        var rng = RandomStream(seed: 11, substream: 2)
        let n = 200_000
        let points = [0.5, 1.0, 2.0, 4.0, 8.0]
        var above = [Int](repeating: 0, count: points.count)
        for _ in 0..<n {
            let x = sampler.sample(&rng)
            for (i, point) in points.enumerated() where x > point { above[i] += 1 }
        }
        for (i, point) in points.enumerated() {
            let p = sampler.survival(point)
            let empirical = Double(above[i]) / Double(n)
            // Binomial standard error at most 0.0012 here; allow 5 of them.
            #expect(abs(empirical - p) <= 5 * (max(p * (1 - p), 1e-6) / Double(n)).squareRoot() + 1e-4,
                    "scv \(scv), P(X > \(point)): \(p) against \(empirical) drawn")
        }
        #expect(sampler.survival(-1) == 1)
    }

    @Test("Survival by hand: exponential, Erlang-2, deterministic, zero")
    func survivalByHand() {
        #expect(abs(MomentSampler(MomentSpec(mean: 2, scv: 1)).survival(1) - exp(-0.5)) < 1e-15)
        // Erlang-2 of mean 1: two stages of rate 2, P(X > 1) = e^-2 (1 + 2).
        #expect(abs(MomentSampler(MomentSpec(mean: 1, scv: 0.5)).survival(1) - 3 * exp(-2)) < 1e-15)
        let fixed = MomentSampler(MomentSpec(mean: 3, scv: 0))
        #expect(fixed.survival(2.999) == 1 && fixed.survival(3) == 0)
        #expect(MomentSampler(MomentSpec(mean: 0, scv: 1)).survival(0) == 0)
    }

    @Test("Erlang stages: k = round(1/scv), halves up")
    func erlangStages() {
        #expect(MomentSampler.erlangStages(scv: 0.4) == 3)  // 1/0.4 = 2.5 rounds up
        #expect(MomentSampler.erlangStages(scv: 0.3) == 3)
        #expect(MomentSampler.erlangStages(scv: 0.26) == 4)
        #expect(MomentSampler.erlangStages(scv: 0.9) == 1)
    }

    @Test("Batch samplers reproduce their means", arguments: [
        BatchSizeSpec.geometric(mean: 3.5), .uniform(mean: 4.5), .deterministic(3),
        .empirical(values: [1, 2, 10], weights: [1, 2, 1]),
    ])
    func batchMeans(spec: BatchSizeSpec) {
        let sampler = BatchSampler(spec)
        var rng = RandomStream(seed: 3, substream: 9)
        let n = 200_000
        var sum = 0
        var smallest = Int.max
        for _ in 0..<n {
            let b = sampler.sample(&rng)
            sum += b
            smallest = min(smallest, b)
        }
        #expect(smallest >= 1)
        #expect(abs(Double(sum) / Double(n) - spec.mean) <= 0.02 * spec.mean)
    }
}

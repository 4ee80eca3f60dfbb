// Estimation (MODEL.md, "Estimation"): reproducibility across threads and
// replication counts, the precision target, run-time instability detection, the
// Student-t half-widths, and the JSON shape of a report.

import DuetSupport
import Foundation
import Testing
@testable import Simulation

@Suite("Estimation")
struct EstimationTests {
    // MARK: Configurations

    /// An M/M/1 -> M/M/1 tandem with the given job rate and service means.
    static func mm1Tandem(rate: Double = 0.5, means: (Double, Double) = (1.0, 1.2), run: RunSettings) -> TandemConfig {
        TandemConfig(arrivalRate: rate,
                     stations: [StationConfig(name: "a", service: MomentSpec(mean: means.0)),
                                StationConfig(name: "b", service: MomentSpec(mean: means.1))],
                     run: run)
    }

    /// A configuration with every mechanism on, so reproducibility covers batching,
    /// setup, cold starts, keep-alive and several servers.
    static func busyConfig(run: RunSettings) -> TandemConfig {
        TandemConfig(
            arrivalRate: 0.5, arrivalScv: 2, batch: .geometric(mean: 4),
            stations: [
                StationConfig(name: "edge", servers: 2, service: MomentSpec(mean: 0.3, scv: 1)),
                StationConfig(name: "cloud", servers: 16, service: MomentSpec(mean: 0.05, scv: 0.5), setup: 0.1,
                              maxBatch: 8, timeout: 0.25, coldStart: MomentSpec(mean: 1, scv: 1), keepAlive: 5),
            ],
            run: run)
    }

    /// Offered-load lower bound 0.22 at station 2, but every job goes alone (it is
    /// released at once with timeout 0 and never meets another), so each one holds
    /// the single instance for setup + service = 1.01 s at 2 jobs/s: real load ~2.
    static func hiddenOverload(jobs: Int, replications: Int = 2) -> TandemConfig {
        TandemConfig(
            arrivalRate: 2,
            stations: [
                StationConfig(name: "edge", service: MomentSpec(mean: 0.01)),
                StationConfig(name: "cloud", service: MomentSpec(mean: 0.01), setup: 1.0, maxBatch: 10, timeout: 0),
            ],
            run: RunSettings(jobs: jobs, replications: replications, warmup: 0.1, seed: 7, threads: 2))
    }

    /// Every estimate as bit patterns, so that equality means bit-identical
    /// (and NaN equals NaN).
    static func bits(_ report: SimulationReport) -> [[UInt64]] {
        report.estimates.map { [$0.mean.bitPattern, $0.ci95?.bitPattern ?? 0xDEAD] }
    }

    static func bits(_ vector: MetricVector) -> [UInt64] { vector.map(\.bitPattern) }

    static func metrics(_ result: Result<MetricVector, UnstableRun>) throws -> MetricVector {
        switch result {
        case .success(let vector): return vector
        case .failure(let unstable): throw unstable
        }
    }

    // MARK: (a) Reproducibility across threads and seeds

    @Test("Same config and seed give bit-identical estimates on 1, 2 and 3 threads; another seed differs")
    func threadsDoNotChangeNumbers() throws {
        for make in [{ Self.mm1Tandem(run: $0) }, { Self.busyConfig(run: $0) }] as [(RunSettings) -> TandemConfig] {
            var config = make(RunSettings(jobs: 3_000, replications: 4, warmup: 0.1, seed: 11))
            config.run.threads = 1
            let one = Simulator.simulate(config)
            config.run.threads = 2
            let two = Simulator.simulate(config)
            #expect(one.stable && two.stable)
            #expect(one.estimates.count == MetricCatalog.names.count)
            #expect(Self.bits(one) == Self.bits(two))
            // Every metric is a finite number with a half-width (4 replications).
            for (name, estimate) in zip(MetricCatalog.names, one.estimates) {
                #expect(estimate.mean.isFinite && estimate.ci95 != nil, "\(name): \(estimate)")
            }

            // 5 replications: 3 threads share them unevenly, still the same numbers.
            config.run.replications = 5
            config.run.threads = 1
            let fiveOnOne = Simulator.simulate(config)
            config.run.threads = 3
            let fiveOnThree = Simulator.simulate(config)
            config.run.threads = nil  // all cores
            let fiveOnAll = Simulator.simulate(config)
            #expect(Self.bits(fiveOnOne) == Self.bits(fiveOnThree))
            #expect(Self.bits(fiveOnOne) == Self.bits(fiveOnAll))

            // Another seed: other numbers (every metric that is random at all).
            config.run.seed = 12
            let other = Simulator.simulate(config)
            #expect(Self.bits(other) != Self.bits(fiveOnOne))
            #expect(other.estimates[0].mean != fiveOnOne.estimates[0].mean)
            #expect(other.estimates[2].mean != fiveOnOne.estimates[2].mean)
        }
    }

    @Test("The same inputs give the same numbers run after run")
    func repeatedRunsAgree() throws {
        let config = Self.busyConfig(run: RunSettings(jobs: 2_000, replications: 3, seed: 99, threads: 3))
        #expect(Self.bits(Simulator.simulate(config)) == Self.bits(Simulator.simulate(config)))
    }

    // MARK: (b) Replication r does not depend on the replication count

    @Test("Replication 2 is the same whether 3 or 5 replications run")
    func replicationIndependentOfCount() throws {
        let jobs = 2_000
        var three = Self.busyConfig(run: RunSettings(jobs: jobs, replications: 3, seed: 5, threads: 2))
        var five = three
        five.run.replications = 5
        five.run.threads = 3

        let alone3 = try Self.metrics(Simulator.runReplication(three, replication: 2, jobs: jobs))
        let alone5 = try Self.metrics(Simulator.runReplication(five, replication: 2, jobs: jobs))
        #expect(Self.bits(alone3) == Self.bits(alone5))

        // Inside whole runs, on different thread counts.
        let all3 = try Simulator.runReplications(three, jobs: jobs).map(Self.metrics)
        let all5 = try Simulator.runReplications(five, jobs: jobs).map(Self.metrics)
        #expect(all3.count == 3 && all5.count == 5)
        for r in 0..<3 {
            #expect(Self.bits(all3[r]) == Self.bits(all5[r]), "replication \(r)")
        }
        #expect(Self.bits(all3[2]) == Self.bits(alone3))
        // Replications are distinct streams.
        #expect(all5[0][0] != all5[1][0] && all5[1][0] != all5[2][0])

        // The report is the Student-t combination of exactly these replications.
        three.run.threads = 1
        let report = Simulator.simulate(three)
        for metric in MetricCatalog.names.indices {
            let expected = Estimate(replications: all3.map { $0[metric] })
            #expect(report.estimates[metric].mean.bitPattern == expected.mean.bitPattern)
            #expect(report.estimates[metric].ci95?.bitPattern == expected.ci95?.bitPattern)
        }
    }

    // MARK: (c) Precision target

    @Test("A precision target adds jobs until the relative half-width of meanResponse is met")
    func precisionMet() throws {
        // Light load: the per-replication means vary little, so a few rounds suffice.
        let run = RunSettings(jobs: 2_000, replications: 5, warmup: 0.1, seed: 3, precision: 0.02, maxJobs: 2_000_000)
        let config = Self.mm1Tandem(rate: 0.5, means: (0.5, 0.6), run: run)
        let report = Simulator.simulate(config)
        #expect(report.stable)
        #expect(report.precisionTarget == 0.02)
        #expect(report.precisionMet == true)
        let response = try #require(report.estimate("meanResponse"))
        let ci = try #require(response.ci95)
        #expect(ci / response.mean <= 0.02, "relative half-width \(ci / response.mean)")
        #expect(report.jobsPerReplication > 2_000)
        #expect(report.jobsPerReplication <= 2_000_000)
        #expect(report.jobs == report.jobsPerReplication * 5)
        // Exact value (Jackson): 1/(2-0.5) + 1/(1/0.6-0.5).
        let exact = 1 / (2 - 0.5) + 1 / (1 / 0.6 - 0.5)
        #expect(abs(response.mean - exact) <= 2 * ci, "\(response.mean) ± \(ci) vs \(exact)")

        // The final round is an ordinary run of that many jobs: the same numbers, up
        // to the rounding of sums the rounds add in another order.
        var fixed = config
        fixed.run.precision = nil
        fixed.run.jobs = report.jobsPerReplication
        let fresh = Simulator.simulate(fixed)
        #expect(fresh.jobsPerReplication == report.jobsPerReplication)
        for (a, b) in zip(report.estimates, fresh.estimates) {
            #expect(abs(a.mean - b.mean) <= 1e-9 * abs(b.mean), "\(a.mean) vs \(b.mean)")
            let ciA = try #require(a.ci95), ciB = try #require(b.ci95)
            #expect(abs(ciA - ciB) <= 1e-6 * max(ciB, 1e-12), "\(ciA) vs \(ciB)")
        }
    }

    @Test("A precision target that cannot be met stops at maxJobs and says so")
    func precisionNotMet() throws {
        let run = RunSettings(jobs: 500, replications: 3, warmup: 0.1, seed: 3, precision: 0.0001, maxJobs: 1_500)
        let report = Simulator.simulate(Self.mm1Tandem(run: run))
        #expect(report.stable)
        #expect(report.precisionTarget == 0.0001)
        #expect(report.precisionMet == false)
        #expect(report.jobsPerReplication == 1_500)
        #expect(report.jobs == 4_500)
        let json = report.json.text(numbers: .plain)
        #expect(json.contains("\"precisionMet\":false"))
    }

    @Test("Without a precision target nothing is said about precision")
    func noPrecision() {
        let report = Simulator.simulate(Self.mm1Tandem(run: RunSettings(jobs: 500, replications: 2)))
        #expect(report.precisionTarget == nil && report.precisionMet == nil)
        #expect(report.jobsPerReplication == 500)
    }

    // MARK: (d) Instability detected at run time

    @Test("A station whose real load exceeds 1 below an offered load of 1 is reported unstable, early")
    func hiddenOverloadIsUnstable() throws {
        let jobs = 50_000_000
        let config = Self.hiddenOverload(jobs: jobs)
        let loads = config.offeredLoads
        #expect(loads.allSatisfy { $0 < 1 }, "the up-front check must not catch this one: \(loads)")
        #expect(throws: Never.self) { try ConfigLoader.checkStability(config) }

        let report = Simulator.simulate(config)
        #expect(report.stable == false)
        #expect(report.estimates.isEmpty)
        #expect(report.estimate("meanResponse") == nil)
        let reason = try #require(report.unstableReason)
        #expect(reason.contains("station 2"), "\(reason)")
        #expect(!reason.contains("station 1"), "\(reason)")
        #expect(reason.contains("grows without bound"), "\(reason)")

        // It stopped early: the reason's arrival count is a tiny share of the run.
        let arrivals = try #require(Self.arrivalCount(in: reason), "no arrival count in: \(reason)")
        #expect(arrivals > 0 && arrivals < 100_000, "\(reason)")
        #expect(arrivals * 100 < jobs)

        // One replication on its own says the same.
        let single = Simulator.runReplication(config, replication: 0, jobs: jobs)
        guard case .failure(let unstable) = single else {
            Issue.record("replication 0 completed")
            return
        }
        #expect(unstable.reason.hasPrefix("station 2"), "\(unstable.reason)")
        // A generous wall-clock guard too: 50 million jobs would take minutes.
        #expect(report.seconds < 30)
    }

    /// The N of "after N arrivals" in an instability reason.
    static func arrivalCount(in reason: String) -> Int? {
        guard let range = reason.range(of: " arrivals") else { return nil }
        let before = reason[..<range.lowerBound]
        let digits = before.reversed().prefix { $0.isNumber }
        return Int(String(digits.reversed()))
    }

    @Test("A stable heavy tandem (load 0.9, M/M/1, 200k jobs) is not flagged")
    func heavyButStable() throws {
        let run = RunSettings(jobs: 200_000, replications: 2, warmup: 0.1, seed: 21, threads: 2)
        let config = Self.mm1Tandem(rate: 0.9, means: (1.0, 1.0), run: run)
        #expect(config.offeredLoads.map { ($0 * 1e9).rounded() / 1e9 } == [0.9, 0.9])
        let report = Simulator.simulate(config)
        #expect(report.stable, "\(report.unstableReason ?? "")")
        #expect(report.unstableReason == nil)
        let response = try #require(report.estimate("meanResponse"))
        // Jackson: 2 x 1/(1 - 0.9) = 20 s; loosely, since 2 replications are few.
        #expect(response.mean > 12 && response.mean < 30, "\(response.mean)")
    }

    // MARK: (e) Student-t half-widths

    @Test("Estimate(replications:) is the mean with a Student-t 95% half-width")
    func studentTEstimate() throws {
        // Values 1, 2, 3, 4: mean 2.5, sample variance 5/3, standard error
        // sqrt(5/3 / 4) = 0.6454972, t(0.975, 3) = 3.182 -> half-width 2.0539721.
        let estimate = Estimate(replications: [1, 2, 3, 4])
        #expect(estimate.mean == 2.5)
        let ci = try #require(estimate.ci95)
        #expect(abs(ci - 2.0539721) < 1e-6, "\(ci)")

        // Two values 10, 12: mean 11, variance 2, se 1, t(0.975, 1) = 12.706.
        let two = Estimate(replications: [10, 12])
        #expect(two.mean == 11)
        #expect(abs((two.ci95 ?? 0) - 12.706) < 1e-9)

        // Identical values: no spread.
        #expect(Estimate(replications: [3, 3, 3]) == Estimate(mean: 3, ci95: 0))
        // One replication: no half-width.
        #expect(Estimate(replications: [4.5]) == Estimate(mean: 4.5, ci95: nil))
    }

    @Test("t(0.975, df) matches the table", arguments: [
        (1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (20, 2.086), (30, 2.042),
        (31, 2.040), (40, 2.021), (60, 2.000), (120, 1.980), (1000, 1.962), (1_000_000, 1.960),
    ])
    func studentTQuantile(_ df: Int, _ expected: Double) {
        let value = StudentT.quantile975(degreesOfFreedom: df)
        #expect(abs(value - expected) < 1e-3, "df \(df): \(value), table \(expected)")
    }

    @Test("t(0.975, df) decreases with df towards 1.96, also across the end of the table")
    func studentTMonotone() {
        var previous = Double.infinity
        for df in 1...400 {
            let value = StudentT.quantile975(degreesOfFreedom: df)
            #expect(value < previous, "df \(df)")
            #expect(value > 1.959964)
            previous = value
        }
    }

    // MARK: (f) JSON shape

    @Test("report.json has MODEL.md's shape")
    func jsonShape() throws {
        let config = Self.busyConfig(run: RunSettings(jobs: 2_000, replications: 3, seed: 1))
        let report = Simulator.simulate(config)
        let object = try Self.parseObject(report.json.text(numbers: .plain))
        // Pretty output parses to the same thing.
        let pretty = try Self.parseObject(report.json.text(numbers: .plain, pretty: true))
        let canonical = { (value: [String: Any]) in
            try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        }
        #expect(try canonical(object) == canonical(pretty))

        func expectMetric(_ value: Any?, _ name: String, _ expected: Estimate) {
            guard let metric = value as? [String: Any] else {
                Issue.record("\(name) is not an object: \(String(describing: value))")
                return
            }
            #expect(Set(metric.keys) == ["mean", "ci95"], "\(name)")
            // The text holds the shortest round-trip digits: reading them back gives
            // the very same Double.
            #expect(Self.exactDouble(metric["mean"]) == expected.mean, "\(name)")
            #expect(Self.exactDouble(metric["ci95"]) == expected.ci95, "\(name)")
        }
        for (i, name) in MetricCatalog.systemMetrics.enumerated() {
            expectMetric(object[name], name, report.estimates[i])
        }
        for name in ["meanResponse", "p50Response", "p95Response", "p99Response", "throughput", "meanJobsInSystem"] {
            #expect(object[name] != nil, "missing \(name)")
        }
        let stations = try #require(object["stations"] as? [[String: Any]])
        #expect(stations.count == 2)
        #expect(stations.map { $0["name"] as? String } == ["edge", "cloud"])
        let stationMetrics = ["meanResponse", "meanBufferWait", "meanQueueWait", "utilization", "meanBatchSize",
                              "coldStartFraction", "instanceSecondsPerJob"]
        for (k, station) in stations.enumerated() {
            #expect(Set(station.keys) == Set(["name"] + stationMetrics), "station \(k + 1): \(station.keys)")
            for name in stationMetrics {
                let flat = "stations.\(k + 1).\(name)"
                expectMetric(station[name], flat, try #require(report.estimate(flat)))
            }
        }
        #expect((object["jobs"] as? NSNumber)?.intValue == 6_000)
        #expect((object["replications"] as? NSNumber)?.intValue == 3)
        #expect(object["stable"] as? Bool == true)
        #expect(object["reason"] == nil)
        #expect(object["precision"] == nil && object["precisionMet"] == nil)
        #expect(object["seconds"] is NSNumber)

        // Unnamed stations: name null.
        var unnamed = Self.mm1Tandem(run: RunSettings(jobs: 500, replications: 1))
        unnamed.stations[0].name = nil
        let single = try Self.parseObject(Simulator.simulate(unnamed).json.text(numbers: .plain))
        let singleStations = try #require(single["stations"] as? [[String: Any]])
        #expect(singleStations[0]["name"] is NSNull)
        #expect(singleStations[1]["name"] as? String == "b")
        // One replication: ci95 null, not a number.
        let response = try #require(single["meanResponse"] as? [String: Any])
        #expect(response["ci95"] is NSNull)
        #expect(response["mean"] is NSNumber)
    }

    @Test("An unstable report's JSON has stable false, the reason, and no metrics")
    func unstableJSON() throws {
        let report = Simulator.simulate(Self.hiddenOverload(jobs: 1_000_000))
        #expect(report.stable == false)
        let object = try Self.parseObject(report.json.text(numbers: .plain))
        #expect(object["stable"] as? Bool == false)
        #expect((object["replications"] as? NSNumber)?.intValue == 2)
        #expect((object["reason"] as? String)?.contains("station 2") == true)
        for name in MetricCatalog.systemMetrics + ["stations"] {
            #expect(object[name] == nil, "\(name) present in an unstable report")
        }
        for key in object.keys {
            #expect(!MetricCatalog.stationMetrics.contains(key), "\(key)")
        }
    }

    /// A parsed JSON number as the Double its digits denote. On Linux,
    /// JSONSerialization returns long numbers as NSDecimalNumber, whose
    /// `doubleValue` can be an ulp off; its `description` keeps the digits.
    static func exactDouble(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber else { return nil }
        return Double(number.description) ?? number.doubleValue
    }

    static func parseObject(_ text: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(parsed as? [String: Any], "not a JSON object: \(text)")
    }
}

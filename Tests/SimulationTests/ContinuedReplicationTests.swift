// A precision target's rounds go on from the last one (ContinuedReplication): a round
// must give what a fresh run of its length gives (MODEL.md fine point 6: a run of N
// jobs stops arriving after job N, lets every job complete and drops the first
// floor(warmup x N)), whatever came before it.

import Foundation
import Testing
@testable import Simulation

@Suite("Continued replications")
struct ContinuedReplicationTests {
    /// Batches cut short at every stop (geometric sizes), timeouts pending when the
    /// arrivals stop, setup, cold starts and keep-alive (EstimationTests.busyConfig),
    /// and a third station that batches too.
    static func chain(run: RunSettings) -> TandemConfig {
        var config = EstimationTests.busyConfig(run: run)
        config.stations.append(StationConfig(name: "store", servers: 3, service: MomentSpec(mean: 0.4, scv: 2),
                                             maxBatch: 3, timeout: 0.5))
        return config
    }

    /// Bursty Markov-modulated batches: the arrival clock and levels must go on too.
    static func bursty(run: RunSettings) -> TandemConfig {
        let source = MMPPSource(rates: [0.2, 1.5], meanHolds: [20, 5])
        return TandemConfig(mmpp: MMPPSpec(sources: [source]), batch: .geometric(mean: 3),
                            stations: chain(run: run).stations, run: run)
    }

    /// Each metric within a relative 1e-9 of the fresh run's (sums are added in
    /// another order), NaN where the fresh run has NaN.
    static func expectClose(_ continued: MetricVector, _ fresh: MetricVector, _ label: String) {
        #expect(continued.count == fresh.count, "\(label): metric count")
        for (index, (a, b)) in zip(continued, fresh).enumerated() {
            if b.isNaN {
                #expect(a.isNaN, "\(label): metric \(index) is \(a), fresh NaN")
            } else {
                let scale = max(abs(b), 1e-300)
                #expect(abs(a - b) / scale <= 1e-9, "\(label): metric \(index): continued \(a), fresh \(b)")
            }
        }
    }

    static func metrics(_ result: Result<MetricVector, UnstableRun>) throws -> MetricVector {
        switch result {
        case .success(let vector): return vector
        case .failure(let unstable): throw unstable
        }
    }

    @Test("Every round of a continued replication measures what a fresh run of its length does",
          arguments: ["chain", "bursty"])
    func roundsMatchFreshRuns(arrivals: String) throws {
        let run = RunSettings(jobs: 3_000, replications: 2, warmup: 0.1, seed: 11, precision: 0.01, maxJobs: 40_000)
        let config = arrivals == "chain" ? Self.chain(run: run) : Self.bursty(run: run)
        let ladder = RoundLadder(jobs: run.jobs, maxJobs: run.maxJobs, warmup: run.warmup)
        // Skip some steps, as a round that aims far past the target does.
        let steps = [0, 1, 4, 5, ladder.lengths.count - 1]
        for replication in 0..<2 {
            let continued = ContinuedReplication(config, replication: replication, ladder: ladder)
            for step in steps {
                let jobs = ladder.lengths[step]
                let round = try continued.measure(jobs: jobs, firstKeptJob: ladder.firstKeptJobs[step]).get()
                // A round's partial vector leaves out the percentiles alone; complete() adds them.
                let percentilesLeftOut = round.partial[1...3].allSatisfy { $0.isNaN }
                #expect(percentilesLeftOut)
                let measured = round.complete()
                let restKept = zip(measured, round.partial).enumerated().allSatisfy { index, pair in
                    (1...3).contains(index) || pair.0 == pair.1
                }
                #expect(restKept, "complete() changes only the percentiles")
                let fresh = try Self.metrics(Simulator.runReplication(config, replication: replication, jobs: jobs))
                Self.expectClose(measured, fresh, "\(arrivals), replication \(replication), \(jobs) jobs")
            }
        }
    }

    /// The controls' inputs (gaps, batch sizes, service draws) are kept by stretch
    /// too: a corrected round must be the fresh run corrected the same way. The
    /// coefficients are arbitrary and touch every control and every corrected metric.
    @Test("Rounds corrected by control variates match fresh runs corrected the same way",
          arguments: ["chain", "bursty"])
    func correctedRoundsMatchFreshRuns(arrivals: String) throws {
        let run = RunSettings(jobs: 3_000, replications: 1, warmup: 0.1, seed: 13, precision: 0.01, maxJobs: 20_000)
        let config = arrivals == "chain" ? Self.chain(run: run) : Self.bursty(run: run)
        let controls = ControlCoefficients(
            means: [config.interArrival.mean, config.batch.mean] + config.stations.map(\.service.mean),
            response: [-2, 0.7, 3, 1.5, 0.8], stations: [[-1, 0.2, 3, 0, 0], [-0.6, 0.3, 0, 1.5, 0], [-0.4, 0.2, 0, 0, 0.8]])
        let ladder = RoundLadder(jobs: run.jobs, maxJobs: run.maxJobs, warmup: run.warmup)
        let continued = ContinuedReplication(config, replication: 0, ladder: ladder)
        for step in [0, 2, ladder.lengths.count - 1] {
            let jobs = ladder.lengths[step]
            let round = try continued.measure(jobs: jobs, firstKeptJob: ladder.firstKeptJobs[step]).get()
            let fresh = try Self.metrics(Simulator.runReplication(config, replication: 0, jobs: jobs, controls: controls))
            let plain = try Self.metrics(Simulator.runReplication(config, replication: 0, jobs: jobs))
            Self.expectClose(round.complete(controls), fresh, "\(arrivals), \(jobs) jobs")
            // The correction moved the response metrics and nothing else.
            let station1 = MetricCatalog.stationIndex(0, 0)
            #expect(fresh[0] != plain[0] && fresh[station1] != plain[station1])
            #expect(fresh[4] == plain[4] && fresh[station1 + 1] == plain[station1 + 1],
                    "throughput and buffer waits stay plain")
        }
    }

    @Test("Without warm-up every round keeps every job, in one stretch")
    func noWarmup() throws {
        let run = RunSettings(jobs: 2_000, replications: 1, warmup: 0, seed: 5, precision: 0.01, maxJobs: 9_000)
        let config = Self.chain(run: run)
        let ladder = RoundLadder(jobs: run.jobs, maxJobs: run.maxJobs, warmup: run.warmup)
        #expect(ladder.boundaries == [0])
        let continued = ContinuedReplication(config, replication: 0, ladder: ladder)
        for step in ladder.lengths.indices {
            let jobs = ladder.lengths[step]
            let measured = try continued.measure(jobs: jobs, firstKeptJob: 0).get().complete()
            Self.expectClose(measured, try Self.metrics(Simulator.runReplication(config, replication: 0, jobs: jobs)),
                             "\(jobs) jobs")
        }
    }

    @Test("The ladder climbs from jobs to maxJobs by at most a quarter octave a step")
    func ladder() {
        let ladder = RoundLadder(jobs: 20_000, maxJobs: 2_000_000, warmup: 0.1)
        #expect(ladder.lengths.first == 20_000)
        #expect(ladder.lengths.last == 2_000_000)
        for (low, high) in zip(ladder.lengths, ladder.lengths.dropFirst()) {
            #expect(high > low)
            #expect(Double(high) <= Double(low) * RoundLadder.step + 1, "\(low) -> \(high)")
        }
        // Hand-computed: 20,000 x 2^(k/4) for k = 1, 2; warm-up floor(0.1 x N).
        #expect(Array(ladder.lengths.prefix(3)) == [20_000, 23_784, 28_284])
        #expect(Array(ladder.firstKeptJobs.prefix(3)) == [2_000, 2_378, 2_828])
        // A round that needs 3.3 times its jobs goes to the first length past it.
        let next = ladder.step(after: 0, reaching: 66_000)
        #expect(ladder.lengths[next] >= 66_000 && ladder.lengths[next - 1] < 66_000)
        #expect(ladder.step(after: 0, reaching: 1e12) == ladder.lengths.count - 1)
        // Already at the cap: one length.
        #expect(RoundLadder(jobs: 5_000, maxJobs: 1_000, warmup: 0.1).lengths == [5_000])
    }

    @Test("A run found unstable in a later round is reported unstable, with the station named")
    func unstableInALaterRound() {
        // Station 2's real load is about 2 (EstimationTests.hiddenOverload): the
        // queue's growth shows once enough invocations have been judged.
        var config = EstimationTests.hiddenOverload(jobs: 500)
        config.run.precision = 0.0001
        config.run.maxJobs = 200_000
        let report = Simulator.simulate(config)
        #expect(!report.stable)
        #expect(report.unstableReason?.contains("station 2") == true, "\(report.unstableReason ?? "no reason")")
    }
}

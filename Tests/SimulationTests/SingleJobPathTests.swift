// A station whose maxBatch is 1 releases each job the moment it enters, so the engine
// skips its buffer there (`Pass.releasesAlone`) and the metrics take such an
// invocation in one call (`TandemObserver.invocationOfOne`). Both must measure what
// the buffer path measures: the same invocations and departures, and the same
// metrics, on chains that mix such stations with batching ones, cold starts that
// expire, bursty arrivals and many servers. The hand-computed scenarios
// (DeterministicScenarioTests) run both ways as well.

import Testing
@testable import Simulation

@Suite("Jobs released alone")
struct SingleJobPathTests {
    typealias D = DeterministicScenario
    static let run = RunSettings(jobs: 20_000, replications: 1, warmup: 0.1, seed: 5)

    static func configs() -> [(String, TandemConfig)] {
        // Loads about 0.1 to 0.6: queues form, and idle instances are reclaimed. The
        // mixed chain has a maxBatch-1 station between two others, whose jobs come
        // from a batching station and go on to a third.
        let plain = StationConfig(servers: 3, service: MomentSpec(mean: 1.2, scv: 2))
        let cold = StationConfig(servers: 12, service: MomentSpec(mean: 2, scv: 0.5), setup: 0.02,
                                 coldStart: MomentSpec(mean: 0.3, scv: 1), keepAlive: 0.4)
        let batching = StationConfig(servers: 2, service: MomentSpec(mean: 0.1, scv: 1), maxBatch: 4, timeout: 0.2)
        let bursts = MMPPSpec(sources: [MMPPSource(rates: [0.2, 1.5], meanHolds: [20, 5])])
        return [
            ("plain tandem", TandemConfig(arrivalRate: 0.5, batch: .geometric(mean: 3), stations: [plain, plain],
                                          run: run)),
            ("mixed chain", TandemConfig(arrivalRate: 0.5, arrivalScv: 4, batch: .geometric(mean: 3),
                                         stations: [batching, cold, plain], run: run)),
            ("bursty", TandemConfig(mmpp: bursts, batch: .uniform(mean: 2), stations: [plain, cold], run: run)),
        ]
    }

    @Test("The same invocations and departures with and without the buffer")
    func sameDispatches() {
        for (label, config) in Self.configs() {
            let (aloneOutcome, alone) = Simulator.trace(config, jobs: Self.run.jobs, splitSlots: nil)
            let (bufferedOutcome, buffered) = Simulator.trace(config, jobs: Self.run.jobs, splitSlots: nil,
                                                              bufferEveryJob: true)
            #expect(aloneOutcome == .completed && bufferedOutcome == .completed, "\(label)")
            #expect(alone.departures.count == Self.run.jobs, "\(label): every job leaves")
            #expect(alone.invocations.contains { $0.cold } && alone.invocations.contains { $0.jobs == 1 },
                    "\(label): cold starts and invocations of one job should both occur")
            D.expectSameDispatches(alone, buffered)
        }
    }

    @Test("The same metrics with and without the buffer")
    func sameMetrics() {
        for (label, config) in Self.configs() {
            let jobs = Self.run.jobs
            let firstKept = Simulator.firstKeptJob(jobs: jobs, warmup: Self.run.warmup)
            let stations = config.stations.count
            var alone = MetricsAccumulator(firstKeptJob: firstKept, stations: stations)
            var buffered = MetricsAccumulator(firstKeptJob: firstKept, stations: stations)
            let a = TandemEngine(config: config, replication: 0, splitSlots: nil)
                .run(jobs: jobs, firstKeptJob: firstKept, observer: &alone)
            let b = TandemEngine(config: config, replication: 0, splitSlots: nil, bufferEveryJob: true)
                .run(jobs: jobs, firstKeptJob: firstKept, observer: &buffered)
            #expect(a.outcome == .completed && b.outcome == .completed, "\(label)")
            let servers = config.stations.map(\.servers)
            FusedMetricsTests.expectSame(
                alone.metrics(windowStart: a.windowStart, windowEnd: a.windowEnd, servers: servers),
                buffered.metrics(windowStart: b.windowStart, windowEnd: b.windowEnd, servers: servers), label)
            FusedMetricsTests.expectSame(alone.controlMeans(), buffered.controlMeans(),
                                         "\(label): the control variates' inputs")
        }
    }
}

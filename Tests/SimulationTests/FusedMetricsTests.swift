// The engine reports each invocation with its jobs in one call
// (`TandemObserver.invocationWithJobs`). The protocol's default hands them on job by
// job; `MetricsAccumulator` and `SegmentedMetrics` fuse the updates instead. Both ways
// must measure the same: these runs feed one observer through the fused call and a
// twin through the default, on chains with batching (jobs reach the last station out
// of order), cold starts and bursts.

import Testing
@testable import Simulation

/// Forwards the per-job calls alone, so the default `invocationWithJobs` drives it.
private struct JobByJob<Inner: TandemObserver>: TandemObserver {
    var inner: Inner

    mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                             completion: Double) {
        inner.stationJob(station: station, job: job, enter: enter, release: release, dispatch: dispatch,
                         completion: completion)
    }

    mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                             cold: Bool, service: Double) {
        inner.invocation(station: station, firstJob: firstJob, jobs: jobs, dispatch: dispatch, completion: completion,
                         cold: cold, service: service)
    }

    mutating func batchArrived(firstJob: Int, gap: Double, size: Int) {
        inner.batchArrived(firstJob: firstJob, gap: gap, size: size)
    }

    mutating func jobCompleted(job: Int, arrival: Double, completion: Double) {
        inner.jobCompleted(job: job, arrival: arrival, completion: completion)
    }

    mutating func ownMemory() { inner.ownMemory() }
}

@Suite("Fused invocation metrics")
struct FusedMetricsTests {
    static let run = RunSettings(jobs: 30_000, replications: 1, warmup: 0.1, seed: 7)

    static func configs() -> [(String, TandemConfig)] {
        [("chain", ContinuedReplicationTests.chain(run: run)), ("bursty", ContinuedReplicationTests.bursty(run: run))]
    }

    /// Equal to rounding (the same additions in the same order, so in practice equal):
    /// `a` measured one way, `b` the other (also SingleJobPathTests).
    static func expectSame(_ a: MetricVector, _ b: MetricVector, _ label: String) {
        #expect(a.count == b.count, "\(label): metric count")
        for (index, (x, y)) in zip(a, b).enumerated() where !(x.isNaN && y.isNaN) {
            #expect(abs(x - y) <= 1e-12 * max(abs(y), 1e-300), "\(label): metric \(index): \(x) against \(y)")
        }
    }

    @Test("A replication's accumulator measures the same either way")
    func accumulator() {
        for (label, config) in Self.configs() {
            let jobs = Self.run.jobs
            let firstKept = Simulator.firstKeptJob(jobs: jobs, warmup: Self.run.warmup)
            let stations = config.stations.count
            var fused = MetricsAccumulator(firstKeptJob: firstKept, stations: stations)
            var twin = JobByJob(inner: MetricsAccumulator(firstKeptJob: firstKept, stations: stations))
            let engine = TandemEngine(config: config, replication: 0)
            let a = engine.run(jobs: jobs, firstKeptJob: firstKept, observer: &fused)
            let b = engine.run(jobs: jobs, firstKeptJob: firstKept, observer: &twin)
            #expect(a.outcome == .completed && b.outcome == .completed, "\(label)")
            let servers = config.stations.map(\.servers)
            Self.expectSame(fused.metrics(windowStart: a.windowStart, windowEnd: a.windowEnd, servers: servers),
                            twin.inner.metrics(windowStart: b.windowStart, windowEnd: b.windowEnd, servers: servers),
                            label)
            #expect(fused.keptJobs == jobs - firstKept, "\(label): every kept job measured")
        }
    }

    @Test("Every stretch of a continued replication measures the same either way")
    func stretches() {
        for (label, config) in Self.configs() {
            // Boundaries a few hundred jobs apart: many invocations straddle one.
            let boundaries = [300, 1_000, 1_001, 2_500, 6_000, 12_000]
            let stations = config.stations.count
            var fused = Pass(config: config, replication: 0,
                             observer: SegmentedMetrics(boundaries: boundaries, stations: stations), marks: boundaries)
            var twin = Pass(config: config, replication: 0,
                            observer: JobByJob(inner: SegmentedMetrics(boundaries: boundaries, stations: stations)),
                            marks: boundaries)
            defer {
                fused.deallocate()
                twin.deallocate()
            }
            fused.arrive(until: Self.run.jobs)
            twin.arrive(until: Self.run.jobs)
            #expect(fused.drain() == .completed && twin.drain() == .completed, "\(label)")
            let servers = config.stations.map(\.servers)
            for (mark, boundary) in boundaries.enumerated() {
                let a = fused.observer.accumulator(from: boundary)
                let b = twin.observer.inner.accumulator(from: boundary)
                #expect(a.keptJobs == Self.run.jobs - boundary, "\(label) from \(boundary): every kept job measured")
                Self.expectSame(a.metrics(windowStart: fused.markTimes[mark], windowEnd: fused.lastArrival, servers: servers),
                                b.metrics(windowStart: twin.markTimes[mark], windowEnd: twin.lastArrival, servers: servers),
                                "\(label) from \(boundary)")
            }
        }
    }
}

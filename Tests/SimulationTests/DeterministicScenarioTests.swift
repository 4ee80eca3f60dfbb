// Small deterministic scenarios of the tandem, every expected time worked out by hand
// from MODEL.md (station rules 1-5 and the fine points on ties and boundaries), not
// copied from the simulator's output.
//
// Everything is deterministic: arrivals with scv 0 (the first batch at 1/rate, then
// one every 1/rate), fixed batch sizes, service and cold starts with scv 0. All the
// times below are sums of binary fractions, so they are exact in floating point; the
// comparisons still allow 1e-9 seconds.
//
// Notation in the comments: T is the inter-batch time, s the per-job service time,
// c the cold-start delay, A and B the instances of a two-server station.

import Testing
@testable import Simulation

/// Builders and checks shared by the scenarios (kept inside a namespace so they
/// cannot clash with helpers of other test files).
enum DeterministicScenario {
    static let tolerance = 1e-9

    /// A station with deterministic service and cold start.
    static func station(
        servers: Int = 1, service: Double, setup: Double = 0, maxBatch: Int = 1, timeout: Double = 0,
        coldStart: Double = 0, keepAlive: Double = .infinity
    ) -> StationConfig {
        StationConfig(
            servers: servers, service: MomentSpec(mean: service, scv: 0), setup: setup, maxBatch: maxBatch,
            timeout: timeout, coldStart: MomentSpec(mean: coldStart, scv: 0), keepAlive: keepAlive)
    }

    /// Deterministic arrivals: one batch of `batch` jobs every `interArrival` seconds,
    /// the first at time `interArrival`.
    static func config(interArrival: Double, batch: Int, _ first: StationConfig, _ second: StationConfig,
                       warmup: Double = 0) -> TandemConfig {
        TandemConfig(
            arrivalRate: 1 / interArrival, arrivalScv: 0, batch: .deterministic(batch), stations: [first, second],
            run: RunSettings(jobs: 100, replications: 1, warmup: warmup, seed: 7))
    }

    /// The trace of `jobs` jobs; every scenario also runs with the other slot search
    /// (a scan of every slot, or the heap and stack of large stations), and with the
    /// jobs of maxBatch-1 stations through their buffers (`bufferEveryJob`), and must
    /// give the same invocations and departures, so the hand-computed times hold for all.
    static func trace(_ config: TandemConfig, jobs: Int, sourceLocation: SourceLocation = #_sourceLocation)
        -> JobTraceRecorder
    {
        let (outcome, trace) = Simulator.trace(config, jobs: jobs, splitSlots: false)
        #expect(outcome == .completed, sourceLocation: sourceLocation)
        #expect(trace.departures.count == jobs, "every job must leave the system", sourceLocation: sourceLocation)
        let (splitOutcome, split) = Simulator.trace(config, jobs: jobs, splitSlots: true)
        #expect(splitOutcome == outcome, sourceLocation: sourceLocation)
        expectSameDispatches(trace, split, sourceLocation: sourceLocation)
        let (bufferedOutcome, buffered) = Simulator.trace(config, jobs: jobs, splitSlots: false, bufferEveryJob: true)
        #expect(bufferedOutcome == outcome, sourceLocation: sourceLocation)
        expectSameDispatches(trace, buffered, sourceLocation: sourceLocation)
        return trace
    }

    /// Two traces of one configuration agree: the same invocations (jobs, cold,
    /// times within `tolerance`) and departures in the same order.
    static func expectSameDispatches(_ a: JobTraceRecorder, _ b: JobTraceRecorder,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.departures == b.departures, "departure order differs", sourceLocation: sourceLocation)
        #expect(a.invocations.count == b.invocations.count, sourceLocation: sourceLocation)
        for (index, (x, y)) in zip(a.invocations, b.invocations).enumerated() {
            let same = x.station == y.station && x.firstJob == y.firstJob && x.jobs == y.jobs && x.cold == y.cold
                && close(x.dispatch, y.dispatch) && close(x.completion, y.completion)
            guard same else {
                Issue.record("invocation \(index) differs between the two runs: \(x) against \(y)",
                             sourceLocation: sourceLocation)
                return
            }
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(b))
    }

    /// Checks one job's visit to `station` (1 ... N): (enter, release, dispatch, completion).
    static func expectVisit(
        _ trace: JobTraceRecorder, job: Int, station: Int,
        _ enter: Double, _ release: Double, _ dispatch: Double, _ completion: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard job < trace.visits.count, station <= trace.visits[job].count,
              let visit = trace.visits[job][station - 1] else {
            Issue.record("job \(job) has no visit to station \(station)", sourceLocation: sourceLocation)
            return
        }
        let ok = close(visit.enter, enter) && close(visit.release, release) && close(visit.dispatch, dispatch)
            && close(visit.completion, completion)
        #expect(ok, """
            job \(job) at station \(station): got (enter \(visit.enter), release \(visit.release), \
            dispatch \(visit.dispatch), completion \(visit.completion)), expected (enter \(enter), \
            release \(release), dispatch \(dispatch), completion \(completion))
            """, sourceLocation: sourceLocation)
    }

    /// An expected invocation: (firstJob, jobs, dispatch, completion, cold).
    typealias Invocation = (firstJob: Int, jobs: Int, dispatch: Double, completion: Double, cold: Bool)

    /// Checks a station's invocations (1 ... N), in dispatch order.
    static func expectInvocations(
        _ trace: JobTraceRecorder, station: Int, _ expected: [Invocation],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let got = trace.invocations(atStation: station)
        let describe = got.map { "(\($0.firstJob), \($0.jobs), \($0.dispatch), \($0.completion), cold \($0.cold))" }
        #expect(got.count == expected.count, "station \(station) invocations: \(describe)",
                sourceLocation: sourceLocation)
        for (index, (record, want)) in zip(got, expected).enumerated() {
            let ok = record.firstJob == want.firstJob && record.jobs == want.jobs
                && close(record.dispatch, want.dispatch) && close(record.completion, want.completion)
                && record.cold == want.cold
            #expect(ok, """
                station \(station) invocation \(index): got \(describe[index]), expected \
                (\(want.firstJob), \(want.jobs), \(want.dispatch), \(want.completion), cold \(want.cold))
                """, sourceLocation: sourceLocation)
        }
    }

    static func metric(_ values: MetricVector, _ name: String) -> Double {
        guard let index = MetricCatalog.index(of: name) else {
            Issue.record("unknown metric \(name)")
            return .nan
        }
        return values[index]
    }

    /// Checks metrics against exact values (`relative` tolerance for the histogram
    /// percentiles, which carry ~0.1% relative error).
    static func expectMetrics(
        _ values: MetricVector, _ expected: [(String, Double)], relative: Double = 1e-9,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (name, want) in expected {
            let got = metric(values, name)
            #expect(abs(got - want) <= relative * max(1e-9, abs(want)) + 1e-12,
                    "\(name): got \(got), expected \(want)", sourceLocation: sourceLocation)
        }
    }

    static func replication(_ config: TandemConfig, jobs: Int, stations: Int = 2,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> MetricVector
    {
        switch Simulator.runReplication(config, replication: 0, jobs: jobs) {
        case .success(let values):
            #expect(values.count == MetricCatalog.names(stations: stations).count, sourceLocation: sourceLocation)
            return values
        case .failure(let unstable):
            Issue.record("unexpectedly unstable: \(unstable.reason)", sourceLocation: sourceLocation)
            throw unstable
        }
    }
}

@Suite("Deterministic scenarios computed by hand from MODEL.md")
struct DeterministicScenarioTests {
    typealias D = DeterministicScenario

    // MARK: 1. Batch buffer size cap

    @Test("K = 3, long timeout: released in threes at the third arrival; last partial buffer at its timeout")
    func bufferSizeCap() {
        // T = 1 (arrivals at 1, 2, ..., 7), batches of 1, N = 7.
        // Station 1: K = 3, tau = 100, s = 0.25, 1 server, no cold-start delay.
        // Station 2: K = 1, tau = 0, s = 0.125, 1 server.
        let config = D.config(
            interArrival: 1, batch: 1,
            D.station(service: 0.25, maxBatch: 3, timeout: 100),
            D.station(service: 0.125))
        let trace = D.trace(config, jobs: 7)
        for job in 0..<7 { #expect(D.close(trace.arrivals[job], Double(job + 1)), "arrival of job \(job)") }

        // Rule 1: the buffer releases when it holds K = 3 jobs, i.e. at the third's
        // arrival. Jobs 0, 1, 2 arrive at 1, 2, 3 -> released at 3 (buffer waits 2, 1, 0);
        // a new instance (cold, delay 0) runs 3 x 0.25 -> completes 3.75.
        D.expectVisit(trace, job: 0, station: 1, 1, 3, 3, 3.75)
        D.expectVisit(trace, job: 1, station: 1, 2, 3, 3, 3.75)
        D.expectVisit(trace, job: 2, station: 1, 3, 3, 3, 3.75)
        // Jobs 3, 4, 5 at 4, 5, 6 -> released at 6, warm (keepAlive infinite) -> 6.75.
        D.expectVisit(trace, job: 3, station: 1, 4, 6, 6, 6.75)
        D.expectVisit(trace, job: 4, station: 1, 5, 6, 6, 6.75)
        D.expectVisit(trace, job: 5, station: 1, 6, 6, 6, 6.75)
        // Fine point 6: arrivals stop after job 6 (at 7); the run lets every job
        // complete, so job 6's partial buffer is released when it has waited tau:
        // 7 + 100 = 107, and completes at 107.25.
        D.expectVisit(trace, job: 6, station: 1, 7, 107, 107, 107.25)
        D.expectInvocations(trace, station: 1, [
            (0, 3, 3, 3.75, true), (3, 3, 6, 6.75, false), (6, 1, 107, 107.25, false),
        ])

        // Buffer waits, explicitly: 2, 1, 0, 2, 1, 0, 100.
        let waits = (0..<7).map { trace.visits[$0][0].map { $0.release - $0.enter } ?? .nan }
        #expect(zip(waits, [2.0, 1, 0, 2, 1, 0, 100]).allSatisfy { D.close($0, $1) }, "buffer waits \(waits)")

        // Station 2 (K = 1): jobs 0, 1, 2 enter at 3.75 and are served one after
        // another: 3.875, 4.0, 4.125; jobs 3, 4, 5 at 6.75: 6.875, 7.0, 7.125; job 6
        // enters at 107.25 and completes at 107.375.
        D.expectVisit(trace, job: 0, station: 2, 3.75, 3.75, 3.75, 3.875)
        D.expectVisit(trace, job: 1, station: 2, 3.75, 3.75, 3.875, 4.0)
        D.expectVisit(trace, job: 2, station: 2, 3.75, 3.75, 4.0, 4.125)
        D.expectVisit(trace, job: 3, station: 2, 6.75, 6.75, 6.75, 6.875)
        D.expectVisit(trace, job: 4, station: 2, 6.75, 6.75, 6.875, 7.0)
        D.expectVisit(trace, job: 5, station: 2, 6.75, 6.75, 7.0, 7.125)
        D.expectVisit(trace, job: 6, station: 2, 107.25, 107.25, 107.25, 107.375)
        #expect(trace.departures == Array(0..<7))
    }

    // MARK: 2. Timeout

    @Test("Timeout shorter than the gap: released at oldest arrival + timeout")
    func timeoutShorterThanGap() {
        // T = 1, batches of 2, N = 6 (batches at 1, 2, 3).
        // Station 1: K = 10, tau = 0.5, s = 0.25, 1 server. Station 2: K = 1, s = 0.125.
        let config = D.config(
            interArrival: 1, batch: 2,
            D.station(service: 0.25, maxBatch: 10, timeout: 0.5),
            D.station(service: 0.125))
        let trace = D.trace(config, jobs: 6)
        // Jobs 0, 1 enter at 1; K is never reached, so the buffer releases when its
        // oldest job has waited 0.5: at 1.5, before the next batch (2). Both go in one
        // invocation: 1.5 + 2 x 0.25 = 2.0 (cold start, delay 0).
        D.expectVisit(trace, job: 0, station: 1, 1, 1.5, 1.5, 2.0)
        D.expectVisit(trace, job: 1, station: 1, 1, 1.5, 1.5, 2.0)
        // Jobs 2, 3 enter at 2 -> released at 2.5 -> 3.0; jobs 4, 5 (the last batch)
        // enter at 3 -> released at 3.5 after arrivals stop -> 4.0.
        D.expectVisit(trace, job: 2, station: 1, 2, 2.5, 2.5, 3.0)
        D.expectVisit(trace, job: 3, station: 1, 2, 2.5, 2.5, 3.0)
        D.expectVisit(trace, job: 4, station: 1, 3, 3.5, 3.5, 4.0)
        D.expectVisit(trace, job: 5, station: 1, 3, 3.5, 3.5, 4.0)
        D.expectInvocations(trace, station: 1, [
            (0, 2, 1.5, 2.0, true), (2, 2, 2.5, 3.0, false), (4, 2, 3.5, 4.0, false),
        ])
        // Station 2: jobs 0, 1 enter at 2.0 -> 2.125, 2.25.
        D.expectVisit(trace, job: 0, station: 2, 2.0, 2.0, 2.0, 2.125)
        D.expectVisit(trace, job: 1, station: 2, 2.0, 2.0, 2.125, 2.25)
    }

    @Test("Timeout exactly equal to the gap: the arriving job rides along (fine point 1)")
    func timeoutEqualToGap() {
        // T = 1, batches of 1, N = 5 (arrivals at 1, ..., 5).
        // Station 1: K = 10, tau = 1, s = 0.25, 1 server. Station 2: K = 1, s = 0.125.
        let config = D.config(
            interArrival: 1, batch: 1,
            D.station(service: 0.25, maxBatch: 10, timeout: 1),
            D.station(service: 0.125))
        let trace = D.trace(config, jobs: 5)
        // Job 0 arrives at 1, its timeout expires at 2, exactly when job 1 arrives.
        // Fine point 1: the arrival joins the buffer before it is checked, so the
        // invocation released at 2 holds jobs 0 and 1: 2 + 0.5 = 2.5.
        D.expectVisit(trace, job: 0, station: 1, 1, 2, 2, 2.5)
        D.expectVisit(trace, job: 1, station: 1, 2, 2, 2, 2.5)
        // Job 2 (at 3) times out at 4 when job 3 arrives: [2, 3] released at 4 -> 4.5.
        D.expectVisit(trace, job: 2, station: 1, 3, 4, 4, 4.5)
        D.expectVisit(trace, job: 3, station: 1, 4, 4, 4, 4.5)
        // Job 4 (at 5) is the last arrival: released alone at 6 -> 6.25.
        D.expectVisit(trace, job: 4, station: 1, 5, 6, 6, 6.25)
        D.expectInvocations(trace, station: 1, [
            (0, 2, 2, 2.5, true), (2, 2, 4, 4.5, false), (4, 1, 6, 6.25, false),
        ])
    }

    // MARK: 3. Simultaneous arrivals

    @Test("Batch of 5, K = 2, timeout 0: invocations of 2, 2, 1 released together, served FCFS")
    func simultaneousArrivals() {
        // T = 8, batches of 5, N = 10 (batches at 8 and 16).
        // Station 1: K = 2, tau = 0, s = 1, 1 server. Station 2: K = 1, s = 0.25.
        let config = D.config(
            interArrival: 8, batch: 5,
            D.station(service: 1, maxBatch: 2, timeout: 0),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 10)
        // Rule 1: all five join the buffer before it is checked; with tau = 0 it
        // releases them at once, K per invocation, FCFS: [0,1], [2,3], [4], all at 8.
        // Rule 2: they queue FCFS for the single instance:
        //   [0,1] 8 -> 10 (new instance: cold, delay 0), [2,3] 10 -> 12, [4] 12 -> 13.
        for job in 0..<2 { D.expectVisit(trace, job: job, station: 1, 8, 8, 8, 10) }
        for job in 2..<4 { D.expectVisit(trace, job: job, station: 1, 8, 8, 10, 12) }
        D.expectVisit(trace, job: 4, station: 1, 8, 8, 12, 13)
        // The second batch at 16 (instance idle since 13): [5,6] 16 -> 18, [7,8] 18 -> 20,
        // [9] 20 -> 21.
        for job in 5..<7 { D.expectVisit(trace, job: job, station: 1, 16, 16, 16, 18) }
        for job in 7..<9 { D.expectVisit(trace, job: job, station: 1, 16, 16, 18, 20) }
        D.expectVisit(trace, job: 9, station: 1, 16, 16, 20, 21)
        D.expectInvocations(trace, station: 1, [
            (0, 2, 8, 10, true), (2, 2, 10, 12, false), (4, 1, 12, 13, false),
            (5, 2, 16, 18, false), (7, 2, 18, 20, false), (9, 1, 20, 21, false),
        ])
        // Station 2: jobs 0, 1 enter at 10 -> 10.25, 10.5; jobs 2, 3 at 12 -> 12.25,
        // 12.5; job 4 at 13 -> 13.25.
        D.expectVisit(trace, job: 0, station: 2, 10, 10, 10, 10.25)
        D.expectVisit(trace, job: 1, station: 2, 10, 10, 10.25, 10.5)
        D.expectVisit(trace, job: 2, station: 2, 12, 12, 12, 12.25)
        D.expectVisit(trace, job: 3, station: 2, 12, 12, 12.25, 12.5)
        D.expectVisit(trace, job: 4, station: 2, 13, 13, 13, 13.25)
        #expect(trace.departures == Array(0..<10))
    }

    // MARK: 4. Cold starts and keepAlive

    @Test("keepAlive: idle less -> warm, idle more -> cold, idle exactly keepAlive -> warm (fine point 4)",
          arguments: [
            // T = 8, s = 1, c = 2, 1 server, K = 1; jobs arrive at 8, 16, 24, 32, 40.
            // keepAlive 6: job 0 cold 8 -> 11; job 1 at 16 idle 5 <= 6 warm -> 17;
            // job 2 at 24 idle 7 > 6, reclaimed -> new instance, cold -> 27; job 3 at 32
            // idle 5 warm -> 33; job 4 at 40 idle 7 cold -> 43.
            (6.0, [true, false, true, false, true], [11.0, 17, 27, 33, 43]),
            // keepAlive 7: job 1 idle 5 warm -> 17; job 2 idle exactly 7: still warm
            // -> 25; jobs 3, 4 likewise idle 7 -> 33, 41.
            (7.0, [true, false, false, false, false], [11.0, 17, 25, 33, 41]),
            // keepAlive 4.5: every gap is idle 5 > 4.5 -> always cold: 11, 19, 27, 35, 43.
            (4.5, [true, true, true, true, true], [11.0, 19, 27, 35, 43]),
          ])
    func keepAlive(keepAlive: Double, cold: [Bool], completions: [Double]) {
        let config = D.config(
            interArrival: 8, batch: 1,
            D.station(service: 1, coldStart: 2, keepAlive: keepAlive),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 5)
        let arrivals = [8.0, 16, 24, 32, 40]
        let invocations: [D.Invocation] = (0..<5).map { (job: Int) -> D.Invocation in
            (firstJob: job, jobs: 1, dispatch: arrivals[job], completion: completions[job], cold: cold[job])
        }
        D.expectInvocations(trace, station: 1, invocations)
        // The cold start holds the instance but is not queue wait: dispatch = release.
        for job in 0..<5 {
            D.expectVisit(trace, job: job, station: 1, arrivals[job], arrivals[job], arrivals[job], completions[job])
        }
    }

    @Test("coldStart mean 0 still counts a cold start for every new instance",
          arguments: [
            // T = 8, s = 1, c = 0, K = 1. keepAlive 6: each job finds the instance idle
            // 16 - 9 = 7 > 6, so every invocation starts a new instance: all cold, no
            // delay: completions 9, 17, 25, 33, 41.
            (6.0, [true, true, true, true, true]),
            // keepAlive 7: idle exactly 7 -> only the very first is cold.
            (7.0, [true, false, false, false, false]),
          ])
    func zeroColdStartStillCounts(keepAlive: Double, cold: [Bool]) {
        let config = D.config(
            interArrival: 8, batch: 1,
            D.station(service: 1, coldStart: 0, keepAlive: keepAlive),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 5)
        let invocations: [D.Invocation] = (0..<5).map { (job: Int) -> D.Invocation in
            let arrival = 8.0 * Double(job + 1)
            return (firstJob: job, jobs: 1, dispatch: arrival, completion: arrival + 1, cold: cold[job])
        }
        D.expectInvocations(trace, station: 1, invocations)
        // Station 2 (keepAlive infinite, 1 server): exactly one cold start, its first.
        #expect(trace.invocations(atStation: 2).map(\.cold) == [true, false, false, false, false])
    }

    @Test("Cold-start seconds are busy time, not queue wait; completion = dispatch + c + setup + sum of X")
    func coldStartIsBusyNotQueueWait() throws {
        // T = 8, batches of 2, N = 6 (batches at 8, 16, 24). Station 1: K = 1, s = 1,
        // c = 2, keepAlive 4, 1 server. Station 2: K = 1, s = 0.25, no cold delay.
        let config = D.config(
            interArrival: 8, batch: 2,
            D.station(service: 1, coldStart: 2, keepAlive: 4),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 6)
        // Batch at 8: job 0 starts a new instance: 8 + c + s = 11 (queue wait 0: the
        // cold start is instance time). Job 1 waits for it: dispatch 11 (queue wait 3),
        // warm -> 12.
        D.expectVisit(trace, job: 0, station: 1, 8, 8, 8, 11)
        D.expectVisit(trace, job: 1, station: 1, 8, 8, 11, 12)
        // Batch at 16: idle 16 - 12 = 4 = keepAlive, still warm: job 2 16 -> 17, job 3
        // 17 -> 18.
        D.expectVisit(trace, job: 2, station: 1, 16, 16, 16, 17)
        D.expectVisit(trace, job: 3, station: 1, 16, 16, 17, 18)
        // Batch at 24: idle 6 > 4 -> reclaimed, cold again: job 4 24 -> 27, job 5 27 -> 28.
        D.expectVisit(trace, job: 4, station: 1, 24, 24, 24, 27)
        D.expectVisit(trace, job: 5, station: 1, 24, 24, 27, 28)
        D.expectInvocations(trace, station: 1, [
            (0, 1, 8, 11, true), (1, 1, 11, 12, false), (2, 1, 16, 17, false),
            (3, 1, 17, 18, false), (4, 1, 24, 27, true), (5, 1, 27, 28, false),
        ])
        // Station 2: each job enters at its station-1 completion and finds the instance
        // free: 11 -> 11.25, 12 -> 12.25, 17 -> 17.25, 18 -> 18.25, 27 -> 27.25, 28 -> 28.25.
        for (job, enter) in [11.0, 12, 17, 18, 27, 28].enumerated() {
            D.expectVisit(trace, job: job, station: 2, enter, enter, enter, enter + 0.25)
        }

        // Metrics (warm-up 0; elapsed = last arrival 24 - first arrival 8 = 16).
        // Station 1: responses 3, 4, 1, 2, 3, 4 (sum 17); queue waits 0, 3, 0, 1, 0, 3
        // (sum 7); busy = 3 + 1 + 1 + 1 + 3 + 1 = 10 (cold seconds included).
        // Station 2: responses 0.25 each; busy 1.5; one cold start of 6.
        // End to end: 3.25, 4.25, 1.25, 2.25, 3.25, 4.25 (sum 18.5).
        let values = try D.replication(config, jobs: 6)
        D.expectMetrics(values, [
            ("meanResponse", 18.5 / 6),
            ("throughput", 6.0 / 16),
            ("stations.1.meanResponse", 17.0 / 6),
            ("stations.1.meanBufferWait", 0),
            ("stations.1.meanQueueWait", 7.0 / 6),
            ("stations.1.utilization", 10.0 / 16),
            ("stations.1.meanBatchSize", 1),
            ("stations.1.coldStartFraction", 2.0 / 6),
            ("stations.1.instanceSecondsPerJob", 10.0 / 6),
            ("stations.2.meanResponse", 0.25),
            ("stations.2.meanQueueWait", 0),
            ("stations.2.utilization", 1.5 / 16),
            ("stations.2.coldStartFraction", 1.0 / 6),
            ("stations.2.instanceSecondsPerJob", 0.25),
        ])
    }

    // MARK: 5. Most recently freed instance

    @Test("The most recently freed idle instance is reused (rule 3)", arguments: [6.75, 6.25])
    func mostRecentlyFreedInstance(keepAlive: Double) {
        // T = 8, batches of 3, N = 6 (batches at 8 and 16).
        // Station 1: 2 servers, K = 2, tau = 0.5, s = 1, c = 0, keepAlive as given.
        // Station 2: K = 1, s = 0.25, 1 server.
        let config = D.config(
            interArrival: 8, batch: 3,
            D.station(servers: 2, service: 1, maxBatch: 2, timeout: 0.5, coldStart: 0, keepAlive: keepAlive),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 6)
        // Batch at 8: [0,1] is released at 8 (K reached) on new instance A: 8 -> 10
        // (cold). Job 2 waits for its timeout: [2] released at 8.5; A is busy, so a
        // second instance B starts (cold): 8.5 -> 9.5. So B frees at 9.5, A at 10: A is
        // the more recently freed.
        // Batch at 16: [3,4] released at 16: A idle 6, B idle 6.5. Rule 3 takes A
        // (most recently freed), warm (6 <= keepAlive): 16 -> 18.
        // [5] released at 16.5 (timeout): A busy; B has been idle 16.5 - 9.5 = 7 >
        // keepAlive, so it was reclaimed and a new instance starts: cold -> 17.5.
        // (Had [3,4] taken B, [5] would find A idle 16.5 - 10 = 6.5 <= 6.75 and be warm;
        // with keepAlive 6.25 only A is warm at 16 in the first place.)
        D.expectInvocations(trace, station: 1, [
            (0, 2, 8, 10, true), (2, 1, 8.5, 9.5, true), (3, 2, 16, 18, false), (5, 1, 16.5, 17.5, true),
        ])
        D.expectVisit(trace, job: 2, station: 1, 8, 8.5, 8.5, 9.5)
        D.expectVisit(trace, job: 5, station: 1, 16, 16.5, 16.5, 17.5)
    }

    // MARK: 6. Released exactly when an instance frees; all busy -> FCFS wait

    @Test("An invocation released exactly when the instance frees takes it warm (fine points 1 and 4)")
    func releaseAtFreeInstantIsWarm() {
        // T = 4, batches of 1, N = 4 (arrivals 4, 8, 12, 16). Station 1: K = 1, s = 1,
        // c = 3, keepAlive 0, 1 server.
        let config = D.config(
            interArrival: 4, batch: 1,
            D.station(service: 1, coldStart: 3, keepAlive: 0),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 4)
        // Job 0: cold, 4 -> 4 + 3 + 1 = 8. Job 1 is released at 8, the instant the
        // instance frees: it frees first (fine point 1), idle 0 <= keepAlive 0, so
        // job 1 takes it warm with no queue wait: 8 -> 9. Job 2 at 12: idle 3 > 0,
        // cold: 12 -> 16. Job 3 at 16: again exactly at the free instant, warm -> 17.
        D.expectInvocations(trace, station: 1, [
            (0, 1, 4, 8, true), (1, 1, 8, 9, false), (2, 1, 12, 16, true), (3, 1, 16, 17, false),
        ])
        D.expectVisit(trace, job: 1, station: 1, 8, 8, 8, 9)
        D.expectVisit(trace, job: 3, station: 1, 16, 16, 16, 17)
    }

    @Test("Of two instances, the one freeing exactly at the release instant is the most recently freed")
    func instanceFreeingAtReleaseIsPreferred() {
        // T = 8, batches of 3, N = 6 (batches at 8 and 16). Station 1: 2 servers, K = 2,
        // tau = 0.5, s = 4, no cold delay, keepAlive 1. Station 2: K = 1, s = 0.25, 2 servers.
        let config = D.config(
            interArrival: 8, batch: 3,
            D.station(servers: 2, service: 4, maxBatch: 2, timeout: 0.5, keepAlive: 1),
            D.station(servers: 2, service: 0.25))
        let trace = D.trace(config, jobs: 6)
        // Batch at 8: [0,1] (K reached) on new A: 8 -> 16; [2] times out at 8.5, on new
        // B: 8.5 -> 12.5.
        // Batch at 16: [3,4] released at 16, the instant A frees. Fine point 1: A frees
        // first, so both A (idle 0) and B (idle 3.5) are idle; rule 3 takes the most
        // recently freed, A, warm: 16 -> 24. (Taking B would be a cold start: 3.5 > 1.)
        // [5] times out at 16.5: A busy, B idle 4 > keepAlive 1 -> reclaimed, a new
        // instance starts: cold, 16.5 -> 20.5.
        D.expectInvocations(trace, station: 1, [
            (0, 2, 8, 16, true), (2, 1, 8.5, 12.5, true), (3, 2, 16, 24, false), (5, 1, 16.5, 20.5, true),
        ])
        D.expectVisit(trace, job: 3, station: 1, 16, 16, 16, 24)
    }

    @Test("With every instance busy an invocation waits FCFS for the first to free")
    func allBusyWaitsForFirstToFree() {
        // T = 2, batches of 3, N = 9 (batches at 2, 4, 6). Station 1: 2 servers, K = 2,
        // tau = 0, s = 1.25, no cold delay, keepAlive infinite. Station 2: K = 1, s = 0.25,
        // 2 servers.
        let config = D.config(
            interArrival: 2, batch: 3,
            D.station(servers: 2, service: 1.25, maxBatch: 2, timeout: 0),
            D.station(servers: 2, service: 0.25))
        let trace = D.trace(config, jobs: 9)
        // Batch at 2: [0,1] on new A: 2 -> 4.5; [2] on new B: 2 -> 3.25 (both cold).
        // Batch at 4: [3,4]: A busy until 4.5, B idle since 3.25 -> B, warm: 4 -> 6.5.
        //   [5]: both busy; waits for the first to free, A at 4.5 (not B at 6.5):
        //   dispatch 4.5 (queue wait 0.5), warm -> 5.75.
        // Batch at 6: [6,7]: A idle since 5.75, B busy until 6.5 -> A: 6 -> 8.5.
        //   [8]: waits for B at 6.5 -> 7.75.
        let expected: [D.Invocation] = [
            (0, 2, 2, 4.5, true), (2, 1, 2, 3.25, true),
            (3, 2, 4, 6.5, false), (5, 1, 4.5, 5.75, false),
            (6, 2, 6, 8.5, false), (8, 1, 6.5, 7.75, false),
        ]
        D.expectInvocations(trace, station: 1, expected)
        D.expectVisit(trace, job: 5, station: 1, 4, 4, 4.5, 5.75)
        D.expectVisit(trace, job: 8, station: 1, 6, 6, 6.5, 7.75)
    }

    // MARK: 7. Hand-over to station 2

    @Test("Completion order: a later-dispatched invocation that finishes first hands over first; jobs of one invocation leave station 2 together (fine point 2)",
          arguments: [2, 3])
    func completionOrderHandOver(maxBatch2: Int) {
        // T = 8, batches of 3, N = 3. Station 1: 2 servers, K = 2, tau = 0, s = 1.
        // Station 2: 1 server, K = maxBatch2 (2 or 3), tau = 0, s = 0.25.
        let config = D.config(
            interArrival: 8, batch: 3,
            D.station(servers: 2, service: 1, maxBatch: 2, timeout: 0),
            D.station(service: 0.25, maxBatch: maxBatch2, timeout: 0))
        let trace = D.trace(config, jobs: 3)
        // Station 1: [0,1] dispatched first on A: 8 -> 10; [2] dispatched second on B:
        // 8 -> 9, so it completes first.
        D.expectInvocations(trace, station: 1, [(0, 2, 8, 10, true), (2, 1, 8, 9, true)])
        // Rule 5: station 2 sees job 2 first, at 9: alone in the buffer, tau = 0 ->
        // released at 9, cold (delay 0): 9 -> 9.25.
        // Jobs 0 and 1 enter together at 10 (fine point 2): with tau = 0 and K >= 2
        // they leave together in one invocation: 10 -> 10 + 2 x 0.25 = 10.5 (warm).
        D.expectVisit(trace, job: 2, station: 2, 9, 9, 9, 9.25)
        D.expectVisit(trace, job: 0, station: 2, 10, 10, 10, 10.5)
        D.expectVisit(trace, job: 1, station: 2, 10, 10, 10, 10.5)
        D.expectInvocations(trace, station: 2, [(2, 1, 9, 9.25, true), (0, 2, 10, 10.5, false)])
        #expect(trace.departures == [2, 0, 1])
    }

    @Test("Invocations completing at the same instant hand over in dispatch order (fine point 3)")
    func simultaneousCompletionsInDispatchOrder() {
        // T = 8, batches of 3, N = 3. Station 1: 2 servers, K = 2, tau = 1, s = 1.
        // Station 2: 1 server, K = 1, s = 0.25.
        let config = D.config(
            interArrival: 8, batch: 3,
            D.station(servers: 2, service: 1, maxBatch: 2, timeout: 1),
            D.station(service: 0.25))
        let trace = D.trace(config, jobs: 3)
        // Station 1: [0,1] released at 8 (K) on A: 8 -> 10. [2] times out at 9, on B:
        // 9 -> 10. Both complete at 10: [0,1] was dispatched first, so jobs 0, 1, 2
        // enter station 2 in that order and are served 10 -> 10.25 -> 10.5 -> 10.75.
        D.expectInvocations(trace, station: 1, [(0, 2, 8, 10, true), (2, 1, 9, 10, true)])
        D.expectVisit(trace, job: 0, station: 2, 10, 10, 10, 10.25)
        D.expectVisit(trace, job: 1, station: 2, 10, 10, 10.25, 10.5)
        D.expectVisit(trace, job: 2, station: 2, 10, 10, 10.5, 10.75)
        #expect(trace.departures == [0, 1, 2])
    }

    @Test("Simultaneous completions all join station 2's buffer before it is checked (fine points 1, 3)")
    func simultaneousCompletionsShareStation2Invocations() {
        // T = 8, batches of 4, N = 4. Station 1: 2 servers, K = 2, tau = 0, s = 1.
        // Station 2: 1 server, K = 3, tau = 0, s = 0.25.
        let config = D.config(
            interArrival: 8, batch: 4,
            D.station(servers: 2, service: 1, maxBatch: 2, timeout: 0),
            D.station(service: 0.25, maxBatch: 3, timeout: 0))
        let trace = D.trace(config, jobs: 4)
        // Station 1: [0,1] on A and [2,3] on B, both 8 -> 10. At 10 all four jobs join
        // station 2's buffer (0, 1, 2, 3 by dispatch order); it is then checked:
        // K = 3 per invocation -> [0,1,2] 10 -> 10.75 (cold) and [3] released at 10,
        // waiting for the instance: 10.75 -> 11.
        D.expectInvocations(trace, station: 1, [(0, 2, 8, 10, true), (2, 2, 8, 10, true)])
        D.expectInvocations(trace, station: 2, [(0, 3, 10, 10.75, true), (3, 1, 10.75, 11, false)])
        D.expectVisit(trace, job: 2, station: 2, 10, 10, 10, 10.75)
        D.expectVisit(trace, job: 3, station: 2, 10, 10, 10.75, 11)
        #expect(trace.departures == [0, 1, 2, 3])
    }

    // MARK: 8. Setup time

    @Test("Setup is added to every invocation, after the cold start")
    func setupOnEveryInvocation() {
        // T = 8, batches of 2, N = 5 (batches at 8, 16, and a cut batch of 1 at 24).
        // Station 1: K = 2, tau = 0, setup 0.5, s = 1, c = 2, 1 server.
        // Station 2: K = 1, setup 0.25, s = 0.5, 1 server, no cold delay.
        let config = D.config(
            interArrival: 8, batch: 2,
            D.station(service: 1, setup: 0.5, maxBatch: 2, timeout: 0, coldStart: 2),
            D.station(service: 0.5, setup: 0.25))
        let trace = D.trace(config, jobs: 5)
        // Station 1 (rule 4: hold = cold start if any + setup + X_1 + ... + X_b):
        //   [0,1] at 8: cold: 8 + 2 + 0.5 + 1 + 1 = 12.5.
        //   [2,3] at 16: warm: 16 + 0.5 + 2 = 18.5.
        //   [4] (the cut last batch) at 24: 24 + 0.5 + 1 = 25.5.
        D.expectInvocations(trace, station: 1, [
            (0, 2, 8, 12.5, true), (2, 2, 16, 18.5, false), (4, 1, 24, 25.5, false),
        ])
        // Station 2, each job its own invocation with setup: 0.25 + 0.5 = 0.75:
        //   job 0: 12.5 -> 13.25; job 1 waits: 13.25 -> 14.0;
        //   job 2: 18.5 -> 19.25; job 3: 19.25 -> 20.0; job 4: 25.5 -> 26.25.
        D.expectVisit(trace, job: 0, station: 2, 12.5, 12.5, 12.5, 13.25)
        D.expectVisit(trace, job: 1, station: 2, 12.5, 12.5, 13.25, 14.0)
        D.expectVisit(trace, job: 2, station: 2, 18.5, 18.5, 18.5, 19.25)
        D.expectVisit(trace, job: 3, station: 2, 18.5, 18.5, 19.25, 20.0)
        D.expectVisit(trace, job: 4, station: 2, 25.5, 25.5, 25.5, 26.25)
    }

    // MARK: Metrics over small deterministic runs

    @Test("D/D/1 -> D/D/1 tandem with cold starts: every metric exact (warm-up 0)")
    func metricsOfDeterministicTandem() throws {
        // T = 2, batches of 1, N = 10 (arrivals 2, 4, ..., 20). keepAlive infinite.
        // Station 1: s = 0.5, c = 0.25. Station 2: s = 0.75, c = 0.5. K = 1, 1 server.
        let config = D.config(
            interArrival: 2, batch: 1,
            D.station(service: 0.5, coldStart: 0.25),
            D.station(service: 0.75, coldStart: 0.5))
        // Job 0 (arrives 2): station 1 cold 2 -> 2.75; station 2 cold 2.75 -> 4.0.
        // Job k >= 1 (arrives 2 + 2k): station 1 warm -> 2.5 + 2k; station 2 (free since
        // 4.0 or 1.25 + 2k) warm -> 3.25 + 2k. Nobody waits in a buffer or queue.
        // End-to-end responses: 2.0 once, 1.25 nine times: mean 13.25 / 10 = 1.325;
        // nearest-rank p50 = 5th smallest = 1.25, p95 = 10th = 2.0, p99 = 10th = 2.0.
        // Elapsed (fine point 6) = 20 - 2 = 18: throughput 10 / 18.
        // Station 1: responses 0.75 + 9 x 0.5 = 5.25 = busy seconds (cold included):
        //   utilization 5.25 / 18, 1 cold invocation of 10, 0.525 instance-seconds per job.
        // Station 2: responses 1.25 + 9 x 0.75 = 8.0 = busy seconds: utilization 8 / 18.
        let trace = D.trace(config, jobs: 10)
        D.expectVisit(trace, job: 0, station: 2, 2.75, 2.75, 2.75, 4.0)
        D.expectVisit(trace, job: 9, station: 1, 20, 20, 20, 20.5)
        D.expectVisit(trace, job: 9, station: 2, 20.5, 20.5, 20.5, 21.25)

        let values = try D.replication(config, jobs: 10)
        D.expectMetrics(values, [
            ("meanResponse", 1.325),
            ("throughput", 10.0 / 18),
            ("stations.1.meanResponse", 0.525),
            ("stations.1.meanBufferWait", 0),
            ("stations.1.meanQueueWait", 0),
            ("stations.1.utilization", 5.25 / 18),
            ("stations.1.meanBatchSize", 1),
            ("stations.1.coldStartFraction", 0.1),
            ("stations.1.instanceSecondsPerJob", 0.525),
            ("stations.2.meanResponse", 0.8),
            ("stations.2.meanBufferWait", 0),
            ("stations.2.meanQueueWait", 0),
            ("stations.2.utilization", 8.0 / 18),
            ("stations.2.meanBatchSize", 1),
            ("stations.2.coldStartFraction", 0.1),
            ("stations.2.instanceSecondsPerJob", 0.8),
        ])
        D.expectMetrics(values, [("p50Response", 1.25), ("p95Response", 2.0), ("p99Response", 2.0)],
                        relative: 0.002)
        // MODEL.md calls meanJobsInSystem "the time-average number of jobs in the system"
        // without fixing the window for a finite run; by Little's law over the
        // measurement window it is throughput x meanResponse = 13.25 / 18.
        D.expectMetrics(values, [("meanJobsInSystem", 13.25 / 18)])
    }

    @Test("Warm-up: window from the first kept arrival; invocations count when their first job is kept")
    func metricsWithWarmup() throws {
        // T = 1, batches of 1, N = 10 (arrivals 1, ..., 10), warm-up 0.2: jobs 0 and 1
        // are dropped (floor(0.2 x 10) = 2), jobs 2 ... 9 kept (8 jobs).
        // Station 1: K = 3, tau = 2.5, s = 0.25, 1 server, no cold delay.
        // Station 2: K = 1, s = 0.125, 1 server.
        let config = D.config(
            interArrival: 1, batch: 1,
            D.station(service: 0.25, maxBatch: 3, timeout: 2.5),
            D.station(service: 0.125),
            warmup: 0.2)
        // Station 1 invocations: [0,1,2] released at 3 (K; job 0's timeout would be
        // 3.5) -> 3.75; [3,4,5] at 6 -> 6.75; [6,7,8] at 9 -> 9.75; [9] (last arrival at
        // 10) times out at 12.5 -> 12.75. Only the last three count (first job kept):
        // meanBatchSize 7 / 3, no cold start (the cold one starts with job 0), busy
        // 0.75 + 0.75 + 0.25 = 1.75.
        // Elapsed = 10 - 3 (job 2's arrival) = 7: utilization 1.75 / 7 = 0.25.
        // Kept station-1 buffer waits: 0, 2, 1, 0, 2, 1, 0, 2.5 (sum 8.5); responses
        // 0.75, 2.75, 1.75, 0.75, 2.75, 1.75, 0.75, 2.75 (sum 14).
        // Station 2: jobs 0,1,2 enter at 3.75 -> 3.875, 4.0, 4.125; 3,4,5 at 6.75 ->
        // 6.875, 7.0, 7.125; 6,7,8 at 9.75 -> 9.875, 10.0, 10.125; 9 at 12.75 -> 12.875.
        // Kept: queue waits 0.25, 0, 0.125, 0.25, 0, 0.125, 0.25, 0 (sum 1); responses
        // sum 1 + 8 x 0.125 = 2; busy 8 x 0.125 = 1; no cold start counted (job 0's).
        // End to end (kept): 1.125, 2.875, 2.0, 1.125, 2.875, 2.0, 1.125, 2.875 (sum 16):
        // mean 2.0; nearest-rank p50 = 4th smallest = 2.0, p95 = p99 = 8th = 2.875.
        let trace = D.trace(config, jobs: 10)
        D.expectInvocations(trace, station: 1, [
            (0, 3, 3, 3.75, true), (3, 3, 6, 6.75, false), (6, 3, 9, 9.75, false), (9, 1, 12.5, 12.75, false),
        ])
        D.expectVisit(trace, job: 9, station: 2, 12.75, 12.75, 12.75, 12.875)

        let values = try D.replication(config, jobs: 10)
        D.expectMetrics(values, [
            ("meanResponse", 2.0),
            ("throughput", 8.0 / 7),
            ("meanJobsInSystem", 16.0 / 7),  // Little's law over the window, as above
            ("stations.1.meanResponse", 14.0 / 8),
            ("stations.1.meanBufferWait", 8.5 / 8),
            ("stations.1.meanQueueWait", 0),
            ("stations.1.utilization", 0.25),
            ("stations.1.meanBatchSize", 7.0 / 3),
            ("stations.1.coldStartFraction", 0),
            ("stations.2.meanResponse", 0.25),
            ("stations.2.meanBufferWait", 0),
            ("stations.2.meanQueueWait", 0.125),
            ("stations.2.utilization", 1.0 / 7),
            ("stations.2.meanBatchSize", 1),
            ("stations.2.coldStartFraction", 0),
            ("stations.2.instanceSecondsPerJob", 0.125),
        ])
        D.expectMetrics(values, [("p50Response", 2.0), ("p95Response", 2.875), ("p99Response", 2.875)],
                        relative: 0.002)
        // stations.1.instanceSecondsPerJob is left out on purpose: MODEL.md does not say
        // whether "per job" divides by the 8 kept jobs (1.75 / 8) or by the 7 jobs of
        // the counted invocations (1.75 / 7) when an invocation straddles the warm-up.
    }
}

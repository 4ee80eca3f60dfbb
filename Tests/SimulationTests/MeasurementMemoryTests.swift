// The metrics write their per-job sums into memory that copies share until one of
// them takes its own (`MeasurementMemory`). Whatever a caller can see must still act
// as a value: a copy made before a run keeps what it had; a pass's copy drains
// without touching the pass (ContinuedReplicationTests checks the rounds).

import Testing
@testable import Simulation

@Suite("Measurement memory")
struct MeasurementMemoryTests {
    @Test("An accumulator copied before a run keeps its own measurements")
    func accumulatorCopies() {
        let config = ContinuedReplicationTests.chain(run: RunSettings(jobs: 5_000, replications: 1, warmup: 0.1, seed: 3))
        let servers = config.stations.map(\.servers)
        let engine = TandemEngine(config: config, replication: 0)
        var first = MetricsAccumulator(firstKeptJob: 500, stations: config.stations.count)
        let a = engine.run(jobs: 5_000, firstKeptJob: 500, observer: &first)
        let before = first.metrics(windowStart: a.windowStart, windowEnd: a.windowEnd, servers: servers)
        let snapshot = first

        // Another run into a copy adds the same jobs' measurements again, to the copy alone.
        var second = snapshot
        _ = engine.run(jobs: 5_000, firstKeptJob: 500, observer: &second)
        #expect(second.keptJobs == 2 * 4_500)
        #expect(snapshot.keptJobs == 4_500 && first.keptJobs == 4_500)
        let after = snapshot.metrics(windowStart: a.windowStart, windowEnd: a.windowEnd, servers: servers)
        FusedMetricsTests.expectSame(after, before, "the snapshot after the copy's run")
        #expect(second.stations[0].keptJobs == 2 * first.stations[0].keptJobs)
    }

    @Test("A response list grows past its first block and copies what it holds")
    func responseList() {
        var list = ResponseList()
        for value in 0..<3_000 { list.append(UInt64(value * 7)) }
        var twin = list.copy()
        twin.append(1)
        #expect(list.count == 3_000 && twin.count == 3_001)
        #expect(Array(list.buffer) == (0..<3_000).map { UInt64($0 * 7) })
        #expect(Array(twin.buffer.prefix(3_000)) == Array(list.buffer))
        list.free()
        twin.free()
        #expect(list.count == 0 && list.buffer.isEmpty)
    }
}

// The metrics write their per-job sums into memory that copies share until one of
// them takes its own (`MeasurementMemory`). Whatever a caller can see must still act
// as a value: a copy made before a run keeps what it had; a pass's copy drains
// without touching the pass (ContinuedReplicationTests checks the rounds).

import Foundation
import Histogram
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

    /// The values `record` takes: response-like spreads of nanoseconds, and the layout's edges.
    static func values(seed: UInt64) -> [UInt64] {
        var stream = RandomStream(seed: seed, substream: 1)
        var values: [UInt64] = [1, 2_047, 2_048, 2_049, 4_095, 4_096, 1 << 40, (1 << 40) + 1,
                                PercentileMethod.highestTrackable - 1]
        for _ in 0..<20_000 {
            // Log-uniform from 1 ns to about 30 hours, and a few zeros.
            let exponent = 47 * stream.nextOpenUnit()
            values.append(stream.next() % 500 == 0 ? 0 : UInt64(exp2(exponent)))
        }
        return values
    }

    @Test("Responses counted slot by slot give the library's percentiles, extremes and total")
    func countsMatchTheLibrary() {
        for seed: UInt64 in [1, 2, 3] {
            for count in [1, 2, 50, 20_009] {
                let values = Array(Self.values(seed: seed).suffix(count))
                var counts = ResponseCounts()
                defer { counts.free() }
                var direct = Histogram<UInt64>(highestTrackableValue: PercentileMethod.highestTrackable,
                                               numberOfSignificantValueDigits: .three)
                for value in values {
                    counts.record(value)
                    direct.record(value)
                }
                let handed = counts.histogram()
                #expect(handed.totalCount == direct.totalCount, "seed \(seed), \(count) values: total")
                #expect(handed.min == direct.min && handed.maxRecorded == direct.maxRecorded,
                        "seed \(seed), \(count) values: extremes")
                for q in [0.001, 1, 25, 50, 90, 95, 99, 99.9, 99.999] {
                    #expect(handed.valueAtPercentile(q) == direct.valueAtPercentile(q),
                            "seed \(seed), \(count) values: percentile \(q)")
                }
            }
        }
    }

    @Test("Every slot's lowest value falls in that slot")
    func slotsRoundTrip() {
        for slot in stride(from: 0, to: ResponseCounts.length, by: 7) {
            #expect(ResponseCounts.slot(of: ResponseCounts.lowestValue(ofSlot: slot)) == slot, "slot \(slot)")
        }
        #expect(ResponseCounts.slot(of: 0) == 0 && ResponseCounts.slot(of: 2_047) == 2_047)
        #expect(ResponseCounts.slot(of: 2_048) == 2_048 && ResponseCounts.slot(of: 2_049) == 2_048)
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

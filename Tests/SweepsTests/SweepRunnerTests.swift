// The sweep runner end to end on a tiny spec (small jobs: the whole suite takes
// about a second), and its pure parts: the row sequencer and progress figures.

import Foundation
import Simulation
import Testing
@testable import Search
@testable import Sweeps

@Suite("Sweep runner")
struct SweepRunnerTests {
    static let spec = """
        base:
          arrival: { rate: 1 }
          batch: { dist: geometric, mean: 2 }
          stations:
            - { servers: 2, service: { mean: 0.3 } }
            - { servers: 2, service: { mean: 0.2 }, setup: 0.05, maxBatch: 4, timeout: 0.1 }
        vary:
          stations.1.load: { uniform: [0.2, 0.8] }
          stations.2.load: { choice: [0.01, 0.5, 0.7] }
          stations.2.coldStart.mean: { choice: [0, 0.5] }
        design: { method: sobol, points: 8, seed: 3 }
        run: { jobs: 600, precision: off, replications: 2 }
        """

    /// A scratch folder removed at the end of the test.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("duet-sweep-\(UUID())")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    static func run(_ spec: SweepSpec, _ out: String, threads: Int = 2, points: Int? = nil) throws
        -> (summary: SweepSummary, log: [String])
    {
        var log: [String] = []
        let runner = try SweepRunner(spec: spec, outputPath: out, threads: threads, points: points)
        let summary = try runner.run(log: { log.append($0) })
        return (summary, log)
    }

    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func writesEveryPointInOrder() throws {
        let scratch = try Scratch()
        let out = scratch.path("data.csv")
        let spec = try SweepSpec.parse(Self.spec)
        let (summary, log) = try Self.run(spec, out)
        #expect(log.isEmpty)
        #expect(summary.total == 8 && summary.simulated == 8 && summary.alreadyDone == 0)

        let table = try DatasetTable.read(path: out)
        #expect(table.header == DatasetFile.header)
        #expect(try table.rows.map { try $0.int("point") } == Array(0..<8))
        for row in table.rows {
            let point = spec.point(try row.int("point"), of: try spec.makeDesign())
            #expect(row["seed"] == String(point.config.run.seed))
            if try row.bool("stable") {
                #expect(try row.double("meanResponse") > 0)
                #expect(try row.int("jobs") == 1200)
                // The recorded load is the one asked for, the service mean derived.
                #expect(abs(try row.double("stations.1.load") - point.values[0].number!) < 1e-12)
                #expect(try row.double("stations.1.service.mean") == point.config.stations[0].service.mean)
            } else {
                #expect(try row.string("error").contains("cannot be reached"))
                #expect(row["meanResponse"] == "")
            }
        }
        // Load 0.01 at station 2 is below its setup's share: those points are invalid.
        let invalid = try table.rows.filter { try !$0.bool("stable") }.count
        #expect(summary.invalid == invalid && invalid > 0)
        #expect(summary.unstable == 0)
        #expect(FileManager.default.fileExists(atPath: SweepSidecar.path(for: out)))
    }

    @Test func resumingGivesTheSameFileAsAnUninterruptedRun() throws {
        let scratch = try Scratch()
        let out = scratch.path("data.csv")
        let spec = try SweepSpec.parse(Self.spec)
        _ = try Self.run(spec, out, threads: 1)
        let complete = try Self.text(out)

        // Keep the header and 3 rows, and half of the 4th as if cut off mid-write.
        let lines = complete.split(separator: "\n", omittingEmptySubsequences: false)
        let cut = lines[0..<4].joined(separator: "\n") + "\n" + lines[4].prefix(20)
        try cut.write(toFile: out, atomically: true, encoding: .utf8)

        let (summary, log) = try Self.run(spec, out, threads: 2)
        #expect(log == [
            "dropped an incomplete last row of \(out) (the sweep was cut off while writing it)",
            "resuming: 3 of 8 points already done",
        ])
        #expect(summary.alreadyDone == 3 && summary.simulated == 5)
        #expect(try Self.text(out) == complete)

        // Nothing left to do.
        let again = try Self.run(spec, out)
        #expect(again.summary.simulated == 0 && again.log == ["resuming: 8 of 8 points already done"])
        #expect(try Self.text(out) == complete)
    }

    @Test func aSobolSweepCanBeExtended() throws {
        let scratch = try Scratch()
        let spec = try SweepSpec.parse(Self.spec)
        let short = scratch.path("short.csv"), long = scratch.path("long.csv")
        _ = try Self.run(spec, short, points: 4)
        let (summary, log) = try Self.run(spec, short)
        #expect(log == ["resuming: 4 of 8 points already done (the file was made for 4 points)"])
        #expect(summary.simulated == 4)
        _ = try Self.run(spec, long)
        #expect(try Self.text(short) == Self.text(long))
    }

    @Test func aDifferentSpecIsRefused() throws {
        let scratch = try Scratch()
        let out = scratch.path("data.csv")
        _ = try Self.run(try SweepSpec.parse(Self.spec), out)
        let other = try SweepSpec.parse(Self.spec.replacingOccurrences(of: "[0.2, 0.8]", with: "[0.2, 0.7]")
            .replacingOccurrences(of: "seed: 3", with: "seed: 4"))
        let sidecar = SweepSidecar.path(for: out)
        #expect(throws: SweepError(
            "\(out) was made by a different spec (vary.stations.1.load, design differ); use another --out, "
                + "or delete \(out) and \(sidecar) to start over"))
        {
            _ = try Self.run(other, out)
        }
        // A Latin hypercube cannot change its number of points.
        let lhs = try SweepSpec.parse(Self.spec.replacingOccurrences(of: "method: sobol", with: "method: lhs"))
        let lhsOut = scratch.path("lhs.csv")
        _ = try Self.run(lhs, lhsOut, points: 4)
        #expect(throws: SweepError(
            "\(lhsOut) was made with 4 points, and a Latin hypercube's points all depend on their number, so it "
                + "cannot be resumed with 8; use another --out, or delete \(lhsOut) and "
                + "\(SweepSidecar.path(for: lhsOut)) to start over"))
        {
            _ = try Self.run(lhs, lhsOut)
        }
        // A file without its sidecar.
        try FileManager.default.removeItem(atPath: sidecar)
        #expect(throws: SweepError(
            "\(out) exists but \(sidecar) does not, so the spec that made it is unknown; move or delete \(out), "
                + "or choose another --out"))
        {
            _ = try Self.run(try SweepSpec.parse(Self.spec), out)
        }
    }

    @Test func rowsDoNotDependOnTheThreadCount() throws {
        let scratch = try Scratch()
        let spec = try SweepSpec.parse(Self.spec)
        _ = try Self.run(spec, scratch.path("one.csv"), threads: 1)
        _ = try Self.run(spec, scratch.path("four.csv"), threads: 4)
        #expect(try Self.text(scratch.path("one.csv")) == Self.text(scratch.path("four.csv")))
    }

    // MARK: Pure parts

    @Test func theSequencerReleasesContiguousRows() {
        var sequencer = RowSequencer<String>()
        #expect(sequencer.complete(2, "c") == [])
        #expect(sequencer.complete(1, "b") == [])
        #expect(sequencer.buffered == 2)
        #expect(sequencer.complete(0, "a") == ["a", "b", "c"])
        #expect(sequencer.complete(3, "d") == ["d"])
        #expect(sequencer.next == 4 && sequencer.buffered == 0)
    }

    @Test func progressFigures() {
        var progress = SweepProgress(total: 4000, alreadyDone: 1000, started: 100)
        #expect(progress.logLine(now: 105) == "sweep: 1000 of 4000 points (25%), elapsed 5s")
        progress.done = 1500
        // 500 points in 250 s: 2 points/s, 2500 left: 1250 s.
        #expect(progress.rate(now: 350) == 2)
        #expect(progress.bar(now: 350, width: 8) == "[###-----] 1500/4000 37%  2.0 points/s  ETA 20m 50s")
        #expect(progress.logLine(now: 350) == "sweep: 1500 of 4000 points (37%), 2.0 points/s, ETA 20m 50s")
        #expect(SweepProgress.rateText(0.25) == "4.0 s/point")
        #expect(SweepProgress.duration(7384) == "2h 03m")
    }
}

// Sweeps whose base replays a trace: stations vary, the trace stays. Every point's
// row describes the same arrivals (the trace's rate, scv and batch moments); another
// trace is another dataset (fingerprint); arrival and batch keys cannot vary.

import Foundation
import Simulation
import Testing
@testable import Search
@testable import Sweeps

@Suite("Sweeps over a trace")
struct TraceSweepTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("duet-trace-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A trace of `jobs` rows, one every `gap` seconds (pairs share a timestamp, so
    /// batches of 2), with work cells 1 and 3 in turn.
    func writeTrace(_ name: String, jobs: Int, gap: Double) throws {
        var text = "time,work\n"
        for j in 0..<jobs { text += "\(Double(j / 2) * gap),\(j % 2 == 0 ? 1 : 3)\n" }
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func spec(trace: String, vary: String = "stations.2.servers: { int: [1, 3] }") -> String {
        """
        base:
          arrival: { trace: \(trace), time: time, work: work, workScale: 0.5 }
          stations:
            - { servers: 1, service: { mean: 0.1 } }
            - { servers: 2, service: { mean: 0.3 } }
        vary:
          \(vary)
        design: { method: sobol, points: 6 }
        run: { replications: 2, precision: off }
        """
    }

    @Test("stations vary, the trace stays: rows describe the trace, runs replay it")
    func sweepOverATrace() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeTrace("a.csv", jobs: 400, gap: 1.0)
        let spec = try SweepSpec.parse(spec(trace: "a.csv"), directory: directory.path)
        let trace = try #require(spec.base.trace)
        #expect(trace.jobCount == 400 && trace.batchCount == 200)
        let out = directory.appendingPathComponent("out.csv").path
        let summary = try SweepRunner(spec: spec, outputPath: out, threads: 2).run(log: { _ in })
        #expect(summary.simulated == 6)
        let table = try DatasetTable.read(path: out)
        #expect(table.rows.count == 6)
        for row in table.rows {
            // One batch of 2 every second: rate 1, deterministic gaps, batches of 2.
            #expect(try row.double("arrival.rate") == 1)
            #expect(try row.double("arrival.scv") == 0)
            #expect(try row.double("batch.mean") == 2)
            // The offered load counts the mean work multiplier ((1 + 3) / 2 x 0.5 = 1).
            let servers = try row.double("stations.2.servers")
            #expect(abs(try row.double("stations.2.load") - 2 * 0.3 / servers) < 1e-12)
            #expect(try row.bool("stable"))
        }
    }

    @Test("a sweep over a trace varies its rate multiplier: rows record it and the replayed rate")
    func sweepOverTheRateMultiplier() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeTrace("a.csv", jobs: 400, gap: 1.0)
        let spec = try SweepSpec.parse(spec(trace: "a.csv", vary: "arrival.rateMultiplier: { choice: [0.5, 2] }"),
                                       directory: directory.path)
        let out = directory.appendingPathComponent("out.csv").path
        _ = try SweepRunner(spec: spec, outputPath: out, threads: 2).run(log: { _ in })
        let table = try DatasetTable.read(path: out)
        #expect(table.rows.count == 6)
        for row in table.rows {
            // One batch of 2 a second, replayed m times as fast: m batches a second, and
            // m times the load (station 2: 2 jobs x 0.3 s x mean work 1 on 2 servers).
            let m = try row.double("arrival.rateMultiplier")
            #expect(m == 0.5 || m == 2)
            #expect(abs(try row.double("arrival.rate") - m) < 1e-12)
            #expect(abs(try row.double("stations.2.load") - m * 0.3) < 1e-12)
            #expect(try row.bool("stable"))
        }
    }

    @Test("the rate multiplier cannot vary over renewal arrivals")
    func rateMultiplierNeedsATrace() throws {
        let text = """
            base:
              arrival: { rate: 1 }
              stations:
                - { service: { mean: 0.1 } }
            vary:
              arrival.rateMultiplier: { uniform: [1, 2] }
            design: { method: sobol, points: 4 }
            """
        #expect {
            try SweepSpec.parse(text)
        } throws: { error in
            let error = error as? ConfigError
            return error?.path == "vary.arrival.rateMultiplier"
                && error?.message.hasPrefix("only used with arrival.trace") == true
        }
    }

    @Test("another trace, or other trace settings, is another dataset")
    func fingerprintFollowsTheTrace() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeTrace("a.csv", jobs: 400, gap: 1.0)
        try writeTrace("b.csv", jobs: 400, gap: 1.5)
        let a = try SweepSpec.parse(spec(trace: "a.csv"), directory: directory.path)
        let b = try SweepSpec.parse(spec(trace: "b.csv"), directory: directory.path)
        let windowed = try SweepSpec.parse(
            spec(trace: "a.csv").replacingOccurrences(of: "workScale: 0.5", with: "workScale: 0.5, batchWindow: 2"),
            directory: directory.path)
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint != windowed.fingerprint)
        #expect(a.fingerprint == (try SweepSpec.parse(spec(trace: "a.csv"), directory: directory.path)).fingerprint)
    }

    @Test(arguments: ["arrival.rate: { uniform: [1, 2] }", "batch.mean: { uniform: [1, 2] }"])
    func arrivalKeysCannotVary(vary: String) throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeTrace("a.csv", jobs: 40, gap: 1.0)
        #expect {
            try SweepSpec.parse(spec(trace: "a.csv", vary: vary), directory: directory.path)
        } throws: { error in
            "\(error)".contains("the base replays a trace (arrival.trace), which sets the arrivals and batches; "
                                + "a sweep over a trace varies the stations and arrival.rateMultiplier only")
        }
    }
}

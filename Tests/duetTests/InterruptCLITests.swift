// Ctrl-C and kill on long work, as processes of the built binary: the handler must
// run even while the work holds a thread per core (`duet sweep --threads N` on N
// cores ran on after SIGINT and SIGTERM until it finished, or SIGKILL).

import Foundation
import Testing

@Suite("Interrupting the CLI")
struct InterruptCLITests {
    @Test("SIGTERM stops a sweep running a thread per core: exit 130, complete rows kept, how to resume said")
    func sweepStopsWithEveryCoreBusy() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("duet-interrupt-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("light.csv")
        let cores = max(2, ProcessInfo.processInfo.activeProcessorCount)
        // Light-traffic points take tens of milliseconds each; 100,000 of them would run
        // for well over an hour.
        let sweep = try DuetProcess(["sweep", "examples/general-light-sweep.yaml", "--points", "100000",
                                     "--threads", "\(cores)", "--out", out.path], in: scratch, name: "sweep")
        defer { sweep.kill9() }
        func rows() -> [Substring] {
            ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        let writing = eventually(120) { rows().count > 5 || !sweep.process.isRunning }
        #expect(writing && sweep.process.isRunning, "the sweep did not start writing rows\n\(sweep.summary)")

        sweep.signal(SIGTERM)
        let status = sweep.wait(timeout: 30)
        #expect(status == 130, "still running (nil) or another status 30 s after SIGTERM\n\(sweep.summary)")
        #expect(sweep.stderr.contains("interrupted:") && sweep.stderr.contains("resume"), "\(sweep.summary)")
        // Only complete rows: every line has the header's number of fields.
        let lines = rows()
        let fields = try #require(lines.first).split(separator: ",", omittingEmptySubsequences: false).count
        #expect(lines.count > 5)
        #expect(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == fields })
    }

    @Test("SIGINT in duet run's search, the phase after the sweep, stops it: exit 130")
    func runStopsInItsSecondPhase() throws {
        // Each phase traps the signal while it runs; the first trap's end once left every
        // later phase deaf to Ctrl-C (Sources/duet/SignalTrap.swift says why).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("duet-interrupt-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let root = DuetBinary.packageRoot.path
        // A search of wide networks for thousands of epochs on the 40 small rows: minutes.
        try Data("""
            space: { layers: 3, width: 256, activation: silu, lr: { loguniform: [0.001, 0.002] }, batchSize: 8,
                     patience: 100000 }
            budget: { trials: 64 }
            algorithm: { name: asha, minEpochs: 2000, maxEpochs: 8000, reduction: 2 }
            seed: 1
            """.utf8).write(to: scratch.appendingPathComponent("long-search.yaml"))
        let pipeline = scratch.appendingPathComponent("pipeline.yaml")
        try Data("""
            sweep: \(root)/examples/small-sweep.yaml
            search: long-search.yaml
            """.utf8).write(to: pipeline)
        let run = try DuetProcess(["run", pipeline.path, "--out", scratch.appendingPathComponent("out").path],
                                  in: scratch, name: "run")
        defer { run.kill9() }
        let searching = eventually(120) { run.stderr.contains("== search") && run.stderr.contains("started") || !run.process.isRunning }
        #expect(searching && run.process.isRunning, "the search did not start\n\(run.summary)")
        run.signal(SIGINT)
        let status = run.wait(timeout: 60)
        #expect(status == 130, "still running (nil) or another status 60 s after SIGINT\n\(run.summary)")
        #expect(run.stderr.contains("interrupted:"), "\(run.summary)")
    }
}

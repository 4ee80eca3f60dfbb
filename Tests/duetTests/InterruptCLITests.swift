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
}

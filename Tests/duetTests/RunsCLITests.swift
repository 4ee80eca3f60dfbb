// `duet runs`, `duet cancel RUN` and abandoned runs, against a real coordinator process
// (the helpers of ClusterCLITests: a coordinator on a free port, workers, status).

import Foundation
import Testing

extension ClusterCLITests {
    /// `duet runs --json` as a list of run objects (empty when it fails).
    func runsJSON(_ endpoint: String) throws -> [[String: Any]] {
        let run = try DuetBinary.run(["runs", "--coordinator", endpoint, "--json"])
        guard run.status == 0 else { return [] }
        return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] ?? []
    }

    static func int(_ run: [String: Any]?, _ key: String) -> Int { (run?[key] as? NSNumber)?.intValue ?? -1 }

    @Test("duet runs lists a run's tasks by state; duet cancel stops it, the journal and the sweep say so")
    func runsAndCancel() throws {
        defer { cleanUp() }
        let journal = path("journal.sqlite")
        let (coordinator, endpoint) = try coordinator(journal: journal)
        defer { coordinator.kill9() }
        // Points that take far longer than the test: one is running when the run is cancelled.
        let spec = try spec(jobs: 20_000_000)
        let points = 5
        let sweep = try DuetProcess(
            ["sweep", spec, "--points", String(points), "--out", path("out.csv"), "--coordinator", endpoint],
            in: scratch, name: "sweep")
        defer { sweep.kill9() }
        let worker = try worker(endpoint, name: "worker")
        defer { worker.kill9() }

        // One slot: one point running, the other four queued.
        var run: [String: Any]?
        let leased = try eventually(60) {
            run = try runsJSON(endpoint).first
            return Self.int(run, "leased") == 1
        }
        #expect(leased, "\(String(describing: run))\n\(coordinator.summary)\n\(worker.summary)")
        #expect(Self.int(run, "id") == 1)
        #expect(run?["kind"] as? String == "sweep-point")
        #expect(Self.int(run, "queued") == points - 1)
        #expect(Self.int(run, "done") == 0 && Self.int(run, "failed") == 0)
        let table = try DuetBinary.run(["runs", "--coordinator", endpoint])
        #expect(table.status == 0, "\(table.summary)")
        let lines = table.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first == ["RUN", "KIND", "LABEL", "PHASE", "QUEUED", "RUNNING", "DONE", "FAILED", "AGE"], "\(table.stdout)")
        #expect(lines.count == 2 && Array(lines[1].prefix(8)) == ["1", "sweep-point", "sweep-20000000", "dispatching", "4", "1", "0", "0"],
                "\(table.stdout)")

        let cancel = try DuetBinary.run(["cancel", "1", "--coordinator", endpoint])
        #expect(cancel.status == 0, "\(cancel.summary)")
        #expect(cancel.stdout.contains("run 1 cancelled"), "\(cancel.summary)")

        // The client that submitted the run stops with an error that says why.
        #expect(sweep.wait(timeout: 60) == 1, "\(sweep.summary)")
        #expect(sweep.stderr.contains("run 1 on \(endpoint) was cancelled"), "\(sweep.summary)")
        // The coordinator took the lease back and keeps the run as cancelled.
        let after = try runsJSON(endpoint).first
        #expect(after?["phase"] as? String == "cancelled")
        #expect(Self.int(after, "leased") == 0 && Self.int(after, "done") == 0)
        // The journal records it (read directly, as after a restart).
        let journaled = try DuetBinary.run(["status", "--journal", journal, "--json"])
        let status = try JSONSerialization.jsonObject(with: Data(journaled.stdout.utf8)) as? [String: Any]
        #expect(Self.runs(status).first?["phase"] as? String == "cancelled", "\(journaled.summary)")

        // Cancelling again, or a run that does not exist: an error naming the run.
        let again = try DuetBinary.run(["cancel", "1", "--coordinator", endpoint])
        #expect(again.status == 1 && again.stderr.contains("run 1 is already cancelled"), "\(again.summary)")
        let unknown = try DuetBinary.run(["cancel", "7", "--coordinator", endpoint])
        #expect(unknown.status == 1 && unknown.stderr.contains("no run 7"), "\(unknown.summary)")
    }

    @Test("a run whose client was killed is cancelled after --abandon-after; one being followed is not")
    func abandonedRunIsCancelled() throws {
        defer { cleanUp() }
        let (coordinator, endpoint) = try coordinator(journal: path("journal.sqlite"), extra: ["--abandon-after", "3"])
        defer { coordinator.kill9() }
        // No worker: the run only waits, and its client keeps asking for results.
        let spec = try spec(jobs: 5000)
        let sweep = try DuetProcess(
            ["sweep", spec, "--points", "3", "--out", path("out.csv"), "--coordinator", endpoint], in: scratch, name: "sweep")
        defer { sweep.kill9() }
        let submitted = try eventually(30) { try runsJSON(endpoint).first != nil }
        #expect(submitted, "\(sweep.summary)\n\(coordinator.summary)")
        // Followed for more than twice the limit: still running.
        Thread.sleep(forTimeInterval: 7)
        #expect(try runsJSON(endpoint).first?["phase"] as? String == "dispatching", "\(coordinator.summary)")
        sweep.kill9()
        let cancelled = try eventually(20) { try runsJSON(endpoint).first?["phase"] as? String == "cancelled" }
        #expect(cancelled, "\(coordinator.summary)")
        #expect(coordinator.stderr.contains("abandoned after 3.0 s"), "\(coordinator.summary)")
    }
}

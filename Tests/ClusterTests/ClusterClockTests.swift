// The shells' one clock: monotonic readings anchored at the wall clock, and an injected
// clock that the coordinator really reads (its status time and journal stamps follow it).

import ClusterCore
import Foundation
import Testing

@testable import Cluster

@Suite("Cluster clock")
struct ClusterClockTests {
    @Test("a monotonic clock starts at its wall-clock anchor and never goes back")
    func monotonicClockIsAnchoredAndNonDecreasing() {
        let clock = MonotonicClock(wallClockAtStart: 1_000)
        var last = clock.now()
        #expect(last >= 1_000 && last < 1_060, "first reading \(last), expected just above the anchor 1000")
        for _ in 0..<10_000 {
            let reading = clock.now()
            #expect(reading >= last, "went back from \(last) to \(reading)")
            last = reading
        }
        let wall = Date().timeIntervalSince1970
        #expect(abs(MonotonicClock().now() - wall) < 60, "the default anchor is the wall clock")
    }

    @Test("a manual clock moves only when told")
    func manualClockMovesWhenTold() {
        let clock = ManualClock(5)
        #expect(clock.now() == 5)
        clock.advance(by: 2.5)
        #expect(clock.now() == 7.5)
    }

    @Test("the coordinator's status time and a run's createdAt come from the injected clock")
    func coordinatorReadsTheInjectedClock() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("duet-clock-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/c.sock"
        let clock = ManualClock(1_000)
        var options = CoordinatorOptions(endpoints: [endpoint], journalPath: directory + "/j.sqlite")
        options.clock = clock
        let server = CoordinatorServer(options: options, logger: .silent)
        let finished = DispatchGroup()
        finished.enter()
        Thread.detachNewThread {
            try? server.run()
            finished.leave()
        }
        defer {
            server.stop()
            #expect(finished.wait(timeout: .now() + 10) == .success)
        }
        let client = try ClusterClient(endpoint: endpoint, keys: nil)
        defer { client.close() }
        guard case .status(let before) = try client.request(.status, timeout: 5) else { Issue.record("no status"); return }
        #expect(before.time == 1_000)
        clock.advance(by: 3_600)
        let submission = RunSubmission(kind: "noop", taskCount: 1, spec: Array("clock".utf8))
        let reply = try client.request(.submit(submission), timeout: 5)
        guard case .submitted = reply else { Issue.record("\(reply)"); return }
        guard case .status(let after) = try client.request(.status, timeout: 5) else { Issue.record("no status"); return }
        #expect(after.time == 4_600)
        #expect(after.runs.first?.createdAt == 4_600)
    }
}
